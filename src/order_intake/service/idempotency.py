"""Idempotency-Key bookkeeping shared by single and batch submissions."""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager


def fingerprint(method: str, path: str, body: bytes) -> bytes:
    """What "the same request" means for a replay: same method, path and body bytes."""
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.digest()


class InFlight:
    """The Idempotency-Keys this process is handling right now, so that a twin answers 409."""

    def __init__(self) -> None:
        self._keys: set[tuple[int, str]] = set()

    @contextmanager
    def hold(self, api_key_id: int, key: str) -> Iterator[bool]:
        """Yields False when the key is already held (the caller answers 409), else holds it."""
        token = (api_key_id, key)
        if token in self._keys:
            yield False
            return
        self._keys.add(token)
        try:
            yield True
        finally:
            self._keys.discard(token)
