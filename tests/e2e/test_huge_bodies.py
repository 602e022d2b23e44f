"""Hostile bodies (deep nesting, millions of tiny items or of errors) get their 4xx in bounded memory."""

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from tests.support.cli import Credentials
from tests.support.factories import an_order
from tests.support.server import Server

SINGLE = "/v4/organisations/TRKREF123/customer_order"
BATCH = "/v4/customer_orders"
MIB = 1 << 20
# How much more memory than before the request the worker may hold at its peak: the body a few times over
# (granian's copy, ours, the structure counted) and some slack. Building the elements as Python objects
# took 66 MB for a million empty objects (3 MB) and 606 MB for 16 MiB of zeros.
SLACK_MB = 16
BODY_COPIES = 4

MALFORMED = (400, {"status": 400, "message": "Malformed JSON"})


def _too_many(count: int) -> tuple[int, dict[str, object]]:
    return 422, {
        "status": 422,
        "message": "Batch is invalid",
        "summary": {"accepted": 0, "rejected": count},
        "errors": ["batch has too many customer orders (maximum 10000)"],
    }


def _array(element: bytes, count: int) -> bytes:
    return b"[" + b",".join([element] * count) + b"]"


# An order item whose metadata has 100 invalid keys (upper case): 100 errors in 800 bytes.
BAD_KEYS = [f"K{k}" for k in range(100)]
BAD_ITEM = b'{"metadata":{' + b",".join(b'"%s":0' % k.encode() for k in BAD_KEYS) + b"}}"


def _bad_keys(item: int) -> list[str]:
    return [f"invalid order_items[{item}].metadata.{k}" for k in BAD_KEYS]


def _batch_of_bad_items() -> tuple[bytes, int, dict[str, object]]:
    """10,000 elements of two such items and nothing else (205 errors each): 16 MiB, 2 million errors.

    Each element lists its first 100 errors and counts the rest, until 100,000 errors are listed
    in the batch; from then on each lists only its first error.
    """
    element = b'{"order_items":[' + BAD_ITEM + b"," + BAD_ITEM + b"]}"
    first = ["order_ref cannot be blank", "order_date or fulfilment_date must be present", "customer cannot be blank"]
    every = [*first, "order_items[0].sku cannot be blank", *_bad_keys(0), "order_items[1].sku cannot be blank"]
    errors, listed = [], 0
    for index in range(10_000):
        shown = (
            [*every[:100], "105 more errors not listed"]
            if listed < 100_000
            else [first[0], "204 more errors not listed"]
        )
        listed += len(shown)
        errors.append({"index": index, "order_ref": None, "errors": shown})
    expected = {
        "status": 422,
        "message": "Batch is invalid",
        "summary": {"accepted": 0, "rejected": 10_000},
        "ids": [None] * 10_000,
        "errors": errors,
    }
    return _array(element, 10_000), 422, expected


def _batch_of_junk() -> tuple[bytes, int, dict[str, object]]:
    """10,000 elements each holding 500 empty objects and nothing else: 15 MiB, 5 million objects."""
    element = b'{"junk":' + _array(b"{}", 500) + b"}"
    missing = [
        "order_ref cannot be blank",
        "order_date or fulfilment_date must be present",
        "customer cannot be blank",
        "order_items cannot be blank",
    ]
    expected = {
        "status": 422,
        "message": "Batch is invalid",
        "summary": {"accepted": 0, "rejected": 10_000},
        "ids": [None] * 10_000,
        "errors": [{"index": i, "order_ref": None, "errors": missing} for i in range(10_000)],
    }
    return _array(element, 10_000), 422, expected


