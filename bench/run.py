"""Benchmark: the real server on SQLite and PostgreSQL under wrk, beside the no-op floor, in one run.

    .venv/bin/python bench/run.py [--duration 15] [--floor-duration S] [--connections 64]
                                  [--workers N] [--floor-workers N] [--only sqlite,postgres]
                                  [--processing serve|worker|off] [--processing-workers N]
                                  [--autogroup own|wrk|both]

Prints orders/s, p50/p99 latency, the ratio to the floor, server RSS, and whether every answer was 202.
"""

import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from lag import LagSampler, drained

from order_intake.adapters.backend import backend_for
from order_intake.adapters.database_url import parse_database_url

HERE = Path(__file__).parent
BIN = Path(sys.executable).with_name("order-intake")
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")


@dataclass
class Result:
    """One wrk run."""

    name: str
    rate: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]
    errors: int
    rss_mb: float
    # CPU time per answered request: the server's HTTP processes, its processing workers (the one `serve`
    # keeps or separate ones) and PostgreSQL's (0 on SQLite and the floors).
    server_cpu_us: float = 0.0
    database_cpu_us: float = 0.0
    processing_cpu_us: float = 0.0


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=0.5).status_code < 500:  # noqa: PLR2004
                return time.monotonic() - started
        except httpx.TransportError:
            time.sleep(0.02)
    raise RuntimeError("server did not start")


def _rss_mb(pid: int) -> float:
    """Largest RSS among the process group's processes (each worker is its own process)."""
    group, largest = os.getpgid(pid), 0
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split() if entry.name.isdigit() else []
        except OSError:  # the process ended meanwhile
            continue
        if fields and int(fields[2]) == group:
            largest = max(largest, int(fields[21]) * _PAGE)  # rss, in pages
    return largest / 2**20


_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pgids: set[int]) -> tuple[float, float, float]:
    """CPU seconds used so far by these process groups (the server's, separate workers'): HTTP and processing.

    And by PostgreSQL's processes. A processing worker is told apart by the `worker` in its command line.
    """
    server = processing = database = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        command = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
        if int(fields[2]) in pgids:
            if _is_processing_worker(entry):
                processing += seconds
            else:
                server += seconds
        elif command.startswith("postgres"):
            database += seconds
    return server, processing, database


