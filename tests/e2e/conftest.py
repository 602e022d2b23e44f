"""Fixtures of the end-to-end tests that need a server of their own, apart from the shared one."""

import pytest

from tests.support.cli import Credentials, cli_ok, create_key


@pytest.fixture(scope="module")
def sqlite_tenant(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Credentials]:
    """A SQLite database with TRKREF123 enabled and a key for it, for properties the database has no part in."""
    url = f"sqlite:///{tmp_path_factory.mktemp('own') / 'own.db'}"
    cli_ok(url, "org", "add", "TRKREF123", "--name", "Acme Retail")
    cli_ok(url, "org", "enable", "TRKREF123")
    return url, create_key(url, "--trkref", "TRKREF123")
