"""Whether a client that sends its whole body before it reads hears a refusal: Python's urllib, big bodies.

    .venv/bin/python bench/refusals.py [--backend sqlite|postgres] [--workers 1] [--times 30] [--sizes 1.1,4,20,64]

Starts `order-intake serve` (--workers HTTP processes and its processing worker, on the same cores), then posts
bodies of each size in MB with urllib, --times each, to the single endpoint and to the batch endpoint
(there a size under its 16 MiB limit is added to 16 MiB, so that each is refused 413), and a 4 MB body
with a wrong password to both. Prints how many times each answer was heard (an exception's name when
none was: urllib fails with BrokenPipeError or ConnectionResetError when the server closes while it
still sends).
"""

import argparse
import asyncio
import base64
import collections
import os
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from run import PG, _free_port, _pg, _stop, _wait_ready, make_tenant, start_server

MB = 1_000_000
BATCH_LIMIT = 16 * 1024 * 1024


def _post(url: str, body: bytes, authorization: str) -> str:
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 - http://127.0.0.1 only
    request.add_header("Authorization", authorization)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
            return str(answer.status)
    except urllib.error.HTTPError as refused:
        return str(refused.code)
    except (urllib.error.URLError, OSError) as failed:
        reason = getattr(failed, "reason", failed)
        return type(reason).__name__


def _tally(url: str, body: bytes, authorization: str, times: int) -> str:
    started = time.perf_counter()
    heard = collections.Counter(_post(url, body, authorization) for _ in range(times))
    each = (time.perf_counter() - started) / times
    return ", ".join(f"{outcome} x{count}" for outcome, count in heard.most_common()) + f" ({each * 1000:.0f} ms each)"


def main() -> None:
    """Serve, post, print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--times", type=int, default=30)
    parser.add_argument("--sizes", default="1.1,4,20,64", help="body sizes in MB (10^6 bytes)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        name = f"order_intake_refusals_{os.getpid()}"
        if args.backend == "postgres":
            asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
            url = f"{PG}/{name}"
        else:
            url = f"sqlite:///{Path(workdir) / 'refusals.db'}"
        env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
        username, password = make_tenant(env)
        good = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        bad = "Basic " + base64.b64encode(f"{username}:wrong".encode()).decode()
        port = _free_port()
        proc = start_server(env, port, args.workers)
        try:
            _wait_ready(f"http://127.0.0.1:{port}/health", proc)
            single = f"http://127.0.0.1:{port}/v4/organisations/BENCH/customer_order"
            batch = f"http://127.0.0.1:{port}/v4/customer_orders"
            for size in (float(text) for text in args.sizes.split(",")):
                body = b"x" * int(size * MB)
                print(f"single {size:g} MB: {_tally(single, body, good, args.times)}", flush=True)
                big = body if len(body) > BATCH_LIMIT else b"x" * (BATCH_LIMIT + len(body))
                print(f"batch {len(big) / MB:g} MB: {_tally(batch, big, good, args.times)}", flush=True)
            body = b"x" * (4 * MB)
            print(f"single 4 MB, wrong password: {_tally(single, body, bad, args.times)}", flush=True)
            print(f"batch 4 MB, wrong password: {_tally(batch, body, bad, args.times)}", flush=True)
        finally:
            _stop(proc)
            if args.backend == "postgres":
                asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
