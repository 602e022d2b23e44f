"""Benchmark of invitation delivery: e-mails a second from one worker, and the intake with the sender busy.

    .venv/bin/python bench/mail.py [--messages 2000] [--only postgres,sqlite] [--duration 20] [--pairs 2]

1. Sending: MESSAGES orders of today, of as many customers, are accepted and planned 14 days ahead;
   then the policy changes to "at once, any time", which makes every invitation due, and one
   `order-intake worker` sends them to a local SMTP sink (bench/smtp_sink.py, aiosmtpd in a process of
   its own). Printed: e-mails/s from that change to the last one recorded sent, the worker's CPU per e-mail.
2. Intake beside it (PostgreSQL): `serve` with its worker under wrk, orders of today from distinct
   customers, alternating a policy that sends nothing during the run (processing alone) with one
   that makes every order due at once (processing and sending). Printed: orders/s, p99, e-mails sent.
"""

import argparse
import asyncio
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
from run import BIN, HERE, PG, _cli, _free_port, _pg, _stop, _wait_ready, _wrk, make_tenant, start_server

AT_ONCE = ("--delay-days", "0", "--window", "00:00-24:00")


def _today_order(workdir: Path) -> Path:
    today = dt.datetime.now(dt.UTC).date().strftime("%d-%m-%Y")
    path = workdir / "order_today.json"
    path.write_text((HERE / "order_today.json").read_text().replace("TODAY", today))
    return path


def _count(url: str, sql: str) -> int:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=10) as conn:
            return int(conn.execute(sql).fetchone()[0])

    async def query() -> int:
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval(sql))
        finally:
            await conn.close()

    return asyncio.run(query())


def _wait_count(url: str, sql: str, target: int, timeout: float = 600) -> float:
    """Seconds until the query counts `target`."""
    started = time.monotonic()
    while _count(url, sql) < target:
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{sql!r} did not reach {target} in {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


def _database(backend: str, workdir: Path, label: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / f'{label}.db'}"
    name = f"order_intake_mail_{label}_{os.getpid()}"
    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    return f"{PG}/{name}"


def _drop(url: str) -> None:
    if not url.startswith("sqlite"):
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))


def _sink() -> tuple[subprocess.Popen[str], int]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "smtp_sink.py"), str(port)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc, port


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _post_all(base: str, auth: tuple[str, str], template: str, count: int) -> None:
    async with httpx.AsyncClient(base_url=base, auth=auth, timeout=30) as client:
        sem = asyncio.Semaphore(32)

        async def one(n: int) -> None:
            async with sem:
                body = template.replace("BENCH-000123456", f"MAIL-{n:09d}")
                answer = await client.post("/v4/organisations/BENCH/customer_order", content=body)
                assert answer.status_code == 202, answer.text  # noqa: PLR2004

        await asyncio.gather(*(one(n) for n in range(count)))


def sending(backend: str, messages: int, workdir: Path) -> None:
    """Part 1: e-mails/s from one worker to the sink."""
    url = _database(backend, workdir, "send")
    sink, port = _sink()
    env = {**os.environ, "DATABASE_URL": url, "MAIL_URL": f"smtp://127.0.0.1:{port}", "LOG_LEVEL": "WARNING"}
    user, password = make_tenant(env)
    server_port = _free_port()
    server = start_server(env, server_port, 1, "--no-worker")
    worker = None
    try:
        _wait_ready(f"http://127.0.0.1:{server_port}/health", server)
        template = _today_order(workdir).read_text()
        asyncio.run(_post_all(f"http://127.0.0.1:{server_port}", (user, password), template, messages))
        worker = subprocess.Popen([str(BIN), "worker"], env=env, start_new_session=True)
        _wait_count(url, "SELECT count(*) FROM invitations WHERE state = 'scheduled'", messages)
        cpu = _cpu_seconds(worker.pid)
        _cli(env, "org", "policy", "BENCH", *AT_ONCE)
        seconds = _wait_count(url, "SELECT count(*) FROM invitations WHERE state = 'sent'", messages)
        per_mail = (_cpu_seconds(worker.pid) - cpu) / messages * 1e6
        print(
            f"{backend}: {messages} invitations sent in {seconds:.2f} s by one worker: {messages / seconds:,.0f} "
            f"e-mails/s (worker CPU {per_mail:.0f} µs per e-mail, policy change included)",
            flush=True,
        )
    finally:
        if worker is not None:
            _stop(worker)
        _stop(server)
        _stop(sink)
        _drop(url)


def intake(args: argparse.Namespace, workdir: Path, *, send: bool) -> None:
    """Part 2: one wrk run against `serve` (PostgreSQL) with processing alone, or with every order due at once."""
    url = _database("postgres", workdir, "intake")
    sink, port = _sink()
    env = {**os.environ, "DATABASE_URL": url, "MAIL_URL": f"smtp://127.0.0.1:{port}", "LOG_LEVEL": "WARNING"}
    key = make_tenant(env)
    if send:
        _cli(env, "org", "policy", "BENCH", *AT_ONCE)
    server_port = _free_port()
    server = start_server(env, server_port, args.workers)
    try:
        _wait_ready(f"http://127.0.0.1:{server_port}/health", server)
        path, auth, body = "/v4/organisations/BENCH/customer_order", ":".join(key), _today_order(workdir)
        _wrk("warm-up", server_port, path, auth, argparse.Namespace(**{**vars(args), "duration": 2}), server.pid)
        sent_before = _count(url, "SELECT count(*) FROM invitations WHERE state = 'sent'")
        label = "processing and sending" if send else "processing alone"
        result = _wrk(label, server_port, path, auth, args, server.pid, body=body)
        sent = _count(url, "SELECT count(*) FROM invitations WHERE state = 'sent'") - sent_before
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(result.statuses.items()))
        print(
            f"| {label} | {result.rate:,.0f} | {result.p50_ms:.1f} | {result.p99_ms:.1f} | "
            f"{result.processing_cpu_us:.0f} | {sent:,} ({sent / args.duration:,.0f}/s) | {answers} |",
            flush=True,
        )
    finally:
        _stop(server)
        _stop(sink)
        _drop(url)


def main() -> None:
    """Run both parts."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--only", default="postgres,sqlite", help="the sending part's databases ('': none)")
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=2, help="alternating intake runs of each kind (0: none)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None, help="HTTP processes (default: serve's own)")
    parser.add_argument("--refs", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for backend in filter(None, args.only.split(",")):
            sending(backend, args.messages, Path(tmp))
        if args.pairs:
            print(
                f"\nPostgreSQL, `serve` with its worker, wrk -c{args.connections} {args.duration}s, orders of today\n"
            )
            print("| run | orders/s | p50 ms | p99 ms | processing CPU µs/order | e-mails sent | answers |")
            print("|---|---|---|---|---|---|---|")
            for _ in range(args.pairs):
                intake(args, Path(tmp), send=False)
                intake(args, Path(tmp), send=True)
    print(json.dumps({"finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}))


if __name__ == "__main__":
    main()
