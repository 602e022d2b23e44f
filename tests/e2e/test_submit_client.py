"""`order-intake submit`: files sent in batches to the real server; re-runs and retries store nothing twice."""

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from order_intake.entrypoints.cli import main
from order_intake.entrypoints.submit_client import MAX_ATTEMPTS, idempotency_key, retry_delay, send_batch
from order_intake.errors import SubmitFailed
from tests.conftest import Tenants
from tests.e2e.exchanges import stored_submissions, unique_ref
from tests.support.cli import Credentials
from tests.support.factories import an_order
from tests.support.server import Server

DOCS = Path(__file__).parents[2] / "docs"
FORWARDED = ("authorization", "idempotency-key", "content-type")
NOBODY = Credentials("key_0000000000000000", "not-a-secret")  # for runs that stop before any request
ANSWERED = ("content-type", "idempotent-replayed", "www-authenticate", "retry-after", "location")


@dataclass
class Seen:
    """One request that reached the front, and what it did with it."""

    key: str
    orders: list[Any]
    status: int | None  # None: dropped without an answer
    answer: Any = None


@dataclass
class Front:
    """A tiny HTTP front for the real server: follows its plan (fail with 503, or drop), then forwards."""

    target: str
    plan: list[str] = field(default_factory=list)  # "503", "503-bare" (no Retry-After), "drop", "forward"
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        """Serve one POST by the plan's next step."""
        body = request.rfile.read(int(request.headers["content-length"]))
        step = self.plan.pop(0) if self.plan else "forward"
        key = request.headers.get("idempotency-key", "")
        if step.startswith("503"):
            self.seen.append(Seen(key, json.loads(body), 503))
            headers = {} if step == "503-bare" else {"retry-after": "0"}
            _reply(request, 503, headers, b'{"status": 503, "message": "Service unavailable"}')
            return
        headers = {name: request.headers[name] for name in FORWARDED if name in request.headers}
        answer = httpx.post(self.target + request.path, content=body, headers=headers, timeout=30)
        self.seen.append(Seen(key, json.loads(body), None if step == "drop" else answer.status_code, answer.json()))
        if step == "drop":
            request.close_connection = True  # the server stored the batch; its client never hears so
            return
        _reply(
            request, answer.status_code, {h: answer.headers[h] for h in ANSWERED if h in answer.headers}, answer.content
        )