def _is_processing_worker(proc: Path) -> bool:
    try:
        return b"worker" in (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False


def _wrk(
    name: str,
    port: int,
    path: str,
    auth: str,
    args: argparse.Namespace,
    pid: int,
    also: tuple[int, ...] = (),
    body: Path = HERE / "order.json",
) -> Result:
    env = {
        **os.environ,
        "BENCH_PATH": path,
        "BENCH_AUTH": base64.b64encode(auth.encode()).decode(),
        "BENCH_BODY_FILE": str(body),
        "BENCH_REFS": str(args.refs),
    }
    cmd = [
        "wrk",
        "-t",
        str(args.threads),
        "-c",
        str(args.connections),
        "-d",
        f"{args.duration}s",
        "-s",
        str(HERE / "post_order.lua"),
        f"http://127.0.0.1:{port}",
    ]
    groups = {os.getpgid(pid), *also}
    before = _cpu_seconds(groups)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    after = _cpu_seconds(groups)
    rate = float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")))
    stats = json.loads(next(line[6:] for line in out.splitlines() if line.startswith("BENCH ")))
    answered = max(1, stats["requests"])
    return Result(
        name,
        rate,
        stats["p50_us"] / 1000,
        stats["p99_us"] / 1000,
        stats["statuses"],
        stats["errors"],
        _rss_mb(pid),
        (after[0] - before[0]) / answered * 1e6,
        (after[2] - before[2]) / answered * 1e6,
        (after[1] - before[1]) / answered * 1e6,
    )


# Each server runs in a process group of its own (so that _stop reaches all its processes). Linux's
# autogroup scheduling (on by default; one autogroup per setsid) shares the CPU between autogroups
# first, then between the tasks of each: the no-op floors answer 1.6 to 2 times as many requests a
# second in wrk's autogroup as in one of their own, order-intake about as many (docs/performance.md).
# `--autogroup own` starts each server with setsid (an autogroup of its own), `--autogroup wrk` in this
# script's, beside wrk; `both` (the default) runs the servers in their own and the ASGI floor both ways.
_GROUPING: dict[str, Any] = {"start_new_session": True}


def _group(*, beside_wrk: bool) -> None:
    """Start the next servers in wrk's autogroup, or each in one of its own."""
    _GROUPING.clear()
    _GROUPING.update({"process_group": 0} if beside_wrk else {"start_new_session": True})


def _stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def run_floor(args: argparse.Namespace, interface: str) -> Result:
    """A no-op app on granian (ASGI: the issue's floor; RSGI: the interface order-intake uses), a process per core."""
    port = _free_port()
    target = "noop:app" if interface == "asgi" else "noop_rsgi:app"
    command = [sys.executable, "-m", "granian", "--interface", interface, "--workers", str(args.floor_workers)]
    proc = subprocess.Popen(
        [*command, "--port", str(port), "--no-ws", target],
        cwd=HERE,
        **_GROUPING,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(f"http://127.0.0.1:{port}/", proc)
        _wrk("warm-up", port, "/", "x:y", argparse.Namespace(**{**vars(args), "duration": 2}), proc.pid)
        floor_args = argparse.Namespace(**{**vars(args), "duration": args.floor_duration or args.duration})
        return _wrk(f"no-op {interface.upper()} app on granian", port, "/", "x:y", floor_args, proc.pid)
    finally:
        _stop(proc)


def _cli(env: dict[str, str], *argv: str) -> str:
    return subprocess.run([str(BIN), *argv], env=env, capture_output=True, text=True, check=True).stdout


async def _pg(sql: str) -> None:
    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def make_tenant(env: dict[str, str]) -> tuple[str, str]:
    """Organisation BENCH, enabled, and a key for it: (username, password)."""
    _cli(env, "org", "add", "BENCH", "--name", "Bench")
    _cli(env, "org", "enable", "BENCH")
    key = json.loads(_cli(env, "key", "create", "--trkref", "BENCH", "--rate", "0", "--json"))  # unlimited
    return key["username"], key["password"]


def start_server(env: dict[str, str], port: int, workers: int | None, *extra: str) -> subprocess.Popen[bytes]:
    """`order-intake serve` in its own process group, output discarded; `workers` None: serve's default."""
    return subprocess.Popen(
        [str(BIN), "serve", "--port", str(port), *([] if workers is None else ["--workers", str(workers)]), *extra],
        env=env,
        **_GROUPING,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _start_workers(env: dict[str, str], count: int) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [str(BIN), "worker"], env=env, **_GROUPING, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(count)
    ]


def run_service(backend: str, args: argparse.Namespace, workdir: Path) -> tuple[Result, float, int]:
    """order-intake on one backend: returns the result, start-up seconds and rows stored.

    Processing runs as `--processing` says: in the worker process `serve` keeps (the default), in
    `--processing-workers` separate `order-intake worker` processes beside `serve --no-worker`, or not
    at all; with it on, the lag is sampled and printed.
    """
    name = f"order_intake_bench_{os.getpid()}"
    if backend == "postgres":
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
        url = f"{PG}/{name}"
    else:
        url = f"sqlite:///{workdir / 'bench.db'}"
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": args.log_level}
    key = make_tenant(env)
    port = _free_port()
    workers = args.workers if backend == "postgres" else args.sqlite_workers
    proc = start_server(env, port, workers, *([] if args.processing == "serve" else ["--no-worker"]))
    separate = _start_workers(env, args.processing_workers) if args.processing == "worker" else []
    try:
        startup = _wait_ready(f"http://127.0.0.1:{port}/health", proc)
        path = "/v4/organisations/BENCH/customer_order"
        auth = ":".join(key)
        _wrk("warm-up", port, path, auth, argparse.Namespace(**{**vars(args), "duration": 2}), proc.pid)
        with LagSampler(url) as lag:
            processes = workers or backend_for(parse_database_url(url)).http_processes(
                beside_worker=args.processing == "serve"
            )
            label = f"order-intake, {backend} ({processes} HTTP {'process' if processes == 1 else 'processes'})"
            result = _wrk(label, port, path, auth, args, proc.pid, tuple(w.pid for w in separate))
        if args.processing != "off":
            drain = lag.drain_seconds()
            samples = sorted(lag.samples)
            # Whether processing keeps up: a lag that is still growing at the end of the run is not bounded.
            quarters = [
                max(lag.samples[i * len(lag.samples) // 4 : (i + 1) * len(lag.samples) // 4] or [0.0]) for i in range(4)
            ]
            print(
                f"{backend}: processing {args.processing}: lag during the run max {samples[-1]:.2f} s, "
                f"median {samples[len(samples) // 2]:.2f} s ({len(samples)} samples), max by quarter of the run "
                f"{' / '.join(f'{q:.2f}' for q in quarters)} s; {drained(drain)}",
                flush=True,
            )
    finally:
        _stop(proc)
        for worker in separate:
            _stop(worker)
    rows = _count_rows(backend, url, name)
    if backend == "postgres":
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return result, startup, rows


def _count_rows(backend: str, url: str, name: str) -> int:
    if backend == "sqlite":
        import sqlite3  # noqa: PLC0415

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return int(conn.execute("SELECT count(*) FROM submissions").fetchone()[0])

    async def count() -> int:
        conn = await asyncpg.connect(f"{PG}/{name}")
        try:
            return int(await conn.fetchval("SELECT count(*) FROM submissions"))
        finally:
            await conn.close()

    return asyncio.run(count())


def main() -> None:
    """Run the floor and each backend; print one table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--floor-duration", type=int, default=0, help="seconds of each floor run (0: --duration)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None, help="serve's HTTP processes (default: serve's own)")
    parser.add_argument("--floor-workers", type=int, default=os.cpu_count() or 1, help="the no-op floors' processes")
    parser.add_argument("--sqlite-workers", type=int, default=1)
    parser.add_argument("--only", default="sqlite,postgres")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--refs", type=int, default=100_000, help="distinct order_refs cycled through (0: one)")
    parser.add_argument("--processing", choices=["serve", "worker", "off"], default="serve")
    parser.add_argument("--processing-workers", type=int, default=1, help="`order-intake worker` processes")
    parser.add_argument(
        "--autogroup",
        choices=["own", "wrk", "both"],
        default="both",
        help="servers in autogroups of their own, in wrk's, or the ASGI floor both ways (see _GROUPING)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: run bench/setup")
    _group(beside_wrk=args.autogroup == "wrk")
    floor = run_floor(args, "asgi")
    rows: list[tuple[Result, float | None, int | None]] = [(floor, None, None), (run_floor(args, "rsgi"), None, None)]
    beside_floor = None
    if args.autogroup == "both":
        _group(beside_wrk=True)
        beside_floor = run_floor(args, "asgi")
        beside_floor.name += ", in wrk's autogroup"
        rows.append((beside_floor, None, None))
        _group(beside_wrk=False)
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.only.split(","):
            result, startup, stored = run_service(backend, args, Path(tmp))
            rows.append((result, startup, stored))
    print(f"\n{args.connections} connections, {args.duration}s, wrk -t{args.threads}, ~1 KB order, Basic auth\n")
    print(
        "| implementation | orders/s | p50 ms | p99 ms | vs floor | HTTP CPU µs/req | processing CPU µs/req "
        "| PostgreSQL CPU µs/req | RSS MB/process | answers | start-up s | rows |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for result, startup, stored in rows:
        ratio = f"{result.rate / floor.rate:.0%}"
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(result.statuses.items()))
        if result.errors:
            answers += f", socket errors: {result.errors}"
        print(
            f"| {result.name} | {result.rate:,.0f} | {result.p50_ms:.1f} | {result.p99_ms:.1f} | {ratio} | "
            f"{result.server_cpu_us:.0f} | {result.processing_cpu_us:.0f} | {result.database_cpu_us:.0f} | "
            f"{result.rss_mb:.0f} | {answers} | "
            f"{'' if startup is None else f'{startup:.2f}'} | "
            f"{'' if stored is None else stored} |"
        )
    if beside_floor is not None:
        print(f"\nAgainst the no-op ASGI floor in wrk's autogroup ({beside_floor.rate:,.0f} requests/s):")
        for result, _, _ in rows[3:]:
            print(f"- {result.name}: {result.rate / beside_floor.rate:.0%}")


if __name__ == "__main__":
    main()
