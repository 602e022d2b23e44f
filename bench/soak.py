"""Soak test: the real server at a fixed request rate for a long run, 1% of the requests bad.

    .venv/bin/python bench/soak.py [--duration 600] [--rate 1750] [--connections 48] [--bad-every 100]
                                   [--backend postgres|sqlite] [--workers N] [--log-level INFO]

A fresh database, `order-intake serve` as in production (processing in the worker it keeps), and an
open-loop load (bench/soak_load.py). The default rate, 1,750 requests/s, is meant to sit well below
the machine's capacity (bench/run.py, PostgreSQL, processing on): the run tests staying up under a
steady load with bad requests, not capacity (--rate suits it to a machine). At the end it prints
the requests sent by kind, the answers by status, each server process's memory sampled every 10 s,
whether every id answered 202 is stored, and the processing lag. Exit status 1 if any promise was
broken: a 5xx, an answer other than the one the contract gives that kind of request, a lost
connection, an accepted id missing.
"""

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import uvloop

sys.path.insert(0, str(Path(__file__).parent))
from lag import LagSampler, Sampler, drained
from run import PG, _free_port, _pg, _stop, _wait_ready, make_tenant, start_server
from soak_load import KINDS, Tally, Target, run_load


class MemorySampler(Sampler):
    """The resident memory of each of the server's processes, every `every` seconds."""

    def __init__(self, group: int, every: float = 10.0) -> None:
        super().__init__(every)
        self._group = group
        self.samples: dict[int, list[float]] = {}

    def sample(self) -> None:
        """One RSS reading per process of the group."""
        for entry in Path("/proc").iterdir():
            try:
                if not entry.name.isdigit() or os.getpgid(int(entry.name)) != self._group:
                    continue
                status = (entry / "status").read_text()
            except (OSError, ProcessLookupError):
                continue
            rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            self.samples.setdefault(int(entry.name), []).append(rss / 1024)


def _ids(packed: bytearray) -> Iterator[uuid.UUID]:
    """The ids answered 202, from their 16-byte form (a million UUID objects would be 100 MB)."""
    return (uuid.UUID(bytes=bytes(packed[i : i + 16])) for i in range(0, len(packed), 16))