def _reply(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    request.send_response(status)
    for name, value in {**headers, "content-length": str(len(body))}.items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(body)


@pytest.fixture
def front(server: Server) -> Iterator[Front]:
    """A front of the shared server on its own port, for the length of one test."""
    made = Front(server.base_url)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            made.handle(self)

        def log_message(self, *args: object) -> None:
            """Quiet."""

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    made.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield made
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def submit(url: str, who: Credentials, path: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """Run `order-intake submit` in-process against `url`."""
    credentials = ["--user", who.username, "--password", who.password] if env is None else []
    return CliRunner().invoke(
        main, ["submit", str(path), "--url", url, *credentials, *args], env=env, catch_exceptions=False
    )


def some_orders(count: int, **overrides: Any) -> list[dict[str, Any]]:
    """`count` valid orders for TRKREF123 with fresh order_refs."""
    return [an_order(order_ref=unique_ref("SUBMIT"), **overrides) for _ in range(count)]


def write_ndjson(path: Path, orders: list[Any]) -> Path:
    """One order per line."""
    path.write_text("".join(json.dumps(order) + "\n" for order in orders))
    return path


def stored(db_url: str, orders: list[dict[str, Any]]) -> int:
    """How many submissions the database holds for these orders' order_refs."""
    return sum(stored_submissions(db_url, order["order_ref"]) for order in orders)


def test_a_json_array_file_is_accepted(server: Server, tenants: Tenants, db_url: str, tmp_path: Path) -> None:
    """Every order of a .json array is stored once; exit 0 with the summary and the warnings counted."""
    orders = some_orders(3)
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(orders, indent=2))
    result = submit(server.base_url, tenants.main, path)
    assert (result.exit_code, result.stdout) == (0, "accepted 3, rejected 0, batches 1 (0 replayed)\n")
    assert result.stderr == "warning: unknown field customer.cutomer_ref (3 orders)\n"
    assert stored(db_url, orders) == 3
    assert not (tmp_path / "orders.json.rejected.ndjson").exists()


def test_an_ndjson_file_is_sent_in_batches_of_batch_size(
    front: Front, tenants: Tenants, db_url: str, tmp_path: Path
) -> None:
    """7 orders, --batch-size 3: batches of 3, 3 and 1, in file order, each with its own content-derived key."""
    orders = some_orders(7)
    result = submit(front.url, tenants.main, write_ndjson(tmp_path / "orders.ndjson", orders), "--batch-size", "3")
    assert (result.exit_code, result.stdout) == (0, "accepted 7, rejected 0, batches 3 (0 replayed)\n")
    assert [[o["order_ref"] for o in seen.orders] for seen in front.seen] == [
        [o["order_ref"] for o in orders[i : i + 3]] for i in (0, 3, 6)
    ]
    keys = [seen.key for seen in front.seen]
    assert len(set(keys)) == 3
    assert all(key.startswith("submit-") and len(key) == 39 for key in keys)
    assert stored(db_url, orders) == 7


def test_the_example_csv_in_the_docs_is_accepted_as_three_orders(
    front: Front, tenants: Tenants, tmp_path: Path, client: httpx.Client
) -> None:
    """docs/example-orders.csv: three orders, the first with its two items and their metadata."""
    rejected = tmp_path / "rejected.ndjson"
    result = submit(front.url, tenants.main, DOCS / "example-orders.csv", "--rejected-file", str(rejected))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout == "accepted 3, rejected 0, batches 1 (0 replayed)\n"
    assert result.stderr == ""
    [seen] = front.seen
    assert [o["order_ref"] for o in seen.orders] == ["WEB-10001", "WEB-10002", "WEB-10003"]
    first = client.get(f"/v4/organisations/TRKREF123/customer_order/{seen.answer['ids'][0]}", auth=tenants.main.auth)
    assert first.status_code == 200
    items = first.json()["order"]["order_items"]
    assert [(i["sku"], i["price"], i["currency"], i["metadata"]) for i in items] == [
        ("PROD1", 55.99, "GBP", {"colour": "blue", "size": "M"}),
        ("PROD2", 10, "GBP", {"colour": "red"}),
    ]
    assert not rejected.exists()


def test_a_csv_file_with_credentials_from_the_environment_is_accepted(
    server: Server, tenants: Tenants, db_url: str, tmp_path: Path
) -> None:
    """ORDER_INTAKE_USER and ORDER_INTAKE_PASSWORD stand in for --user and --password."""
    refs = [unique_ref("CSV"), unique_ref("CSV")]
    path = tmp_path / "orders.csv"
    path.write_text(
        "trkref,order_ref,order_date,customer.email,order_items.sku,order_items.price\n"
        f'TRKREF123,{refs[0]},10-12-2014,a@example.com,P1,"5,50"\n'
        f"TRKREF123,{refs[0]},,,P2,1\n"
        f"TRKREF123,{refs[1]},11-12-2014,b@example.com,P3,\n"
    )
    env = {"ORDER_INTAKE_USER": tenants.main.username, "ORDER_INTAKE_PASSWORD": tenants.main.password}
    result = submit(server.base_url, tenants.main, path, env=env)
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "accepted 2, rejected 0, batches 1 (0 replayed)\n",
        "",
    )
    assert [stored_submissions(db_url, ref) for ref in refs] == [1, 1]


def test_a_rerun_of_the_same_file_replays_every_batch_and_stores_nothing_new(
    server: Server, tenants: Tenants, db_url: str, tmp_path: Path
) -> None:
    """Same file, same --batch-size: each batch answered from the server's record, nothing stored twice."""
    orders = some_orders(5)
    path = write_ndjson(tmp_path / "orders.ndjson", orders)
    first = submit(server.base_url, tenants.main, path, "--batch-size", "2")
    assert (first.exit_code, first.stdout) == (0, "accepted 5, rejected 0, batches 3 (0 replayed)\n")
    again = submit(server.base_url, tenants.main, path, "--batch-size", "2")
    assert (again.exit_code, again.stdout) == (0, "accepted 5, rejected 0, batches 3 (3 replayed)\n")
    assert stored(db_url, orders) == 5


def test_rejected_orders_are_written_with_their_errors_and_exit_1(
    server: Server, tenants: Tenants, db_url: str, tmp_path: Path
) -> None:
    """One line per rejected order: batch, index, order_ref, errors, the order as sent; a re-run rewrites it."""
    good, bad_email, feature_off = some_orders(3)
    bad_email["customer"]["email"] = "not-an-email"
    feature_off["trkref"] = "DISABLED-ORG"
    path = write_ndjson(tmp_path / "orders.ndjson", [good, bad_email, feature_off, "not an order"])
    expected = [
        {"batch": 1, "index": 1, "order_ref": bad_email["order_ref"], "errors": ["invalid customer.email"]},
        {"batch": 2, "index": 0, "order_ref": feature_off["order_ref"], "errors": ["Access denied"]},
        {"batch": 2, "index": 1, "order_ref": None, "errors": ["body must be a JSON object"]},
    ]
    rejected = tmp_path / "orders.ndjson.rejected.ndjson"
    for replayed in (0, 2):
        result = submit(server.base_url, tenants.main, path, "--batch-size", "2")
        assert result.exit_code == 1
        assert result.stdout == (
            f"accepted 1, rejected 3, batches 2 ({replayed} replayed)\nrejected orders written to {rejected}\n"
        )
        lines = [json.loads(line) for line in rejected.read_text().splitlines()]
        assert [{k: v for k, v in line.items() if k != "order"} for line in lines] == expected
        assert [line["order"] for line in lines] == [bad_email, feature_off, "not an order"]
    assert [stored(db_url, [o]) for o in (good, bad_email, feature_off)] == [1, 0, 0]


