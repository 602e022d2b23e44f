"""The personal-data commands: `order-intake erase`, `order-intake purge` and `order-intake audit list`."""

import datetime as dt

import click
import msgspec
import sqlalchemy as sa

from order_intake.adapters.sql import audit, erasure, retention
from order_intake.domain.access import is_valid_trkref
from order_intake.entrypoints.cli_base import fail
from order_intake.entrypoints.cli_support import actor, audited, in_admin_transaction, in_admin_transactions, now
from order_intake.service.ports import IDEMPOTENCY_WINDOW


@click.command()
@click.option("--trkref", required=True, help="The organisation whose customer asks.")
@click.option("--email", required=True, help="The customer's email (compared without regard to case).")
def erase(trkref: str, email: str) -> None:
    """Erase a customer's data at one organisation, in one transaction; the audit row keeps counts only."""
    if not email.strip() or "\0" in email:
        fail("--email must be an address")
    if not is_valid_trkref(trkref):
        fail(f"unknown trkref {trkref!r}")
    erased = audited(
        "data.erase",
        trkref,
        lambda conn: erasure.erase_customer(conn, trkref=trkref, email=email),
        details=msgspec.structs.asdict,
    )
    click.echo(
        f"erased at {trkref}: {erased.submissions} submissions, {erased.canonical_orders} canonical orders, "
        f"{erased.outbox_events} events deleted; {erased.answers_scrubbed} stored answers scrubbed, "
        f"{erased.idempotency_records_removed} idempotency records removed, "
        f"{erased.submissions_requeued} other submissions requeued; {erased.invitations} invitations and "
        f"{erased.reviews} reviews deleted, {erased.suppressions_kept_as_hash} suppressions kept as a hash only"
    )


@click.command()
@click.option("--older-than", "days", type=click.IntRange(0, 36_500), required=True, metavar="DAYS")
def purge(days: int) -> None:
    """Delete submissions received more than DAYS days ago, and what only they kept; in chunks of 500."""
    started = now()
    cutoff = started - dt.timedelta(days=days)
    idempotency_before = max(cutoff, started - IDEMPOTENCY_WINDOW)
    who = actor()
    totals = retention.Purged()
    sweep = retention.Sweep()
    entry: int | None = None

    def one_chunk(conn: sa.Connection) -> retention.Purged:
        # Each chunk commits with the audit row brought up to date, so the row matches what is gone.
        nonlocal totals, entry
        done = retention.purge_chunk(conn, cutoff=cutoff, idempotency_before=idempotency_before, sweep=sweep)
        details = {"older_than_days": days, **msgspec.structs.asdict(totals + done)}
        if entry is None:
            target = f"received before {cutoff.isoformat(timespec='seconds')}"
            entry = audit.record(conn, at=now(), actor=who, action="data.purge", target=target, details=details)
        else:
            audit.update_details(conn, entry, details)
        totals += done
        return done

    in_admin_transactions(one_chunk, again=bool)
    click.echo(
        f"purged before {cutoff.isoformat(timespec='seconds')}: {totals.submissions} submissions, "
        f"{totals.batches} batches, {totals.idempotency_records} idempotency records, "
        f"{totals.canonical_orders} canonical orders, {totals.outbox_events} events, {totals.invitations} invitations"
    )


@click.group("audit")
def audit_group() -> None:
    """The audit log: changes to organisations, keys and data."""


@audit_group.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the latest N rows.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def audit_list(limit: int | None, *, as_json: bool) -> None:
    """List audit rows, oldest first: when, who, action, target, details."""
    for entry in in_admin_transaction(lambda conn: audit.list_entries(conn, limit=limit)):
        if as_json:
            click.echo(msgspec.json.encode(entry).decode())
        else:
            details = msgspec.json.encode(entry.details).decode()
            at = entry.at.isoformat(timespec="seconds")
            click.echo(f"{at}\t{entry.actor}\t{entry.action}\t{entry.target}\t{details}")
