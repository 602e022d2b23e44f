"""GET /metrics over the real server: counters move, labels are route templates, figures add up across workers."""

import secrets
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from order_intake.entrypoints.http.table import ROUTES
from tests.conftest import Tenants
from tests.e2e.exchanges import json_body, post_order, submission_path, submit_path
from tests.support.cli import cli_ok, create_key
from tests.support.databases import database
from tests.support.factories import an_order
from tests.support.polling import wait_until
from tests.support.server import Server

SUBMIT_ROUTE = "/v4/organisations/{trkref}/customer_order"
SHOW_ROUTE = "/v4/organisations/{trkref}/customer_order/{id}"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: httpx.Client) -> tuple[str, Samples]:
    """The exposition text and its samples, keyed by sample name and label set."""
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }
    return answer.text, samples


def _accepted(answer: httpx.Response) -> str:
    """The id of a 202 answer."""
    assert answer.status_code == 202, answer.text
    return str(json_body(answer)["id"])


def requests_of(samples: Samples, route: str, method: str, status: int) -> float:
    """order_intake_http_requests_total for one label set (0 when never seen)."""
    labels = frozenset({("route", route), ("method", method), ("status", str(status))})
    return samples.get(("order_intake_http_requests_total", labels), 0.0)


def test_request_counters_move_by_route_template_and_status(client: httpx.Client, tenants: Tenants) -> None:
    """Each answered request adds one to its (route template, method, status) counter and to its latency histogram."""
    _, before = scrape(client)
    submission_id = _accepted(post_order(client, tenants.main.auth, an_order()))
    assert post_order(client, tenants.main.auth, content=b"{}").status_code == 422
    assert client.get(submission_path(submission_id), auth=tenants.main.auth).status_code == 200
    assert client.get(submission_path(str(uuid.uuid4())), auth=tenants.main.auth).status_code == 404
    assert client.get("/nope").status_code == 404
    _, after = scrape(client)

    def moved(route: str, method: str, status: int) -> float:
        return requests_of(after, route, method, status) - requests_of(before, route, method, status)

    assert moved(SUBMIT_ROUTE, "POST", 202) == 1
    assert moved(SUBMIT_ROUTE, "POST", 422) == 1
    assert moved(SHOW_ROUTE, "GET", 200) == 1
    assert moved(SHOW_ROUTE, "GET", 404) == 1
    assert moved("other", "GET", 404) == 1
    assert moved("/metrics", "GET", 200) == 1  # the first scrape, counted once it was answered
    count = ("order_intake_http_request_duration_seconds_count", frozenset({("route", SUBMIT_ROUTE)}))
    assert after[count] - before.get(count, 0.0) == 2
    batch = ("order_intake_writer_batch_submissions_count", frozenset())
    assert after[batch] > before.get(batch, 0.0)
    assert after[("order_intake_writer_wait_seconds_count", frozenset())] >= after[batch]


def test_metrics_carry_no_trkref_id_email_or_path_and_only_route_template_labels(
    client: httpx.Client, tenants: Tenants
) -> None:
    """No concrete trkref, submission id, email or unknown path ever appears; routes are templates or 'other'."""
    marker = secrets.token_hex(5).upper()
    email = f"metrics.person.{marker.lower()}@example.com"
    submission_id = _accepted(post_order(client, tenants.main.auth, an_order(customer={"email": email})))
    assert post_order(client, tenants.main.auth, trkref=f"NO-SUCH-{marker}").status_code == 400
    assert client.get(submission_path(submission_id), auth=tenants.main.auth).status_code == 200
    assert client.get(f"/v4/organisations/{marker}/customer_order", auth=tenants.main.auth).status_code == 405
    assert client.get(f"/unknown-{marker}").status_code == 404
    text, samples = scrape(client)
    for secret in (marker, marker.lower(), email, submission_id, "TRKREF123", tenants.main.username):
        assert secret not in text, f"{secret!r} appears in /metrics"
    openapi_paths = set(json_body(client.get("/openapi.json"))["paths"])
    # The customer's pages are routes too, left out of the API's document.
    pages = {route.template for route in ROUTES if route.operation is None}
    routes = {value for _, labels in samples for name, value in labels if name == "route"}
    assert routes
    assert routes <= openapi_paths | pages | {"other"}, routes - openapi_paths - pages
    label_names = {name for _, labels in samples for name, _ in labels}
    assert label_names <= {"route", "method", "status", "le", "state", "reason", "kind", "outcome"}, label_names
    # Invitations are counted by their state and reason: values of the contract's fixed lists.
    states = {value for _, labels in samples for name, value in labels if name == "state"}
    reasons = {value for _, labels in samples for name, value in labels if name == "reason"}
    assert states <= {"scheduled", "sent", "skipped", "suppressed", "cancelled", "failed"}, states
    # E-mails are counted by kind and outcome: fixed lists as well.
    kinds = {value for _, labels in samples for name, value in labels if name == "kind"}
    outcomes = {value for _, labels in samples for name, value in labels if name == "outcome"}
    assert kinds <= {"invitation", "reminder"}, kinds
    assert outcomes <= {"sent", "temporary", "permanent"}, outcomes
    assert reasons <= {
        "",
        "too_old",
        "cooldown",
        "unsubscribed",
        "bounced",
        "suppressed_by_retailer",
        "cancelled",
        "refunded",
        "returned",
        "test",
        "rejected_by_mail_server",
    }, reasons