def test_rejected_file_option_names_where_rejections_go(server: Server, tenants: Tenants, tmp_path: Path) -> None:
    """--rejected-file PATH instead of FILE.rejected.ndjson."""
    [order] = some_orders(1, order_date="31-02-2014", fulfilment_date=...)
    path = write_ndjson(tmp_path / "orders.ndjson", [order])
    chosen = tmp_path / "out" / "bad.ndjson"
    chosen.parent.mkdir()
    result = submit(server.base_url, tenants.main, path, "--rejected-file", str(chosen))
    assert (result.exit_code, result.stdout) == (
        1,
        f"accepted 0, rejected 1, batches 1 (0 replayed)\nrejected orders written to {chosen}\n",
    )
    assert json.loads(chosen.read_text())["errors"] == ["invalid order_date"]
    assert not (tmp_path / "orders.ndjson.rejected.ndjson").exists()


def test_a_503_is_retried_with_the_same_key_and_body(
    front: Front, tenants: Tenants, db_url: str, tmp_path: Path
) -> None:
    """A transient failure costs one more attempt (Retry-After honoured), not a duplicate."""
    front.plan = ["503"]
    orders = some_orders(2)
    result = submit(front.url, tenants.main, write_ndjson(tmp_path / "orders.ndjson", orders))
    assert (result.exit_code, result.stdout) == (0, "accepted 2, rejected 0, batches 1 (0 replayed)\n")
    assert [seen.status for seen in front.seen] == [503, 202]
    assert front.seen[0].key == front.seen[1].key
    assert front.seen[0].orders == front.seen[1].orders == orders
    assert stored(db_url, orders) == 2


def test_an_answer_lost_after_the_batch_was_stored_is_retried_into_a_replay(
    front: Front, tenants: Tenants, db_url: str, tmp_path: Path
) -> None:
    """The connection drops after the server stored batch 2: the retry is replayed; every order stored once."""
    front.plan = ["forward", "drop"]
    orders = some_orders(4)
    result = submit(front.url, tenants.main, write_ndjson(tmp_path / "orders.ndjson", orders), "--batch-size", "2")
    assert (result.exit_code, result.stdout) == (0, "accepted 4, rejected 0, batches 2 (1 replayed)\n")
    assert [seen.status for seen in front.seen] == [202, None, 202]
    assert front.seen[1].key == front.seen[2].key
    assert front.seen[1].answer == front.seen[2].answer
    assert stored(db_url, orders) == 4


def test_a_server_that_keeps_failing_stops_the_run_after_the_last_attempt(
    front: Front, tenants: Tenants, tmp_path: Path
) -> None:
    """Five 503s: exit 2, one line naming the batch, the answer and the attempts; the batch before it counted."""
    front.plan = ["forward", *["503"] * MAX_ATTEMPTS]
    path = write_ndjson(tmp_path / "orders.ndjson", some_orders(3))
    result = submit(front.url, tenants.main, path, "--batch-size", "2")
    assert result.exit_code == 2
    assert result.stdout == "accepted 2, rejected 0, batches 1 (0 replayed)\n"
    assert result.stderr.endswith(
        "order-intake: batch 2: the server answered 503 Service unavailable; gave up after 5 attempts\n"
    )
    assert len(front.seen) == 1 + MAX_ATTEMPTS


def test_a_wrong_password_stops_at_once_with_exit_2_and_one_line(
    server: Server, tenants: Tenants, tmp_path: Path
) -> None:
    """401: nothing is retried, nothing printed on stdout, one line on stderr."""
    path = write_ndjson(tmp_path / "orders.ndjson", some_orders(1))
    wrong = Credentials(tenants.main.username, tenants.main.password + "x")
    result = submit(server.base_url, wrong, path)
    assert (result.exit_code, result.stdout) == (2, "")
    assert (
        result.stderr == "order-intake: batch 1: the server answered 401 Unauthorized (check --user and --password)\n"
    )


