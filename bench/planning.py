"""Processing's own Python work for one batch, in-process, without a database: microseconds per submission.

    .venv/bin/python bench/planning.py [--batch 1000] [--repeat 30] [--body bench/order.json]

Times what the processing worker computes between its statements: merging the claimed submissions
into canonical orders (`processing.plan`: decoding, merging, encoding the documents and events) and
planning their invitations (`InvitationPlanning.targets` and `assemble`), for a batch of new orders
(each its own customer) and for the same orders submitted again. Prints the best of `--repeat`
rounds, which varies far less than a whole drain (bench/statements.py) on a busy machine.
"""

import argparse
import datetime as dt
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import msgspec

from order_intake.domain.jsonbody import parse_body
from order_intake.domain.validation import validate_order
from order_intake.service.invitations import InvitationPlanning
from order_intake.service.processing import plan
from order_intake.service.processing_records import Claimed, OrderKey, StoredCanonical

_ENCODE = msgspec.json.Encoder(decimal_format="number").encode


def _claimed(body: bytes, count: int, now: dt.datetime) -> list[Claimed]:
    today = now.strftime("%d-%m-%Y")
    out = []
    for i in range(count):
        ref = f"BENCH-{i:09d}"
        text = body.replace(b"BENCH-000123456", ref.encode()).replace(b'"TODAY"', f'"{today}"'.encode())
        order = validate_order(parse_body(text), trkref="BENCH").order  # type: ignore[union-attr]
        out.append(Claimed(uuid.uuid4(), 1, "BENCH", ref, now, _ENCODE(order), sandbox=False))
    return out


def _best_us(work: Callable[[], object], repeat: int, per: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best / per * 1e6


def main() -> None:
    """Print one line per stage."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--body", type=Path, default=Path(__file__).parent / "order.json")
    args = parser.parse_args()
    now = dt.datetime.now(dt.UTC)
    claimed = _claimed(args.body.read_bytes(), args.batch, now)
    planning = InvitationPlanning(b"k" * 32)
    first = plan(claimed, {}, now=now)
    stored: dict[OrderKey, StoredCanonical] = {(c.organisation_id, c.order_ref): c for c in first.canonicals}
    later = now + dt.timedelta(seconds=1)
    again = [msgspec.structs.replace(c, id=uuid.uuid4(), received_at=later) for c in claimed]
    targets = planning.targets(first.canonicals, claimed, now)
    existing = planning.assemble(targets=targets, existing=(), customer_rows=(), policies={}, suppressions={}, now=now)

    def invite(*, sent_again: bool) -> None:
        fresh = planning.targets(first.canonicals, claimed, now)
        before = existing if sent_again else ()
        planning.assemble(targets=fresh, existing=before, customer_rows=before, policies={}, suppressions={}, now=now)

    stages = [
        ("plan: new orders", _best_us(lambda: plan(claimed, {}, now=now), args.repeat, args.batch)),
        ("plan: orders sent again", _best_us(lambda: plan(again, stored, now=later), args.repeat, args.batch)),
        ("invitations: new orders", _best_us(lambda: invite(sent_again=False), args.repeat, args.batch)),
        ("invitations: orders sent again", _best_us(lambda: invite(sent_again=True), args.repeat, args.batch)),
    ]
    print(f"{args.body.name}, batches of {args.batch}, best of {args.repeat}\n")
    print("| stage | µs per submission |\n|---|---|")
    for stage, micros in stages:
        print(f"| {stage} | {micros:.1f} |")


if __name__ == "__main__":
    main()
