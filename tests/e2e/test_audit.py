"""The audit log: every admin change writes one row (who, what, when) in its own transaction; never a secret."""

import datetime as dt
import getpass
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from order_intake.entrypoints.cli import main
from tests.support.databases import database
from tests.support.inspect_db import count_rows
from tests.support.privacy_db import columns_holding


@pytest.fixture
def fresh_db(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the backend under test (the commands migrate it themselves)."""
    with database(backend, tmp_path, "audit") as url:
        yield url


def run_as(url: str, actor: str | None, *args: str) -> Result:
    """One command with ORDER_INTAKE_ACTOR set to `actor` (None: unset)."""
    env = {"DATABASE_URL": url, "ORDER_INTAKE_ACTOR": actor}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def ok_as(url: str, actor: str | None, *args: str) -> str:
    """A command that must succeed; its stdout."""
    result = run_as(url, actor, *args)
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result.stdout


def audit_rows(url: str) -> list[dict[str, Any]]:
    """`audit list --json`, parsed."""
    return [json.loads(line) for line in ok_as(url, "reader", "audit", "list", "--json").splitlines()]


def test_each_admin_change_writes_one_row_naming_who_what_and_when(fresh_db: str) -> None:
    """Each of org add/enable/disable, key create/limit/revoke, erase and purge writes one row, in order, no secret."""
    before = dt.datetime.now(dt.UTC)
    ok_as(fresh_db, "alice", "org", "add", "SHOP", "--name", "Shop Ltd")
    ok_as(fresh_db, "alice", "org", "enable", "SHOP")
    ok_as(fresh_db, "alice", "org", "disable", "SHOP")
    made = json.loads(
        ok_as(fresh_db, "bob", "key", "create", "--trkref", "SHOP", "--rate", "5", "--burst", "10", "--json")
    )
    ok_as(fresh_db, "bob", "key", "limit", made["username"], "--rate", "7")
    ok_as(fresh_db, "bob", "key", "revoke", made["username"])
    ok_as(fresh_db, "carol", "erase", "--trkref", "SHOP", "--email", "someone@example.com")
    ok_as(fresh_db, "carol", "purge", "--older-than", "30")
    after = dt.datetime.now(dt.UTC)

    rows = audit_rows(fresh_db)

    no_data = dict.fromkeys(["submissions", "canonical_orders", "outbox_events", "answers_scrubbed"], 0)
    no_data |= {"idempotency_records_removed": 0, "submissions_requeued": 0, "invitations": 0, "reviews": 0}
    no_data |= {"suppressions_kept_as_hash": 0}
    purged = dict.fromkeys(["submissions", "batches", "idempotency_records", "canonical_orders", "outbox_events"], 0)
    purged["invitations"] = 0
    assert [(r["actor"], r["action"], r["target"], r["details"]) for r in rows[:-1]] == [
        ("alice", "org.add", "SHOP", {"name": "Shop Ltd"}),
        ("alice", "org.enable", "SHOP", {}),
        ("alice", "org.disable", "SHOP", {}),
        (
            "bob",
            "key.create",
            made["username"],
            {"trkrefs": ["SHOP"], "customer_order": True, "rate": 5.0, "burst": 10, "sandbox": False},
        ),
        ("bob", "key.limit", made["username"], {"rate": 7.0, "burst": 10}),
        ("bob", "key.revoke", made["username"], {}),
        ("carol", "data.erase", "SHOP", no_data),
    ]
    assert (rows[-1]["actor"], rows[-1]["action"], rows[-1]["details"]) == (
        "carol",
        "data.purge",
        {"older_than_days": 30, **purged},
    )
    assert rows[-1]["target"].startswith("received before ")
    times = [dt.datetime.fromisoformat(r["at"]) for r in rows]
    assert before <= times[0]
    assert times == sorted(times)
    assert times[-1] <= after
    assert columns_holding(fresh_db, made["password"]) == []
    assert columns_holding(fresh_db, "someone@example.com") == []


def test_reading_commands_write_no_row(fresh_db: str) -> None:
    """Lists and the schema upgrade change nothing, so they are not audited."""
    ok_as(fresh_db, "alice", "org", "add", "SHOP", "--name", "Shop")
    for args in (("org", "list"), ("key", "list"), ("audit", "list"), ("db", "upgrade")):
        ok_as(fresh_db, "alice", *args)
    assert [r["action"] for r in audit_rows(fresh_db)] == ["org.add"]


def test_the_actor_is_the_os_user_unless_order_intake_actor_names_one(fresh_db: str) -> None:
    """Without ORDER_INTAKE_ACTOR the row names the login running the command; blank counts as unset."""
    ok_as(fresh_db, None, "org", "add", "SHOP", "--name", "Shop")
    ok_as(fresh_db, "   ", "org", "enable", "SHOP")
    ok_as(fresh_db, "ops-bot (ticket 42)", "org", "disable", "SHOP")
    assert [r["actor"] for r in audit_rows(fresh_db)] == [getpass.getuser(), getpass.getuser(), "ops-bot (ticket 42)"]


def test_a_refused_change_writes_no_row(fresh_db: str) -> None:
    """The row is written in the change's transaction: a change that fails leaves neither."""
    ok_as(fresh_db, "alice", "org", "add", "SHOP", "--name", "Shop")
    for args in (
        ("org", "add", "SHOP", "--name", "Again"),
        ("org", "enable", "NOPE"),
        ("key", "create", "--trkref", "SHOP", "--trkref", "NOPE"),
        ("key", "revoke", "key_nope"),
        ("key", "limit", "key_nope", "--rate", "1"),
        ("erase", "--trkref", "NOPE", "--email", "a@example.com"),
    ):
        assert run_as(fresh_db, "alice", *args).exit_code == 1
    assert count_rows(fresh_db, "SELECT count(*) FROM audit_log") == 1
    assert count_rows(fresh_db, "SELECT count(*) FROM api_keys") == 0


def test_audit_list_prints_tab_separated_lines_and_limit_keeps_the_latest(fresh_db: str) -> None:
    """Text: at, actor, action, target, details as JSON; --limit N shows the last N, oldest first."""
    for trkref in ("ONE", "TWO", "THREE"):
        ok_as(fresh_db, "alice", "org", "add", trkref, "--name", trkref.title())
    lines = ok_as(fresh_db, "alice", "audit", "list").splitlines()
    assert [line.split("\t")[1:] for line in lines] == [
        ["alice", "org.add", "ONE", '{"name":"One"}'],
        ["alice", "org.add", "TWO", '{"name":"Two"}'],
        ["alice", "org.add", "THREE", '{"name":"Three"}'],
    ]
    assert dt.datetime.fromisoformat(lines[0].split("\t")[0]).tzinfo is not None
    latest = ok_as(fresh_db, "alice", "audit", "list", "--limit", "2").splitlines()
    assert [line.split("\t")[3] for line in latest] == ["TWO", "THREE"]
