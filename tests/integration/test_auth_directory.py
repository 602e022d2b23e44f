"""The Authenticator's directory of keys on real PostgreSQL and SQLite: one query per ttl, known or unknown."""

import asyncio
import base64
import datetime as dt

import sqlalchemy as sa

from order_intake.adapters.database_url import parse_database_url
from order_intake.adapters.sql import admin
from order_intake.domain.credentials import hash_secret, new_salt, new_secret
from order_intake.errors import StoreUnavailable
from order_intake.service.auth import Authenticator
from order_intake.service.ports import Store
from order_intake.service.records import ApiKey
from tests.integration.conftest import OnStore

SECRET = new_secret()


class CountedStore:
    """The real store, with its key queries counted and, when told, failing as a database that is down."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.loads = 0
        self.look_ups = 0
        self.down = False
        self.gate = asyncio.Event()  # a load waits for it: cleared, loads hang until it is set again
        self.gate.set()

    async def all_keys(self) -> list[ApiKey]:
        """The real store's, counted."""
        self.loads += 1
        await asyncio.sleep(0.01)  # long enough for requests arriving together to find the load under way
        await self.gate.wait()
        if self.down:
            raise StoreUnavailable("down")
        return await self._store.all_keys()

    async def find_key(self, username: str) -> ApiKey | None:
        """The real store's, counted."""
        self.look_ups += 1
        return await self._store.find_key(username)


class Clock:
    """Seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        """The current instant."""
        return self.now


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _add_key(store_url: str, username: str) -> None:
    salt, now = new_salt(), dt.datetime.now(dt.UTC)

    def add(conn: sa.Connection) -> None:
        secret_hash = hash_secret(SECRET, salt)
        admin.add_key(
            conn,
            username=username,
            secret_salt=salt,
            secret_hash=secret_hash,
            trkrefs=["ORG-A"],
            customer_order=True,
            now=now,
        )

    admin.run_repeatedly(parse_database_url(store_url), add, again=lambda _: False)


def _revoke(store_url: str, username: str) -> None:
    admin.run_repeatedly(
        parse_database_url(store_url),
        lambda conn: admin.revoke_key(conn, username, dt.datetime.now(dt.UTC)),
        again=lambda _: False,
    )


def test_concurrent_requests_share_one_load_and_then_no_username_costs_a_query(
    store_url: str, on_store: OnStore
) -> None:
    """Fifty requests at once on a cold directory: one query; then known, unknown and wrong secrets: none."""
    _add_key(store_url, "key_shared")

    async def scenario(real: Store) -> None:
        store = CountedStore(real)
        auth = Authenticator(store, ttl=2, clock=Clock())  # type: ignore[arg-type]
        headers = [_basic("key_shared", SECRET), _basic("key_0000000000000000", SECRET)] * 25
        found = await asyncio.gather(*(auth.authenticate(header) for header in headers))
        assert [key.username if key else None for key in found] == ["key_shared", None] * 25
        for header in (_basic("key_shared", "wrong"), _basic("key_1111111111111111", "x"), headers[0]):
            await auth.authenticate(header)
        assert (store.loads, store.look_ups) == (1, 0)

    on_store(scenario)


def test_a_revoked_key_is_refused_once_the_directory_is_older_than_the_ttl(store_url: str, on_store: OnStore) -> None:
    """Within the ttl the loaded directory answers (the passed header too); past it, the next request loads again."""
    _add_key(store_url, "key_revoked_later")
    header = _basic("key_revoked_later", SECRET)

    async def scenario(real: Store) -> None:
        store, clock = CountedStore(real), Clock()
        auth = Authenticator(store, ttl=2, clock=clock)  # type: ignore[arg-type]
        assert await auth.authenticate(header) is not None
        await asyncio.to_thread(_revoke, store_url, "key_revoked_later")  # admin runs its own event loop
        clock.now += 1.9
        assert await auth.authenticate(header) is not None
        clock.now += 0.1
        assert await auth.authenticate(header) is None
        assert store.loads == 2

    on_store(scenario)


def test_late_in_its_ttl_a_request_starts_the_next_load_without_waiting_for_it(
    store_url: str, on_store: OnStore
) -> None:
    """Past three quarters of the ttl the directory still answers while the next one loads; then a new key is known."""
    header = _basic("key_made_later", SECRET)

    async def scenario(real: Store) -> None:
        store, clock = CountedStore(real), Clock()
        auth = Authenticator(store, ttl=2, clock=clock)  # type: ignore[arg-type]
        assert await auth.authenticate(_basic("key_a", SECRET)) is None  # the first load, waited for
        await asyncio.to_thread(_add_key, store_url, "key_made_later")  # admin runs its own event loop
        clock.now += 1.6
        store.gate.clear()
        assert (
            await asyncio.wait_for(auth.authenticate(header), timeout=5) is None
        )  # answered with the loading one held
        store.gate.set()
        for _ in range(500):
            if await auth.authenticate(header) is not None:
                break
            await asyncio.sleep(0.01)
        assert (store.loads, await auth.authenticate(header) is not None) == (2, True)

    on_store(scenario)


def test_a_failed_load_keeps_the_directory_there_was_and_without_one_is_the_requests_failure(
    store_url: str, on_store: OnStore
) -> None:
    """Database down: with no directory yet, StoreUnavailable (a 503); with one, its keys still answer."""
    _add_key(store_url, "key_kept")
    header = _basic("key_kept", SECRET)

    async def scenario(real: Store) -> None:
        store, clock = CountedStore(real), Clock()
        auth = Authenticator(store, ttl=2, clock=clock)  # type: ignore[arg-type]
        store.down = True
        outcomes = await asyncio.gather(auth.authenticate(header), auth.authenticate(header), return_exceptions=True)
        assert [type(outcome) for outcome in outcomes] == [StoreUnavailable, StoreUnavailable]
        assert store.loads == 1
        store.down = False
        assert await auth.authenticate(header) is not None
        store.down, clock.now = True, clock.now + 5
        assert await auth.authenticate(header) is not None
        assert await auth.authenticate(_basic("key_2222222222222222", SECRET)) is None
        assert store.loads == 4  # each request after the failed load tried again

    on_store(scenario)


def test_with_ttl_0_every_request_queries_its_own_key(store_url: str, on_store: OnStore) -> None:
    """The cache off: one query per request, known or unknown, and no directory loaded."""
    _add_key(store_url, "key_uncached")

    async def scenario(real: Store) -> None:
        store = CountedStore(real)
        auth = Authenticator(store, ttl=0)  # type: ignore[arg-type]
        for header in [_basic("key_uncached", SECRET), _basic("key_3333333333333333", SECRET)] * 2:
            await auth.authenticate(header)
        assert (store.loads, store.look_ups) == (0, 4)

    on_store(scenario)
