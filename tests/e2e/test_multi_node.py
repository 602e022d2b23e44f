"""Two API nodes and two workers, each in a network namespace of its own, sharing one PostgreSQL, RabbitMQ and Redis.

Under load spread over both API nodes, one API node and one worker are SIGKILLed and started again,
the other API node's link to PostgreSQL is cut for 5 s (connections reset and refused), then the
first one's goes silent for 15 s (every byte held, as in a partition). Afterwards every order
answered 202 is stored once, the canonical orders are the merge of what is stored, each has one
invitation, every event reached RabbitMQ, and a rate limit taken through both nodes was one bucket.
The topology and how to run it: docs/multi-node.md.
"""

import contextlib
import logging
import secrets
import subprocess
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import netns
from tests.support.broker import BROKER_URL, ScratchExchange
from tests.support.cli import Credentials, create_key, enabled_tenant
from tests.support.databases import postgres_database
from tests.support.factories import an_order
from tests.support.inspect_db import WAITING, count_rows
from tests.support.polling import wait_for
from tests.support.redis_db import REDIS_URL, fresh_prefix
from tests.support.server import Server, Worker
from tests.support.spread_load import Answer, SpreadLoad
from tests.support.stored_orders import duplicated_request_ids, merge_problems, read_stored

log = logging.getLogger(__name__)

TRKREF = "MULTI"
SINGLE = f"/v4/organisations/{TRKREF}/customer_order"
ORDER_REFS = 150  # the load cycles through these, so most canonical orders merge several submissions
THREADS = 2  # per API node
CUT_SECONDS = 5.0  # API node 2's link to PostgreSQL refused
FREEZE_SECONDS = 15.0  # API node 1's link silent: past the 10 s statement timeout and 1.5 s more
BURST = 12  # the limited key's: one token per 1000 s, so none comes back during the run
DEADLINE = 60.0


@dataclass(frozen=True)
class Cluster:
    """The run's nodes, the links that can be cut, and what the checks read."""

    url: str  # the database, as the host reaches it
    run: str  # prefix of this run's order_refs and request ids
    key: Credentials  # unlimited
    limited: Credentials
    api: tuple[Server, Server]
    workers: tuple[Worker, Worker]
    database_links: tuple[netns.Forwarder, netns.Forwarder]  # each API node's link to PostgreSQL
    exchange: ScratchExchange


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """Four namespaces (API, API, worker, worker) linked to the host; everything removed afterwards."""
    reason = netns.unavailable()
    if reason is not None:
        pytest.skip(f"no network namespaces here: {reason}")
    with postgres_database("multinode") as url, netns.Network() as net:
        key = enabled_tenant(url, TRKREF, "Multi Node")
        limited = create_key(url, "--trkref", TRKREF, "--rate", "0.001", "--burst", str(BURST))
        exchange = ScratchExchange("multinode").declare()
        processes: list[Server | Worker] = []
        try:
            api, database_links = [], []
            redis_env = {"ORDER_INTAKE_REDIS_PREFIX": fresh_prefix(), "ORDER_INTAKE_SERVE_WORKER": "0"}
            for n in (1, 2):
                inside = net.add()
                database = net.forward(inside, url)
                env = {**redis_env, "REDIS_URL": net.forward(inside, REDIS_URL).url, "LOG_LEVEL": "WARNING"}
                log_path = tmp_path / f"api-{n}.log"
                api.append(Server(database.url, log_path, host=inside.address, port=8080, prefix=inside.prefix, **env))
                database_links.append(database)
            workers = []
            for n in (1, 2):
                inside = net.add()
                env = {
                    **exchange.env(),
                    "BROKER_URL": net.forward(inside, BROKER_URL).url,
                    "MAIL_URL": f"maildir:{tmp_path / 'mail'}",
                    "SANDBOX_MAIL_URL": f"maildir:{tmp_path / 'sandbox-mail'}",
                }
                database = net.forward(inside, url)
                workers.append(Worker(database.url, tmp_path / f"worker-{n}.log", prefix=inside.prefix, **env))
            processes = [*api, *workers]
            for process in processes:
                process.start()
            yield Cluster(
                url=url,
                run=f"MN{secrets.token_hex(3)}",
                key=key,
                limited=limited,
                api=(api[0], api[1]),
                workers=(workers[0], workers[1]),
                database_links=(database_links[0], database_links[1]),
                exchange=exchange,
            )
        finally:
            for process in processes:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.stop()  # what does not stop is killed with its namespace
            exchange.delete()


