"""Who is calling: HTTP Basic checked against the stored keyed hash, with a short-lived cache."""

import time
from collections.abc import Callable
from typing import TypeVar

from order_intake.domain.credentials import DUMMY_HASH, DUMMY_SALT, parse_basic, secret_matches
from order_intake.service.ports import Store
from order_intake.service.records import ApiKey

# Usernames longer than this are not ours; refused without a query.
_MAX_USERNAME = 64
T = TypeVar("T")


class Authenticator:
    """Verifies credentials; caches each key's row briefly so that auth costs no query per request.

    Revocation and organisation changes are seen once the entry expires (ttl, at most 5 seconds).
    The cache is bounded: past `max_entries` the oldest entry goes.

    An Authorization header that passed is remembered with its key until the key's entry expires: the
    same header then skips decoding and hashing (about 16,000 instructions a request), and its answer
    is the one the check would give, since both depend only on the header and that cached row.
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
        # hot path: keys cached, passed Authorization headers remembered with their key (docs/hot-path.md)
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}
        self._passed: dict[str, tuple[float, ApiKey]] = {}

    async def _lookup(self, username: str) -> ApiKey | None:
        now = self._clock()
        hit = self._cache.get(username)
        if hit is not None and hit[0] > now:
            return hit[1]
        key = await self._store.find_key(username)
        if self._ttl > 0:
            _remember(self._cache, username, (now + self._ttl, key), self._max_entries)
        return key

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
        entry = self._cache.get(username)
        if entry is not None:  # with the cache off, nothing is remembered
            _remember(self._passed, authorization, (entry[0], key), self._max_entries)
        return key


def _remember(cache: dict[str, tuple[float, T]], name: str, entry: tuple[float, T], max_entries: int) -> None:
    """Put the entry last (the newest); past `max_entries`, the oldest goes."""
    cache.pop(name, None)
    if len(cache) >= max_entries:
        del cache[next(iter(cache))]
    cache[name] = entry