CASES = {
    "single: 1 MiB of nested arrays": (SINGLE, b"[" * (MIB // 2) + b"]" * (MIB // 2), *MALFORMED),
    "single: 1 MiB of nested objects": (SINGLE, b'{"a":' * (MIB // 6) + b"1" + b"}" * (MIB // 6), *MALFORMED),
    "single: 1 MiB of one-digit items": (
        SINGLE,
        b'{"order_items":' + _array(b"0", (MIB - 17) // 2) + b"}",
        422,
        {
            "status": 422,
            "message": "Invalid customer order",
            "errors": [
                "trkref cannot be blank",
                "order_ref cannot be blank",
                "order_date or fulfilment_date must be present",
                "customer cannot be blank",
                "order_items has too many items (maximum 1000)",
            ],
        },
    ),
    "single: 1 MiB array of zeros": (
        SINGLE,
        _array(b"0", MIB // 2 - 1),
        422,
        {"status": 422, "message": "Invalid customer order", "errors": ["body must be a JSON object"]},
    ),
    "single: 1000 items of 100 invalid metadata keys": (
        SINGLE,
        msgspec.json.encode(an_order(order_items=...))[:-1]
        + b',"order_items":'
        + _array(BAD_ITEM.replace(b"{", b'{"sku":"S",', 1), 1000)
        + b"}",
        422,
        {"status": 422, "message": "Invalid customer order", "errors": [*_bad_keys(0), "99900 more errors not listed"]},
    ),
    "batch: 2 million errors": (BATCH, *_batch_of_bad_items()),
    "batch: 15 MiB of empty objects in 10,000 elements": (BATCH, *_batch_of_junk()),
    "batch: 16 MiB of nested arrays": (BATCH, b"[" * (8 * MIB) + b"]" * (8 * MIB), *MALFORMED),
    "batch: a million empty objects": (BATCH, _array(b"{}", 1_000_000), *_too_many(1_000_000)),
    "batch: 16 MiB of zeros": (BATCH, _array(b"0", 8 * MIB - 1), *_too_many(8 * MIB - 1)),
    # An element over 1 MiB is refused as the single endpoint would refuse it, without being decoded.
    "batch: one 15 MiB element": (
        BATCH,
        b'[{"order_items":' + _array(b"{}", 5 * MIB) + b"}]",
        422,
        {
            "status": 422,
            "message": "Batch is invalid",
            "summary": {"accepted": 0, "rejected": 1},
            "ids": [None],
            "errors": [{"index": 0, "order_ref": None, "errors": ["Payload too large"]}],
        },
    ),
    "batch: 16 MiB object of empty objects": (
        BATCH,
        b'{"junk":' + _array(b"{}", (16 * MIB - 10) // 3) + b"}",
        422,
        {
            "status": 422,
            "message": "Batch is invalid",
            "summary": {"accepted": 0, "rejected": 0},
            "errors": ["body must be a JSON array"],
        },
    ),
}


@pytest.fixture(scope="module")
def lone_server(sqlite_tenant: tuple[str, Credentials], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own (one worker process), so that its memory shows these requests alone."""
    log = tmp_path_factory.mktemp("bodies-log") / "server.log"
    server = Server(sqlite_tenant[0], log, LOG_LEVEL="WARNING").start()
    yield server
    server.stop()


def _status_mb(pid: int, field: str) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(rf"^{field}:\s+(\d+) kB$", status, re.MULTILINE)
    assert found is not None, status
    return int(found[1]) / 1024


@pytest.mark.parametrize("case", list(CASES))
def test_a_body_built_to_exhaust_the_parser_gets_its_4xx_in_bounded_memory(
    lone_server: Server, sqlite_tenant: tuple[str, Credentials], case: str
) -> None:
    """Exact answer; the worker's peak memory grows by less than 16 MB plus 4 times the body; it keeps serving."""
    path, body, status, expected = CASES[case]
    (worker,) = lone_server.worker_pids()
    Path(f"/proc/{worker}/clear_refs").write_text("5")  # the peak (VmHWM) starts again from now
    before = _status_mb(worker, "VmRSS")
    answer = httpx.post(lone_server.base_url + path, content=body, auth=sqlite_tenant[1].auth, timeout=120)
    growth = _status_mb(worker, "VmHWM") - before
    got = answer.json()
    if path == BATCH and status == 422:
        uuid.UUID(got.pop("id"), version=4)
    assert (answer.status_code, got) == (status, expected)
    limit = SLACK_MB + BODY_COPIES * len(body) / MIB
    assert growth < limit, f"{case}: the worker's peak grew by {growth:.0f} MB (at most {limit:.0f} allowed)"
    with httpx.Client(base_url=lone_server.base_url, timeout=10) as client:
        accepted = client.post(SINGLE, json=an_order(), auth=sqlite_tenant[1].auth)
        assert accepted.status_code == 202
        assert client.get(accepted.headers["location"], auth=sqlite_tenant[1].auth).status_code == 200