def orders_of(run: str) -> Callable[[str], dict[str, Any]]:
    """The order a request tag posts: one of ORDER_REFS order_refs, with fields that differ from tag to tag."""

    def order(tag: str) -> dict[str, Any]:
        k = zlib.crc32(tag.encode())
        ref = k % ORDER_REFS
        customer = {"email": f"buyer{ref}@example.com", "first_name": tag, "country": "GB"}
        if k % 2:
            customer["surname"] = f"S{k % 7}"
        return an_order(
            trkref=TRKREF,
            order_ref=f"{run}-{ref}",
            customer=customer,
            order_items=[{"sku": f"SKU-{k % 5}", "price": f"{k % 100}.99"}],
            locale=... if k % 3 == 0 else "en-GB",
            language="fr" if k % 4 == 0 else "en",
        )

    return order


def _hit_limited_key(cluster: Cluster) -> list[Answer]:
    """Three times the burst of orders with the limited key, alternating between the API nodes."""
    order = orders_of(cluster.run)
    answers = []
    clients = [httpx.Client(base_url=node.base_url, auth=cluster.limited.auth, timeout=10) for node in cluster.api]
    try:
        for n in range(3 * BURST):
            tag, node = f"{cluster.run}-limited-{n}", n % 2
            sent = time.monotonic()
            answer = clients[node].post(SINGLE, json=order(tag), headers={"X-Request-Id": tag})
            accepted = answer.json()["id"] if answer.status_code == 202 else None
            answers.append(Answer(node, tag, answer.status_code, accepted, sent, time.monotonic()))
    finally:
        for client in clients:
            client.close()
    return answers


def _within(answers: list[Answer], node: int, start: float, end: float) -> Counter[int]:
    """The statuses of the requests to `node` sent and answered between start and end."""
    return Counter(a.status for a in answers if a.node == node and start <= a.sent and a.answered <= end)


@dataclass
class Timeline:
    """When each fault began and ended (time.monotonic())."""

    killed: float = 0.0
    restarted: float = 0.0  # the killed API node answers /health again
    cut: float = 0.0
    restored: float = 0.0
    frozen: float = 0.0
    thawed: float = 0.0


def _accepting(load: SpreadLoad, node: int, since: float, what: str) -> None:
    """Wait until `node` answered 202 to 100 requests sent after `since`."""
    wait_for(what, lambda: load.count(node, 202, sent_after=since) >= 100, timeout=DEADLINE)


def _faults(cluster: Cluster, load: SpreadLoad) -> Timeline:
    """Kill API node 1 and worker 1 and start them again, cut API node 2's database link, freeze node 1's."""
    at = Timeline()
    nodes = cluster.api
    _accepting(load, 0, 0.0, "API node 1 accepting")
    _accepting(load, 1, 0.0, "API node 2 accepting")
    at.killed = time.monotonic()
    nodes[0].kill()
    cluster.workers[0].kill()
    _accepting(load, 1, at.killed, "API node 2 accepting alone")
    cluster.workers[0].start()
    nodes[0].start()
    at.restarted = time.monotonic()
    _accepting(load, 0, at.restarted, "API node 1 accepting again")

    at.cut = time.monotonic()
    cluster.database_links[1].cut()
    time.sleep(CUT_SECONDS)  # the outage's length, not a wait for something
    cluster.database_links[1].start()
    at.restored = time.monotonic()
    _accepting(load, 1, at.restored, "API node 2 recovering from the cut")

    at.frozen = time.monotonic()
    cluster.database_links[0].freeze()
    time.sleep(FREEZE_SECONDS)  # the partition's length
    cluster.database_links[0].thaw()
    at.thawed = time.monotonic()
    _accepting(load, 0, at.thawed, "API node 1 recovering from the partition")
    return at