def test_processing_lag_is_read_from_the_database_and_no_outbox_backlog_without_a_broker(
    client: httpx.Client,
) -> None:
    """The lag is present and sane; with no broker to send events, no outbox backlog is shown.

    (With a broker, test_broker_faults.py watches the backlog grow while it is cut off and empty after.)
    """
    _, samples = scrape(client)
    lag = samples[("order_intake_processing_lag_seconds", frozenset())]
    assert lag >= 0
    assert ("order_intake_outbox_backlog", frozenset()) not in samples


@pytest.fixture
def two_workers(backend: str, run_dir: Path) -> Iterator[tuple[Server, Path, tuple[str, str]]]:
    """A server with two worker processes and no in-process processing, on a fresh database, its own TMPDIR."""
    label = f"metrics-{secrets.token_hex(3)}"
    tmp = run_dir / label
    tmp.mkdir()
    with database(backend, run_dir, label.replace("-", "_")) as url:
        cli_ok(url, "org", "add", "TRKREF123", "--name", "Acme Retail")
        cli_ok(url, "org", "enable", "TRKREF123")
        key = create_key(url, "--trkref", "TRKREF123")
        server = Server(
            url, run_dir / f"{label}.log", workers=2, TMPDIR=str(tmp), ORDER_INTAKE_SERVE_WORKER="0"
        ).start()
        try:
            yield server, tmp, key.auth
        finally:
            server.stop()


def _health_per_process(directory: Path) -> list[float]:
    """How many /health requests each process's counter file holds."""
    counts = []
    for path in sorted(directory.glob("counter_*.db")):
        metrics = MultiProcessCollector.merge([str(path)])
        counts.append(
            sum(
                s.value
                for m in metrics
                for s in m.samples
                if s.name == "order_intake_http_requests_total" and s.labels.get("route") == "/health"
            )
        )
    return counts


def test_figures_are_summed_over_every_worker_process(two_workers: tuple[Server, Path, tuple[str, str]]) -> None:
    """With two workers each serving part of the requests, every scrape (whichever worker answers) shows the sum.

    Each process copies its counts into its file once a second, so the files are read until they
    hold every request sent.
    """
    server, tmp, _ = two_workers
    (directory,) = tmp.glob("order-intake-metrics-*")
    # The server's own readiness probes came first: wait until their copies stopped changing.
    seen: list[float] = []

    def settled() -> float | None:
        seen.append(sum(_health_per_process(directory)))
        return seen[-1] if len(seen) > 1 and seen[-1] == seen[-2] else None

    earlier = wait_until(settled, deadline=time.monotonic() + 10, interval=1.5)
    assert earlier is not None
    sent = 0

    def both_served() -> list[float] | None:
        nonlocal sent
        for _ in range(10):  # a fresh connection each time, so the kernel spreads them over the workers
            assert httpx.get(f"{server.base_url}/health", timeout=5).status_code == 200
            sent += 1
        counts = _health_per_process(directory)
        return counts if sum(c > 0 for c in counts) >= 2 else None

    assert wait_until(both_served, deadline=time.monotonic() + 30, interval=0), "requests never reached both workers"

    def all_copied() -> list[float] | None:
        counts = _health_per_process(directory)
        return counts if sum(counts) == earlier + sent else None

    counts = wait_until(all_copied, deadline=time.monotonic() + 10)
    assert counts is not None, "the workers' files never held every request"
    assert sum(c > 0 for c in counts) >= 2
    for _ in range(6):
        with httpx.Client(base_url=server.base_url, timeout=5) as fresh:
            _, samples = scrape(fresh)
        assert requests_of(samples, "/health", "GET", 200) == earlier + sent
    server.stop()
    assert not directory.exists(), "the metrics directory outlived the server"


