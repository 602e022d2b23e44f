"""Who is calling: HTTP Basic checked against the stored keyed hash, with a short-lived directory of keys."""

import asyncio
import time
from collections.abc import Callable

from order_intake.domain.credentials import DUMMY_HASH, DUMMY_SALT, parse_basic, secret_matches
from order_intake.errors import StoreUnavailable
from order_intake.service.ports import Store
from order_intake.service.records import ApiKey

# Usernames longer than this are not ours; refused without a query.
_MAX_USERNAME = 64
# The share of the ttl after which a request starts loading the directory again (without waiting).
_RENEW_AFTER = 0.75


class Authenticator:
    """Verifies credentials; with a ttl, against a directory of every key, so that auth costs no query.

    Known and unknown usernames cost the same work, so that timing does not tell whether a key
    exists: a look-up in the directory and one hash (the dummy hash when there is no such key).
    The directory is loaded by one query. A request in the last quarter of its `ttl` seconds (at
    most 5) starts the next load and goes on with the directory it has; a request after the ttl
    waits for the load (the first request, or the first after an idle spell), and so does every
    request arriving meanwhile: one load at a time. A key created, revoked or changed, or an
    organisation changed, is thus seen within the ttl. A load that fails keeps the directory there
    was, if any (the next request tries again); with none, the failure is the request's. With ttl
    0 each request queries its own key, known or not.

    An Authorization header that passed is remembered with its key until the directory it was
    checked against expires: the same header then skips decoding and hashing (about 16,000
    instructions a request), and its answer is the one the check would give, since both depend only
    on the header and that directory's row. At most `max_entries` headers are remembered; past
    that, the oldest goes.
    """

    def __init__(
        self,
        store: Store,
        *,
        ttl: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        # hot path: every key in a directory, passed headers remembered with their key (docs/hot-path.md)
        self._directory: dict[str, ApiKey] | None = None
        # When the directory in use is due to be loaded again, and when it is too old to be used
        # (self._clock() times); both passed before the first load.
        self._renew = self._expires = 0.0
        self._loading: asyncio.Task[None] | None = None
        self._passed: dict[str, tuple[float, ApiKey]] = {}

    async def _lookup(self, username: str) -> ApiKey | None:
        if self._ttl <= 0:
            return await self._store.find_key(username)
        now = self._clock()
        loading = self._loading
        if loading is None and now >= self._renew:
            loading = asyncio.ensure_future(self._load())
            loading.add_done_callback(self._loaded)
            self._loading = loading
        if loading is not None and now >= self._expires:
            # Shielded: a request cancelled while waiting must not cancel the load others wait for.
            await asyncio.shield(loading)
        directory = self._directory
        return None if directory is None else directory.get(username)

    async def _load(self) -> None:
        """Load the directory again; on failure keep the one there was, or raise with none."""
        started = self._clock()
        try:
            keys = await self._store.all_keys()
        except StoreUnavailable:
            if self._directory is None:
                raise
            return
        self._directory = {key.username: key for key in keys}
        self._renew, self._expires = started + self._ttl * _RENEW_AFTER, started + self._ttl

    def _loaded(self, loading: asyncio.Task[None]) -> None:
        if self._loading is loading:
            self._loading = None

    async def authenticate(self, authorization: str | None) -> ApiKey | None:
        """The calling key, or None for missing, malformed, unknown, wrong or revoked credentials."""
        if authorization is None:
            return None  # what parse_basic answers for no header
        passed = self._passed.get(authorization)
        if passed is not None and passed[0] > self._clock():
            return passed[1]
        credentials = parse_basic(authorization)
        if credentials is None:
            return None
        username, password = credentials
        ours = len(username) <= _MAX_USERNAME and "\x00" not in username  # PostgreSQL cannot hold U+0000
        key = await self._lookup(username) if ours else None
        if key is None:
            secret_matches(password, DUMMY_SALT, DUMMY_HASH)  # same work as a real check
            return None
        if not secret_matches(password, key.secret_salt, key.secret_hash) or key.revoked:
            return None
        if self._ttl > 0:  # with the directory off, nothing is remembered
            _remember(self._passed, authorization, (self._expires, key), self._max_entries)
        return key


def _remember(cache: dict[str, tuple[float, ApiKey]], name: str, entry: tuple[float, ApiKey], max_entries: int) -> None:
    """Put the entry last (the newest); past `max_entries`, the oldest goes."""
    cache.pop(name, None)
    if len(cache) >= max_entries:
        del cache[next(iter(cache))]
    cache[name] = entry