@pytest.mark.timeout(240)
def test_two_api_nodes_and_two_workers_keep_every_202_through_kills_and_database_cuts(cluster: Cluster) -> None:
    """Kills, a refused and a silent link under load: 202s stored once, canonicals the merge, events out, one bucket."""
    began = time.monotonic()
    urls = [n.base_url for n in cluster.api]
    with SpreadLoad(
        urls, cluster.key.auth, SINGLE, orders_of(cluster.run), prefix=cluster.run, threads=THREADS
    ) as load:
        at = _faults(cluster, load)
        limited = _hit_limited_key(cluster)
    loaded = time.monotonic()
    answers = load.answers()
    wait_for(
        "processing and the relay to catch up",
        lambda: count_rows(cluster.url, WAITING) == count_rows(cluster.url, "SELECT count(*) FROM outbox_pending") == 0,
        timeout=DEADLINE,
    )
    stored = read_stored(cluster.url)
    delivered = [d.message_id for d in cluster.exchange.drain()]

    # Every 202 stored exactly once: its id is there, with its request's id, and no request is there twice.
    accepted = {a.submission_id: a.tag for a in [*answers, *limited] if a.status == 202}
    stored_ids = {s.id: s.request_id for s in stored.submissions}
    lost = {sid: tag for sid, tag in accepted.items() if stored_ids.get(str(sid)) != tag}
    assert not lost, f"{len(lost)} of {len(accepted)} orders answered 202 are not stored"
    assert duplicated_request_ids(stored) == {}
    # The canonical orders, their versions and events, and one invitation each: the merge of what is stored.
    assert merge_problems(stored) == []
    # Every event published at least once (a killed worker may publish one twice).
    assert stored.event_ids <= set(delivered)

    # 202 or 503 only; no answer only from the killed node while it was down.
    assert {a.status for a in answers} <= {202, 503, 0}
    assert all(a.node == 0 and at.killed <= a.answered <= at.restarted for a in answers if a.status == 0)
    # Refused by its database, a node answers 503 at once while the other answers 202, and recovers.
    refused = [_within(answers, node, at.cut, at.restored) for node in (0, 1)]
    assert refused[1][503] > 0
    assert set(refused[1]) == {503}
    assert refused[0][202] > 0
    assert set(refused[0]) == {202}
    # Partitioned from it, a node answers 503 once its timeouts pass (202 once it heals) while the other
    # answers 202, and recovers.
    partitioned = [a for a in answers if a.node == 0 and a.sent <= at.thawed and a.answered >= at.frozen]
    assert {a.status for a in partitioned} <= {202, 503}
    assert any(a.status == 503 and a.answered <= at.thawed for a in partitioned)
    other = _within(answers, 1, at.frozen, at.thawed)
    assert other[202] > 0
    assert set(other) == {202}

    # One bucket for both nodes: the burst accepted in all, alternately, then refused by both.
    assert [a.status for a in limited] == [202] * BURST + [429] * (2 * BURST)

    status_of = {a.tag: a.status for a in [*answers, *limited]}
    unaccepted = Counter(status_of.get(s.request_id or "") for s in stored.submissions if s.id not in accepted)
    log.info(
        "multi-node run: %d orders answered 202, %d stored (without a 202: %s by the answer), %d lost, %d duplicates; "
        "%d events in the outbox, %d distinct published (%d deliveries); "
        "killed API node: %d requests without an answer; "
        "refused %.1f s: %d answers 503 (slowest %.2f s) on that node, %d answers 202 on the other; "
        "silent %.1f s: %s on that node (slowest %.2f s), %d answers 202 on the other; "
        "rate limit burst %d: %d accepted (%s by node), %d refused (%s); load %.1f s, test body %.1f s",
        len(accepted),
        len(stored.submissions),
        dict(unaccepted),
        len(lost),
        sum(n - 1 for n in duplicated_request_ids(stored).values()),
        len(stored.event_ids),
        len(set(delivered)),
        len(delivered),
        sum(1 for a in answers if a.status == 0),
        at.restored - at.cut,
        refused[1][503],
        max(a.answered - a.sent for a in answers if a.node == 1 and at.cut <= a.sent <= at.restored),
        refused[0][202],
        at.thawed - at.frozen,
        dict(Counter(a.status for a in partitioned)),
        max(a.answered - a.sent for a in partitioned),
        other[202],
        BURST,
        sum(1 for a in limited if a.status == 202),
        dict(Counter(a.node for a in limited if a.status == 202)),
        sum(1 for a in limited if a.status == 429),
        dict(Counter(a.node for a in limited if a.status == 429)),
        loaded - began,
        time.monotonic() - began,
    )