def test_processing_lag_grows_while_nothing_processes(two_workers: tuple[Server, Path, tuple[str, str]]) -> None:
    """With processing off, an accepted submission's age shows as the processing lag."""
    server, _, auth = two_workers
    with httpx.Client(base_url=server.base_url, timeout=5) as c:
        _accepted(post_order(c, auth, an_order()))
        _, first = scrape(c)
        assert first[("order_intake_processing_lag_seconds", frozenset())] >= 0

        def lagging() -> Samples | None:
            _, samples = scrape(c)
            return samples if samples[("order_intake_processing_lag_seconds", frozenset())] >= 1.0 else None

        samples = wait_until(lagging, deadline=time.monotonic() + 10, interval=0.2)
    assert samples is not None, "the lag never reached 1 s while nothing processed"
    assert ("order_intake_outbox_backlog", frozenset()) not in samples  # no broker


def _counter(samples: Samples, name: str) -> float:
    return samples.get((name, frozenset()), 0.0)


def test_rate_limit_rejections_are_counted(client: httpx.Client, db_url: str) -> None:
    """Each 429 of the rate limiter adds one to order_intake_rate_limit_rejections_total."""
    key = create_key(db_url, "--trkref", "TRKREF123", "--rate", "0.01", "--burst", "1")
    _, before = scrape(client)
    statuses = [post_order(client, key.auth).status_code for _ in range(3)]
    assert statuses == [202, 429, 429]
    name = "order_intake_rate_limit_rejections_total"

    def counted() -> Samples | None:
        _, after = scrape(client)
        return after if _counter(after, name) - _counter(before, name) >= 2 else None

    after = wait_until(counted, deadline=time.monotonic() + 5)
    assert after is not None, "the two rejections were not counted within 5 seconds"
    assert _counter(after, name) - _counter(before, name) == 2


def test_rate_limit_backend_failures_are_counted(db_url: str, run_dir: Path) -> None:
    """With Redis unreachable, requests pass unchecked (fail open) and each is counted as a backend failure."""
    key = create_key(db_url, "--trkref", "TRKREF123", "--rate", "0.01", "--burst", "1")
    with socket.socket() as closed:  # a port that refuses connections: bound, never listening
        closed.bind(("127.0.0.1", 0))
        redis_url = f"redis://127.0.0.1:{closed.getsockname()[1]}/0"
        server = Server(
            db_url,
            run_dir / f"redis-down-{secrets.token_hex(3)}.log",
            REDIS_URL=redis_url,
            ORDER_INTAKE_SERVE_WORKER="0",
        ).start()
        try:
            with httpx.Client(base_url=server.base_url, timeout=10) as c:
                assert [post_order(c, key.auth).status_code for _ in range(3)] == [202, 202, 202]
                _, samples = scrape(c)
        finally:
            server.stop()
    assert _counter(samples, "order_intake_rate_limit_backend_failures_total") == 3
    assert _counter(samples, "order_intake_rate_limit_rejections_total") == 0


def test_submit_path_in_a_label_is_never_concrete(client: httpx.Client, tenants: Tenants) -> None:
    """A request to another organisation's path is counted under the template, not under that trkref."""
    assert post_order(client, tenants.other.auth, an_order(trkref="OTHER-ORG"), trkref="OTHER-ORG").status_code == 202
    text, _ = scrape(client)
    assert "OTHER-ORG" not in text
    assert submit_path("OTHER-ORG") not in text
