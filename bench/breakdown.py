"""Where the time goes for one order, stage by stage, measured in-process (no HTTP server).

    .venv/bin/python bench/breakdown.py [--rows-per-commit 16]

HTTP handling itself (granian, the RSGI hand-off) is what bench/run.py's no-op floors measure.
"""

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).parent))
from run import PG, _cli, _pg

from order_intake.adapters.backend import backend_for
from order_intake.adapters.database_url import parse_database_url
from order_intake.config import Settings
from order_intake.domain.answers import OrderAccepted
from order_intake.domain.jsonbody import parse_body
from order_intake.domain.validation import validate_order
from order_intake.service.records import NewSubmission, WriteUnit

BODY = (Path(__file__).parent / "order.json").read_bytes()
ENCODER = msgspec.json.Encoder(decimal_format="number")


def per_call_us(work: Callable[[], object], seconds: float = 1.0) -> float:
    """Mean microseconds per call over about `seconds`."""
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(100):
            work()
        calls += 100
    return (time.perf_counter() - started) / calls * 1e6


async def commit_us_per_row(url: str, rows_per_commit: int, seconds: float = 3.0) -> float:
    """Microseconds of wall time per row when committing groups of `rows_per_commit` rows back to back."""
    store = backend_for(parse_database_url(url)).intake_store(Settings(database_url=url))
    await store.open()
    key = await store.find_key(KEY_USERNAME)
    assert key is not None
    normalised = ENCODER.encode(validate_order(parse_body(BODY), trkref="BENCH").order)  # type: ignore[union-attr]
    rows, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        units = [
            WriteUnit(
                (
                    NewSubmission(
                        uuid.uuid4(),
                        key.organisations[0].id,
                        key.id,
                        dt.datetime.now(dt.UTC),
                        BODY,
                        normalised,
                        "R",
                        None,
                        "req",
                    ),
                )
            )
            for _ in range(rows_per_commit)
        ]
        await store.commit_units(units)
        rows += rows_per_commit
    await store.close()
    return (time.perf_counter() - started) / rows * 1e6


KEY_USERNAME = ""


def main() -> None:
    """Print one table row per stage."""
    global KEY_USERNAME  # noqa: PLW0603 - set once from the CLI's answer
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows-per-commit", type=int, default=16)
    args = parser.parse_args()
    value = parse_body(BODY)
    result = validate_order(value, trkref="BENCH")
    order = result.order  # type: ignore[union-attr]
    stages = [
        ("decode JSON (msgspec, exact decimals)", per_call_us(lambda: parse_body(BODY))),
        ("validate and normalise", per_call_us(lambda: validate_order(value, trkref="BENCH"))),
        ("encode the normalised order", per_call_us(lambda: ENCODER.encode(order))),
        ("new UUID v4", per_call_us(uuid.uuid4)),
        (
            "encode the 202 answer",
            per_call_us(
                lambda: ENCODER.encode(OrderAccepted(status=202, id=uuid.uuid4(), message="Customer order accepted"))
            ),
        ),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        name = f"order_intake_bench_breakdown_{os.getpid()}"
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
        try:
            for backend, url in (("SQLite", f"sqlite:///{Path(tmp) / 'b.db'}"), ("PostgreSQL", f"{PG}/{name}")):
                env = {**os.environ, "DATABASE_URL": url}
                _cli(env, "org", "add", "BENCH", "--name", "Bench")
                KEY_USERNAME = json.loads(_cli(env, "key", "create", "--trkref", "BENCH", "--json"))["username"]
                cost = asyncio.run(commit_us_per_row(url, args.rows_per_commit))
                stages.append((f"commit on {backend}, {args.rows_per_commit} rows per transaction (per row)", cost))
        finally:
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print("| stage | microseconds |\n|---|---|")
    for stage, micros in stages:
        print(f"| {stage} | {micros:.1f} |")


if __name__ == "__main__":
    main()
