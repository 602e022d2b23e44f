"""Benchmark: one 10,000-order batch (~10 MB), answered time and the server's peak RSS, on both databases.

.venv/bin/python bench/batch.py [--orders 10000] [--repeat 3] [--only sqlite,postgres]
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from run import PG, _free_port, _pg, _stop, _wait_ready, make_tenant, start_server

HERE = Path(__file__).parent


def _peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of the worker processes in the server's process group."""
    peaks = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getpgid(int(proc.name)) != pid:
                continue
            status = (proc / "status").read_text()
        except (OSError, ProcessLookupError):
            continue
        peaks += [int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")]
    return max(peaks, default=0) / 1024


def main() -> None:
    """Post the batch a few times on each backend; print seconds per batch and orders/s."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="sqlite,postgres")
    args = parser.parse_args()
    order = json.loads((HERE / "order.json").read_text())
    body = json.dumps([{**order, "order_ref": f"B-{i}"} for i in range(args.orders)]).encode()
    print(f"batch of {args.orders} orders, {len(body) / 1e6:.1f} MB\n")
    print("| database | best s | mean s | orders/s (best) | peak RSS MB | answers |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.only.split(","):
            name = f"order_intake_bench_batch_{os.getpid()}"
            if backend == "postgres":
                asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
                url = f"{PG}/{name}"
            else:
                url = f"sqlite:///{Path(tmp) / 'batch.db'}"
            env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
            key = make_tenant(env)
            port = _free_port()
            proc = start_server(env, port, 1)
            try:
                _wait_ready(f"http://127.0.0.1:{port}/health", proc)
                times, statuses = [], []
                with httpx.Client(timeout=120, auth=key) as client:
                    for _ in range(args.repeat):
                        started = time.perf_counter()
                        answer = client.post(f"http://127.0.0.1:{port}/v4/customer_orders", content=body)
                        times.append(time.perf_counter() - started)
                        statuses.append(answer.status_code)
                peak = _peak_rss_mb(proc.pid)
            finally:
                _stop(proc)
                if backend == "postgres":
                    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            best = min(times)
            print(
                f"| {backend} | {best:.2f} | {sum(times) / len(times):.2f} | {args.orders / best:,.0f} | "
                f"{peak:.0f} | {', '.join(map(str, statuses))} |"
            )


if __name__ == "__main__":
    main()