def test_a_key_without_the_permission_stops_with_access_denied(
    server: Server, tenants: Tenants, tmp_path: Path
) -> None:
    """403 for the whole batch: exit 2 with the server's words."""
    path = write_ndjson(tmp_path / "orders.ndjson", some_orders(1))
    result = submit(server.base_url, tenants.no_permission, path)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "order-intake: batch 1: the server answered 403 Access denied\n"


def test_a_broken_line_stops_the_run_after_the_batches_before_it(
    server: Server, tenants: Tenants, db_url: str, tmp_path: Path
) -> None:
    """NDJSON line 4 is not JSON: batch 1 was sent, the run stops with the line number; fixed, a re-run replays it."""
    orders = some_orders(4)
    path = tmp_path / "orders.ndjson"
    lines = [json.dumps(order) + "\n" for order in orders]
    path.write_text("".join([*lines[:3], '{"order_ref": \n', lines[3]]))
    result = submit(server.base_url, tenants.main, path, "--batch-size", "2")
    assert (result.exit_code, result.stdout) == (2, "accepted 2, rejected 0, batches 1 (0 replayed)\n")
    assert result.stderr.endswith(f"order-intake: {path} line 4: not valid JSON\n")
    path.write_text("".join(lines))
    fixed = submit(server.base_url, tenants.main, path, "--batch-size", "2")
    assert (fixed.exit_code, fixed.stdout) == (0, "accepted 4, rejected 0, batches 2 (1 replayed)\n")
    assert stored(db_url, orders) == 4


@pytest.mark.parametrize("name", ["-", "orders.txt"])
def test_a_file_of_unknown_format_is_refused_before_anything_is_sent(tmp_path: Path, name: str) -> None:
    """Exit 2 and the formats to use; no server is needed to say so."""
    result = submit("http://127.0.0.1:9", NOBODY, tmp_path / name if name != "-" else Path(name))
    shown = tmp_path / name if name != "-" else name
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"order-intake: cannot tell the format of {shown}; use .json, .ndjson or .csv\n"


def test_a_url_without_http_is_refused(tmp_path: Path) -> None:
    """--url must be a base URL with its scheme."""
    result = submit("127.0.0.1:8080", NOBODY, write_ndjson(tmp_path / "o.ndjson", some_orders(1)))
    assert result.exit_code == 2
    assert result.stderr == "order-intake: --url must start with http:// or https://, not '127.0.0.1:8080'\n"


@pytest.mark.parametrize(
    ("attempt", "status", "retry_after", "delay"),
    [
        (1, None, None, 0.5),
        (2, 503, None, 1.0),
        (3, 500, None, 2.0),
        (4, 409, None, 4.0),
        (1, 429, "3", 3.0),
        (1, 503, "0", 0.0),
        (1, 503, "9999", 60.0),
        (2, 502, "Wed, 21 Oct 2015 07:28:00 GMT", 1.0),
        (MAX_ATTEMPTS, 503, None, None),
        (MAX_ATTEMPTS, None, "1", None),
        (1, 400, None, None),
        (1, 401, None, None),
        (1, 403, None, None),
        (1, 404, None, None),
        (1, 413, None, None),
        (1, 422, None, None),
    ],
)
def test_the_retry_policy(attempt: int, status: int | None, retry_after: str | None, delay: float | None) -> None:
    """No answer, 5xx, 409, 429: wait 0.5 s doubling (or Retry-After, at most 60 s), 5 attempts; others stop."""
    assert retry_delay(attempt, status, retry_after) == delay


def test_send_batch_waits_by_the_policy_between_attempts(front: Front, tenants: Tenants) -> None:
    """Without Retry-After the waits double; the fifth failure gives up (nothing slept here: the wait is recorded)."""
    front.plan = ["503-bare"] * MAX_ATTEMPTS
    waits: list[float] = []
    body = json.dumps(some_orders(1)).encode()
    with httpx.Client(base_url=front.url, auth=tenants.main.auth) as client, pytest.raises(SubmitFailed) as caught:
        send_batch(client, body, wait=waits.append)
    assert waits == [0.5, 1.0, 2.0, 4.0]
    assert str(caught.value) == "the server answered 503 Service unavailable; gave up after 5 attempts"
    assert {seen.key for seen in front.seen} == {idempotency_key(body)}


def test_the_idempotency_key_depends_only_on_the_batch_body() -> None:
    """Same bytes, same key; a changed order, another key; always within the contract's 255 characters."""
    assert idempotency_key(b"[1]") == idempotency_key(b"[1]") != idempotency_key(b"[2]")
    assert len(idempotency_key(b"[1]")) == 39
