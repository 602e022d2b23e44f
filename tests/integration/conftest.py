"""A migrated database per module with one organisation and key; scenarios run on the real store."""

import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from order_intake.adapters.backend import backend_for
from order_intake.adapters.database_url import parse_database_url
from order_intake.adapters.sql import admin
from order_intake.adapters.sql.migrate import upgrade
from order_intake.config import Settings
from order_intake.service.ports import Store
from tests.support.databases import database
from tests.support.opened import run_opened

T = TypeVar("T")
# Runs a scenario on the opened store; returns what the scenario returned.
OnStore = Callable[[Callable[[Store], Awaitable[Any]]], Any]


@pytest.fixture(scope="module")
def store_url(backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, migrated database for this module, with organisation ORG-A and key `key_a`."""
    label = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    with database(backend, tmp_path_factory.mktemp("store"), label) as url:
        parsed = parse_database_url(url)
        upgrade(parsed)
        now = dt.datetime.now(dt.UTC)

        def seed(conn: sa.Connection) -> None:
            admin.add_organisation(conn, "ORG-A", "Org A", now)
            admin.add_key(
                conn,
                username="key_a",
                secret_salt=b"s",
                secret_hash=b"h",
                trkrefs=["ORG-A"],
                customer_order=True,
                now=now,
            )

        admin.run_repeatedly(parsed, seed, again=lambda _: False)
        yield url


@pytest.fixture
def on_store(store_url: str) -> Callable[[Callable[[Store], Awaitable[T]]], T]:
    """Run a scenario on the opened store of the backend under test; returns what it returned."""

    def run(scenario: Callable[[Store], Awaitable[T]]) -> T:
        store = backend_for(parse_database_url(store_url)).intake_store(Settings(database_url=store_url))
        return run_opened(store, scenario)

    return run
