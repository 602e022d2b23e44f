"""Benchmark: what each statement of processing costs on PostgreSQL, per submission processed.

    .venv/bin/python bench/statements.py [--seconds 6] [--batch 1000] [--rounds 2]

Fills a fresh database through the real server (`serve --no-worker` under wrk for `--seconds`), then
processes the backlog in this process with fixed batches, timing every statement the processing store
sends (wall time on an otherwise idle machine: the server's work plus the round trip) and the
PostgreSQL backend's CPU over the whole drain. Prints microseconds per submission by statement.
"""

import argparse
import asyncio
import os
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import asyncpg
from run import PG, _free_port, _pg, _stop, _wait_ready, _wrk, make_tenant, start_server

from order_intake.adapters.postgres.pool import PLANNED_EACH_TIME, TIMEOUT
from order_intake.adapters.postgres.processing import PgProcessingStore
from order_intake.service.invitations import InvitationPlanning
from order_intake.service.processing import Processor

_spent: dict[str, float] = defaultdict(float)
_calls: dict[str, int] = defaultdict(int)


def _label(query: str) -> str:
    words = re.sub(r"__asyncpg_savepoint_\w+__", "__asyncpg_savepoint__", " ".join(query.split()))
    return words[:70]


class TimedConnection(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection that adds each statement's wall time to _spent, by its first words."""

    async def _timed(self, label: str, call: Any) -> Any:  # noqa: ANN401 - whatever asyncpg returns
        started = time.perf_counter()
        try:
            return await call
        finally:
            _spent[label] += time.perf_counter() - started
            _calls[label] += 1

    async def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401, D102
        return await self._timed(_label(query), super().execute(query, *args, **kwargs))

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401, D102
        return await self._timed(_label(query), super().fetch(query, *args, **kwargs))

    async def copy_records_to_table(self, table: str, **kwargs: Any) -> Any:  # noqa: ANN401, D102
        return await self._timed(f"COPY {table}", super().copy_records_to_table(table, **kwargs))


def _backend_cpu(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _drain(url: str, batch: int) -> tuple[int, float, float, tuple[float, float]]:
    store = PgProcessingStore(url, pool_size=1)
    await store.open()
    await store._pool_or_fail().close()  # noqa: SLF001 - replaced by a timed one
    store._pool = await asyncpg.create_pool(  # noqa: SLF001
        url,
        min_size=1,
        max_size=1,
        timeout=TIMEOUT,
        connection_class=TimedConnection,
        server_settings=PLANNED_EACH_TIME,  # planned as the processing store's own pool plans
    )
    planning = InvitationPlanning(await store.signing_key())
    processor = Processor(store, batch=batch, max_batch=batch, invitations=planning)
    async with store._pool.acquire() as conn:  # noqa: SLF001
        backend = await conn.fetchval("SELECT pg_backend_pid()")
    _spent.clear()
    _calls.clear()
    cpu = _backend_cpu(backend)
    started = time.perf_counter()
    done = await processor.drain()
    wall = time.perf_counter() - started
    cpu = _backend_cpu(backend) - cpu
    relay_cpu = _backend_cpu(backend)
    relay_started = time.perf_counter()

    async def publish(rows: object) -> None:  # noqa: ARG001 - the broker's side is not measured here
        return None

    while await store.relay(500, publish):
        pass
    relay = (time.perf_counter() - relay_started, _backend_cpu(backend) - relay_cpu)
    await store.close()
    return done, wall, cpu, relay


def main() -> None:
    """Fill, drain and print, `--rounds` times."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", default="", help="write a cProfile of the drain to this file")
    args = parser.parse_args()
    name = f"order_intake_statements_{os.getpid()}"
    url = f"{PG}/{name}"
    for round_ in range(args.rounds):
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
        env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
        key = make_tenant(env)
        port = _free_port()
        proc = start_server(env, port, 2, "--no-worker")
        try:
            _wait_ready(f"http://127.0.0.1:{port}/health", proc)
            load = argparse.Namespace(duration=args.seconds, connections=64, threads=2, refs=100_000)
            _wrk("fill", port, "/v4/organisations/BENCH/customer_order", ":".join(key), load, proc.pid)
        finally:
            _stop(proc)
        if args.profile:
            import cProfile  # noqa: PLC0415

            profiler = cProfile.Profile()
            profiler.enable()
        done, wall, cpu, (relay_wall, relay_cpu) = asyncio.run(_drain(url, args.batch))
        if args.profile:
            profiler.disable()
            profiler.dump_stats(args.profile)
        relay_statements = ("SELECT id, event_id", "UPDATE outbox", "WITH claimed AS")
        relayed = {k: v for k, v in _spent.items() if k.startswith(relay_statements)}
        for k in relayed:
            del _spent[k]
        timed = sum(_spent.values())
        print(
            f"\nround {round_ + 1}: {done} submissions processed in {wall:.2f} s ({done / wall:,.0f}/s); "
            f"PostgreSQL backend CPU {cpu / done * 1e6:.1f} µs per submission; statements' wall time "
            f"{timed / done * 1e6:.1f} µs, the rest (Python) {(wall - timed) / done * 1e6:.1f} µs"
        )
        for label, seconds in sorted(_spent.items(), key=lambda kv: -kv[1]):
            print(f"  {seconds / done * 1e6:7.1f} µs  {_calls[label]:5d} calls  {label}")
        print(
            f"  relay (events published to nowhere) {relay_wall / done * 1e6:.1f} µs wall, PostgreSQL CPU "
            f"{relay_cpu / done * 1e6:.1f} µs per submission"
        )
        for label, seconds in relayed.items():
            print(f"  {seconds / done * 1e6:7.1f} µs  {_calls[label]:5d} calls  {label}")
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
