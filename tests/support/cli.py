"""The `order-intake` command, run in-process through click's runner (the same code as the script)."""

import json
from dataclasses import dataclass

from click.testing import CliRunner, Result

from order_intake.entrypoints.cli import main


def run_cli(database_url: str, *args: str) -> Result:
    """Run one command against this database; returns click's result (exit code, stdout, stderr)."""
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": database_url}, catch_exceptions=False)


def cli_ok(database_url: str, *args: str) -> str:
    """Run a command that must succeed; its stdout."""
    result = run_cli(database_url, *args)
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result.stdout


@dataclass(frozen=True)
class Credentials:
    """A key's Basic credentials."""

    username: str
    password: str

    @property
    def auth(self) -> tuple[str, str]:
        """For httpx's auth=."""
        return (self.username, self.password)


def create_key(database_url: str, *args: str) -> Credentials:
    """`key create ... --json`, parsed; unlimited (`--rate 0`) unless the arguments give a rate.

    The suite posts hundreds of orders a second with one key: only the rate-limit tests want a limit.
    """
    limit = () if "--rate" in args else ("--rate", "0")
    made = json.loads(cli_ok(database_url, "key", "create", *args, *limit, "--json"))
    return Credentials(made["username"], made["password"])


def enabled_tenant(database_url: str, trkref: str, name: str) -> Credentials:
    """An organisation added and enabled, and an unlimited key for it."""
    cli_ok(database_url, "org", "add", trkref, "--name", name)
    cli_ok(database_url, "org", "enable", trkref)
    return create_key(database_url, "--trkref", trkref)
