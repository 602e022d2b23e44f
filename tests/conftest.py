"""Shared fixtures: a real database of each backend, tenants made with the CLI, a real server."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.cli import Credentials, cli_ok, create_key
from tests.support.compiled import stale_builds
from tests.support.databases import database
from tests.support.server import Server

BACKENDS = ["sqlite", "postgres"]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse to test an old build: Python imports a compiled module before the source edited since."""
    del session
    stale = stale_builds()
    if stale:
        listed = ", ".join(stale)
        raise pytest.UsageError(f"compiled builds that are not of the current source (run scripts/setup): {listed}")


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test that uses the database runs once per backend."""
    return str(request.param)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for this run's SQLite files and server logs."""
    return tmp_path_factory.mktemp("run")


@pytest.fixture(scope="session")
def db_url(backend: str, run_dir: Path) -> Iterator[str]:
    """The run's database of the backend under test, dropped afterwards."""
    with database(backend, run_dir, "shared") as url:
        yield url


@dataclass(frozen=True)
class Tenants:
    """Organisations and keys made once per database through the CLI."""

    main: Credentials  # TRKREF123 (enabled) and DISABLED-ORG
    no_permission: Credentials  # TRKREF123, without the customer_order permission
    other: Credentials  # OTHER-ORG only
    revoked: Credentials  # TRKREF123, revoked


@pytest.fixture(scope="session")
def tenants(db_url: str) -> Tenants:
    """The standard organisations and keys."""
    cli_ok(db_url, "org", "add", "TRKREF123", "--name", "Acme Retail")
    cli_ok(db_url, "org", "enable", "TRKREF123")
    cli_ok(db_url, "org", "add", "DISABLED-ORG", "--name", "Feature Off Ltd")
    cli_ok(db_url, "org", "add", "OTHER-ORG", "--name", "Other Shop")
    cli_ok(db_url, "org", "enable", "OTHER-ORG")
    revoked = create_key(db_url, "--trkref", "TRKREF123")
    cli_ok(db_url, "key", "revoke", revoked.username)
    return Tenants(
        main=create_key(db_url, "--trkref", "TRKREF123", "--trkref", "DISABLED-ORG"),
        no_permission=create_key(db_url, "--trkref", "TRKREF123", "--no-customer-order"),
        other=create_key(db_url, "--trkref", "OTHER-ORG"),
        revoked=revoked,
    )


@pytest.fixture(scope="session")
def server(db_url: str, tenants: Tenants, run_dir: Path, backend: str) -> Iterator[Server]:
    """One real server per backend for the contract tests (auth cache off: changes show at once)."""
    del tenants  # made before the server starts
    srv = Server(db_url, run_dir / f"server-{backend}.log", ORDER_INTAKE_AUTH_CACHE_SECONDS="0").start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    """An HTTP client of the shared server, over a real socket."""
    with httpx.Client(base_url=server.base_url, timeout=10) as c:
        yield c