async def _missing_ids_postgres(url: str, ids: Iterator[uuid.UUID]) -> tuple[int, int]:
    """(rows stored, ids answered 202 that are not among them), by an anti-join on a copy of the ids."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TEMP TABLE answered (id uuid PRIMARY KEY)")
        await conn.copy_records_to_table("answered", records=((i,) for i in ids))
        rows = await conn.fetchval("SELECT count(*) FROM submissions")
        missing = await conn.fetchval(
            "SELECT count(*) FROM answered a WHERE NOT EXISTS (SELECT 1 FROM submissions s WHERE s.id = a.id)"
        )
        return int(rows), int(missing)
    finally:
        await conn.close()


def _missing_ids_sqlite(path: str, ids: Iterator[uuid.UUID]) -> tuple[int, int]:
    with sqlite3.connect(path) as conn:
        stored = {row[0] for row in conn.execute("SELECT id FROM submissions")}
    return len(stored), sum(1 for i in ids if str(i) not in stored)


def _report(
    tally: Tally, memory: MemorySampler, lags: list[float], drain: float | None, args: argparse.Namespace
) -> int:
    """Print the figures; the number of broken promises."""
    broken = 0
    print("\n| kind | sent | answers | expected |\n|---|---|---|---|")
    for kind, (_, expected) in KINDS.items():
        answers = {answer: n for (k, answer), n in tally.answers.items() if k == kind}
        broken += sum(n for answer, n in answers.items() if answer != expected)
        shown = ", ".join(f"{answer}: {n:,}" for answer, n in sorted(answers.items(), key=str))
        print(f"| {kind} | {tally.sent[kind]:,} | {shown} | {expected} |")
    statuses: dict[int | str, int] = {}
    for (_, answer), n in tally.answers.items():
        statuses[answer] = statuses.get(answer, 0) + n
    server_errors = sum(n for answer, n in statuses.items() if isinstance(answer, int) and answer >= 500)  # noqa: PLR2004
    print(f"\nanswers by status: {dict(sorted(statuses.items(), key=str))}; 5xx: {server_errors}")
    sent = sum(tally.sent.values())
    seconds = sorted(tally.answered_per_second.items())[1:-1]  # the first and last seconds are partial
    windows = [sum(n for _, n in seconds[i : i + 10]) / 10 for i in range(0, len(seconds) - 9, 10)]
    print(
        f"sent {sent:,} in {args.duration} s ({sent / args.duration:,.0f}/s, asked {args.rate:,.0f}/s); answered per "
        f"10 s window: min {min(windows, default=0):,.0f}/s, max {max(windows, default=0):,.0f}/s; sends at most "
        f"{tally.most_late_s * 1000:.0f} ms late, queue at most {tally.deepest_queue} deep"
    )
    latency = sorted(tally.latency_ms)
    if latency:
        print(
            f"valid orders' latency: p50 {latency[len(latency) // 2]:.1f} ms, "
            f"p99 {latency[int(len(latency) * 0.99)]:.1f} ms, max {latency[-1]:.1f} ms"
        )
    for pid, values in sorted(memory.samples.items()):
        print(
            f"process {pid} RSS MB: first {values[0]:.0f}, max {max(values):.0f}, last {values[-1]:.0f}; "
            f"every 10 s: {' '.join(f'{v:.0f}' for v in values)}"
        )
    print(f"processing lag: max {max(lags, default=0):.2f} s over {len(lags)} samples; {drained(drain)}")
    return broken + server_errors + int(drain is None)  # processing that never catches up breaks a promise too


def _soak(url: str, args: argparse.Namespace) -> tuple[Tally, MemorySampler, LagSampler, float | None]:
    """Serve, load, and wait for processing to catch up: what was sent and answered, the samplers."""
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": args.log_level}
    username, password = make_tenant(env)
    port = _free_port()
    workers = args.workers if args.backend == "postgres" else None  # None: serve's default
    proc = start_server(env, port, workers)
    try:
        _wait_ready(f"http://127.0.0.1:{port}/health", proc)
        print(
            f"{args.backend}, {workers or 'the default'} HTTP process(es), {args.rate:,.0f} requests/s for "
            f"{args.duration} s, 1 in {args.bad_every} bad, {args.connections} connections",
            flush=True,
        )
        load = run_load(
            Target(port, "BENCH", username, password),
            rate=args.rate,
            duration=args.duration,
            connections=args.connections,
            bad_every=args.bad_every,
        )
        with MemorySampler(proc.pid) as memory, LagSampler(url, every=1.0) as lag:
            tally = uvloop.run(load)
        return tally, memory, lag, lag.drain_seconds()
    finally:
        _stop(proc)


def main() -> None:
    """Set up, load, check, report; exit 1 if a promise was broken."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600)
    parser.add_argument("--rate", type=float, default=1750, help="requests per second (all kinds)")
    parser.add_argument("--connections", type=int, default=48)
    parser.add_argument("--bad-every", type=int, default=100, help="1 request in N is bad (100: 1%%)")
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--workers", type=int, default=None, help="HTTP processes (default: serve's own)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args()
    name = f"order_intake_soak_{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        if args.backend == "postgres":
            asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
            url = f"{PG}/{name}"
        else:
            url = f"sqlite:///{Path(tmp) / 'soak.db'}"
        try:
            tally, memory, lag, drain = _soak(url, args)
            if args.backend == "postgres":
                rows, missing = asyncio.run(_missing_ids_postgres(url, _ids(tally.accepted_ids)))
            else:
                rows, missing = _missing_ids_sqlite(url.removeprefix("sqlite:///"), _ids(tally.accepted_ids))
        finally:
            if args.backend == "postgres":
                asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    broken = _report(tally, memory, lag.samples, drain, args)
    print(
        f"stored: {rows:,} rows; ids answered 202: {len(tally.accepted_ids) // 16:,}, "
        f"of which missing from the database: {missing}"
    )
    sys.exit(1 if broken or missing else 0)


if __name__ == "__main__":
    main()
