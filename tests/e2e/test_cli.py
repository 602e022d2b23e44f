"""The operators' command line: organisations, keys, the schema, and its one-line errors."""

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.cli import cli_ok, create_key, run_cli
from tests.support.databases import database
from tests.support.inspect_db import count_rows
from tests.support.polling import wait_until
from tests.support.server import Server

BIN = Path(sys.executable).with_name("order-intake")


@pytest.fixture
def fresh_db(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the backend under test (the commands migrate it themselves)."""
    with database(backend, tmp_path, "cli") as url:
        yield url


def _fails_with_one_line(url: str, *args: str, mentioning: str) -> None:
    result = run_cli(url, *args)
    assert result.exit_code != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert mentioning in lines[0]


def test_org_add_enable_disable_and_list(fresh_db: str) -> None:
    """A new organisation starts disabled; enable and disable show in `org list`, sorted by trkref."""
    assert "disabled" in cli_ok(fresh_db, "org", "add", "ZED-SHOP", "--name", "Zed Shop")
    cli_ok(fresh_db, "org", "add", "ACME-1", "--name", "Acme One")
    assert "enabled" in cli_ok(fresh_db, "org", "enable", "ZED-SHOP")
    assert cli_ok(fresh_db, "org", "list").splitlines() == ["ACME-1\tdisabled\tAcme One", "ZED-SHOP\tenabled\tZed Shop"]
    cli_ok(fresh_db, "org", "disable", "ZED-SHOP")
    listed = [json.loads(line) for line in cli_ok(fresh_db, "org", "list", "--json").splitlines()]
    assert [(o["trkref"], o["customer_order_enabled"]) for o in listed] == [("ACME-1", False), ("ZED-SHOP", False)]


def test_org_add_refuses_a_malformed_trkref_and_a_duplicate(fresh_db: str) -> None:
    """Only A-Z, 0-9 and '-' up to 64 characters; a trkref already taken is refused; one line each."""
    for bad in ("lower", "WITH SPACE", "UNDER_SCORE", "X" * 65, ""):
        _fails_with_one_line(fresh_db, "org", "add", bad, "--name", "x", mentioning="invalid trkref")
    cli_ok(fresh_db, "org", "add", "TAKEN", "--name", "First")
    _fails_with_one_line(fresh_db, "org", "add", "TAKEN", "--name", "Second", mentioning="exists already")


def test_commands_on_an_unknown_trkref_or_key_fail_with_one_line(fresh_db: str) -> None:
    """enable, disable, key create and key list name the unknown trkref; key revoke the unknown key."""
    for args in (
        ("org", "enable", "NOPE"),
        ("org", "disable", "NOPE"),
        ("key", "create", "--trkref", "NOPE"),
        ("key", "list", "--trkref", "NOPE"),
    ):
        _fails_with_one_line(fresh_db, *args, mentioning="unknown trkref 'NOPE'")
    _fails_with_one_line(fresh_db, "key", "revoke", "key_nope", mentioning="unknown key 'key_nope'")


def test_key_create_prints_the_secret_once_and_stores_only_its_hash(fresh_db: str) -> None:
    """--json prints exactly username and password; the password is nowhere in the database or in `key list`."""
    cli_ok(fresh_db, "org", "add", "SHOP", "--name", "Shop")
    made = create_key(fresh_db, "--trkref", "SHOP")
    assert made.username.startswith("key_")
    assert len(made.password) >= 43  # 32 random bytes, URL-safe base64
    assert count_rows(fresh_db, "SELECT count(*) FROM api_keys WHERE username = ?", made.username) == 1
    stored = count_rows(
        fresh_db,
        "SELECT count(*) FROM api_keys WHERE secret_hash = ? OR secret_salt = ?",
        made.password.encode(),
        made.password.encode(),
    )
    assert stored == 0
    listing = cli_ok(fresh_db, "key", "list") + cli_ok(fresh_db, "key", "list", "--json")
    assert made.username in listing
    assert made.password not in listing


def test_key_list_shows_links_permission_and_revocation(fresh_db: str) -> None:
    """Each key with its organisations, its permission and whether it is revoked; --trkref filters."""
    cli_ok(fresh_db, "org", "add", "ONE", "--name", "One")
    cli_ok(fresh_db, "org", "add", "TWO", "--name", "Two")
    both = create_key(fresh_db, "--trkref", "ONE", "--trkref", "TWO")
    reader = create_key(fresh_db, "--trkref", "TWO", "--no-customer-order")
    assert "revoked" in cli_ok(fresh_db, "key", "revoke", both.username)
    keys = {k["username"]: k for k in map(json.loads, cli_ok(fresh_db, "key", "list", "--json").splitlines())}
    assert keys[both.username]["trkrefs"] == ["ONE", "TWO"]
    assert keys[both.username]["revoked_at"] is not None
    assert keys[both.username]["customer_order"] is True
    assert keys[reader.username]["customer_order"] is False
    assert keys[reader.username]["revoked_at"] is None
    only_one = cli_ok(fresh_db, "key", "list", "--trkref", "ONE")
    assert both.username in only_one
    assert reader.username not in only_one


def test_a_sandbox_key_says_so_in_key_list(fresh_db: str) -> None:
    """A key made with --sandbox: its `key list` line holds the word sandbox, its JSON `"sandbox": true`."""
    cli_ok(fresh_db, "org", "add", "SHOP", "--name", "Shop")
    sandbox = create_key(fresh_db, "--trkref", "SHOP", "--sandbox")
    live = create_key(fresh_db, "--trkref", "SHOP")
    lines = {line.split("\t")[0]: line for line in cli_ok(fresh_db, "key", "list").splitlines()}
    assert lines[sandbox.username].split("\t")[-1] == "sandbox"
    assert "sandbox" not in lines[live.username]
    keys = {k["username"]: k for k in map(json.loads, cli_ok(fresh_db, "key", "list", "--json").splitlines())}
    assert (keys[sandbox.username]["sandbox"], keys[live.username]["sandbox"]) == (True, False)
    audited = json.loads(cli_ok(fresh_db, "audit", "list", "--json", "--limit", "2").splitlines()[0])
    assert (audited["action"], audited["target"], audited["details"]["sandbox"]) == (
        "key.create",
        sandbox.username,
        True,
    )


def test_db_upgrade_migrates_an_empty_database_and_is_idempotent(fresh_db: str) -> None:
    """`db upgrade` twice: both succeed, and the tables exist."""
    assert "current" in cli_ok(fresh_db, "db", "upgrade")
    assert "current" in cli_ok(fresh_db, "db", "upgrade")
    assert count_rows(fresh_db, "SELECT count(*) FROM submissions") == 0


@pytest.mark.parametrize(
    ("url", "mentioning"),
    [
        ("mysql://localhost/x", "DATABASE_URL must start with sqlite:/// or postgresql://"),
        ("sqlite://", "DATABASE_URL must name a SQLite file"),
        ("postgresql://postgres@127.0.0.1:1/nothing", "cannot reach the database"),
        ("postgresql://postgres@127.0.0.1:99999/x", "DATABASE_URL has a port that is not one"),
        ("postgresql://postgres@127.0.0.1:abc/x", "DATABASE_URL has a port that is not one"),
        ("sqlite:////no/such/folder/x.db", "no folder /no/such/folder for the SQLite database"),
        (
            "postgresql://postgres@127.0.0.1:5432/order_intake_no_such_db",
            'cannot reach the database: database "order_intake_no_such_db" does not exist',
        ),
    ],
)
def test_a_bad_database_url_fails_with_one_line(url: str, mentioning: str) -> None:
    """An unusable DATABASE_URL: one clear line on stderr, a non-zero exit, no traceback."""
    _fails_with_one_line(url, "org", "list", mentioning=mentioning)


@pytest.mark.parametrize("command", [("db", "upgrade"), ("serve",), ("worker",)])
def test_a_file_that_is_no_sqlite_database_fails_with_one_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    """DATABASE_URL names a file that is not a database: one line, exit 1, for the server too."""
    path = tmp_path / "not-a-database.db"
    path.write_bytes(b"these bytes are no SQLite header, and there are enough of them" * 100)
    _fails_with_one_line(f"sqlite:///{path}", *command, mentioning="cannot reach the database: file is not a database")


def test_org_add_refuses_a_name_that_is_empty_too_long_or_not_one_line(fresh_db: str) -> None:
    """An organisation's name is shown in e-mails and on pages, and `org list` prints one line for each."""
    for bad in ("", "   ", "x" * 201, "Two\nLines", "Tab\there", "Line\u2028Separator"):
        _fails_with_one_line(fresh_db, "org", "add", "NAMED", "--name", bad, mentioning="invalid name")
    assert cli_ok(fresh_db, "org", "list") == ""
    cli_ok(fresh_db, "org", "add", "NAMED", "--name", "Caf\u00e9\u00a0Nord")  # a no-break space is a name's
    assert cli_ok(fresh_db, "org", "list") == "NAMED\tdisabled\tCaf\u00e9\u00a0Nord\n"


def test_a_database_a_newer_version_made_is_refused_with_one_line(tmp_path: Path) -> None:
    """A schema revision this version does not know (after rolling back the software): no traceback, no change."""
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    cli_ok(url, "db", "upgrade")
    with sqlite3.connect(tmp_path / "newer.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    for command in (("db", "upgrade"), ("org", "list"), ("serve", "--port", "0")):
        _fails_with_one_line(url, *command, mentioning="schema is at revision 9999, which this version")


def test_serve_refuses_a_port_another_server_listens_on(server: Server, tmp_path: Path) -> None:
    """Granian shares its port between processes (SO_REUSEPORT): a second server would take half the requests."""
    url = f"sqlite:///{tmp_path / 'second.db'}"
    _fails_with_one_line(
        url, "serve", "--port", str(server.port), mentioning=f"port {server.port} on 127.0.0.1 is in use"
    )
    _fails_with_one_line(
        url, "serve", "--host", "no-such-host.invalid", mentioning="cannot serve on 'no-such-host.invalid'"
    )
    assert not (tmp_path / "second.db").exists()


def test_serve_on_port_0_listens_on_a_free_port_and_says_which(tmp_path: Path) -> None:
    """--port 0: the kernel picks a port, the log names it, and the server answers there."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'zero.db'}", "ORDER_INTAKE_SERVE_WORKER": "0"}
    log = tmp_path / "zero.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(BIN), "serve", "--port", "0"], env=env, stdout=out, stderr=out)
    try:
        found = wait_until(
            lambda: re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", log.read_text()),
            deadline=time.monotonic() + 60,
        )
        assert found is not None, log.read_text()
        port = int(found.group(1))
        assert port != 0
        answer = wait_until(lambda: _health(port), deadline=time.monotonic() + 60)
        assert answer == 200, log.read_text()
    finally:
        process.terminate()
        assert process.wait(30) == 0, log.read_text()


def _health(port: int) -> int | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code
    except httpx.TransportError:
        return None


def test_the_installed_command_runs_as_a_real_process(tmp_path: Path) -> None:
    """`order-intake` from the package's console script: org add and list through a real process."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'script.db'}", "PATH": ""}
    added = subprocess.run(
        [str(BIN), "org", "add", "SCRIPT", "--name", "Script"], env=env, capture_output=True, text=True, check=False
    )
    assert added.returncode == 0, added.stderr
    listed = subprocess.run([str(BIN), "org", "list"], env=env, capture_output=True, text=True, check=False)
    assert listed.stdout == "SCRIPT\tdisabled\tScript\n"
    failed = subprocess.run([str(BIN), "org", "enable", "NOPE"], env=env, capture_output=True, text=True, check=False)
    assert (failed.returncode, failed.stderr) == (1, "order-intake: unknown trkref 'NOPE'\n")
