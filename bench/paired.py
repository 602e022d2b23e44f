"""Two checkouts' `serve` under the same load at the same time: CPU per order of each, paired.

    .venv/bin/python bench/paired.py CHECKOUT_A CHECKOUT_B [--duration 20] [--connections 32] [--rounds 3]

Each checkout (a directory with its own .venv, as scripts/setup makes it) serves its own fresh
PostgreSQL database with `serve`'s defaults, processing on. Both get wrk's load (two threads, as
bench/run.py sends it: after the first seconds, some orders are sent again) at once, so whatever
else the machine does slows both alike: on a shared machine, whose speed moves by a fifth from one
run of bench/run.py to the next, a difference of a few per cent in CPU per order still shows. Each
round prints, per checkout, the orders stored and the CPU microseconds per order of its HTTP
process, its processing worker and its database's PostgreSQL backends; the rounds alternate which
checkout starts first. Latencies are not comparable to bench/run.py's: two servers share the cores.
"""

import argparse
import asyncio
import base64
import json
import os
import subprocess
import time
from pathlib import Path

import asyncpg

HERE = Path(__file__).parent
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
_TICK = os.sysconf("SC_CLK_TCK")
_PATH = "/v4/organisations/BENCH/customer_order"


async def _pg(sql: str, database: str = "postgres") -> int | None:
    conn = await asyncpg.connect(f"{PG}/{database}")
    try:
        value = await conn.fetchval(sql)
        return int(value) if value is not None else None
    finally:
        await conn.close()


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One checkout's `serve` on a database of its own."""

    def __init__(self, checkout: Path, index: int) -> None:
        self.name = str(checkout)
        self.database = f"order_intake_paired_{os.getpid()}_{index}"
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        asyncio.run(_pg(f'CREATE DATABASE "{self.database}"'))
        env = {**os.environ, "DATABASE_URL": f"{PG}/{self.database}", "LOG_LEVEL": "warning"}
        binary = str(checkout / ".venv" / "bin" / "order-intake")

        def cli(*argv: str) -> str:
            return subprocess.run([binary, *argv], env=env, capture_output=True, text=True, check=True).stdout

        cli("org", "add", "BENCH", "--name", "Bench")
        cli("org", "enable", "BENCH")
        key = json.loads(cli("key", "create", "--trkref", "BENCH", "--rate", "0", "--json"))
        self.auth = base64.b64encode(f"{key['username']}:{key['password']}".encode()).decode()
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [binary, "serve", "--port", str(self.port)],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def load(self, seconds: int, connections: int) -> subprocess.Popen[str]:
        """Start wrk posting the benchmark's order (not waited for)."""
        env = {
            **os.environ,
            "BENCH_PATH": _PATH,
            "BENCH_AUTH": self.auth,
            "BENCH_BODY_FILE": str(HERE / "order.json"),
            "BENCH_REFS": "100000",
        }
        script = str(HERE / "post_order.lua")
        command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "-s", script]
        return subprocess.Popen(
            [*command, f"http://127.0.0.1:{self.port}"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )

    def stored(self) -> int:
        """Submissions stored so far."""
        return asyncio.run(_pg("SELECT count(*) FROM submissions", self.database)) or 0

    def cpu_seconds(self) -> tuple[float, float, float]:
        """CPU seconds so far: the HTTP process, the processing worker, this database's PostgreSQL backends."""
        http = processing = database = 0.0
        marker = f" {self.database} ".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:  # the process ended meanwhile
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            seconds = (int(fields[11]) + int(fields[12])) / _TICK
            if int(fields[2]) == self.proc.pid:
                if b"worker" in command.split(b"\0"):
                    processing += seconds
                else:
                    http += seconds
            elif command.startswith(b"postgres:") and marker in command:
                database += seconds
        return http, processing, database

    def stop(self) -> None:
        """Stop the server and drop its database."""
        self.proc.terminate()
        self.proc.wait(30)
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))


def _round(servers: list[Server], seconds: int, connections: int) -> None:
    before = [(s.cpu_seconds(), s.stored()) for s in servers]
    for wrk in [s.load(seconds, connections) for s in servers]:
        wrk.wait()
    time.sleep(3)  # processing catches up with what was accepted last
    for server, (cpu_before, stored_before) in zip(servers, before, strict=True):
        orders = server.stored() - stored_before
        used = [after - first for after, first in zip(server.cpu_seconds(), cpu_before, strict=True)]
        http, processing, database = (1e6 * u / max(orders, 1) for u in used)
        print(
            f"{server.name}: {orders} orders; CPU µs/order: HTTP {http:.0f}, processing {processing:.0f}, "
            f"PostgreSQL {database:.0f}, all {http + processing + database:.0f}",
            flush=True,
        )


def main() -> None:
    """Start both checkouts, warm them up, then run the rounds."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkouts", nargs=2, type=Path)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32, help="per checkout")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    servers = [Server(checkout.resolve(), i) for i, checkout in enumerate(args.checkouts)]
    try:
        time.sleep(5)  # both started
        for wrk in [s.load(2, 16) for s in servers]:
            wrk.wait()
        for i in range(args.rounds):
            print(f"round {i + 1}", flush=True)
            _round(servers if i % 2 == 0 else servers[::-1], args.duration, args.connections)
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    main()
