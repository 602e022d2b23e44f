"""Lingering: the body of a request answered before it was read is read and thrown away first, within bounds.

Many clients (Python's urllib among them) send the whole body before they read a byte of the answer.
A server that answers 413, or 401 before the body, and closes while such a client still sends makes
its next write fail (EPIPE, or ECONNRESET once the kernel resets a connection closed with unread
data): the client reports a broken pipe and never sees the status. So, as nginx's lingering close
does, the rest of the body is read and dropped before the answer, but never past MAX_DISCARDED_BYTES
nor for longer than MAX_LINGER_SECONDS (or the body timeout, if shorter), and by at most MAX_LINGERING
connections of a process at once: past any bound the answer goes at once with `Connection: close`,
and a client still sending may not hear it. A body declared larger than the bound is not read at all.

Plain Python, not compiled (setup.py): it awaits under `asyncio.timeout` and in a `try`/`finally`,
which compiled coroutines must not (docs/hot-path.md), and it runs only for answers given early.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Final

# The most of one body read to be thrown away: a 64 MiB body and 1 MiB more (what wraps it).
MAX_DISCARDED_BYTES: Final = 65 * 1024 * 1024
# The longest one body is read to be thrown away (shorter if the body timeout is).
MAX_LINGER_SECONDS: Final = 10.0
# Connections one server process reads a refused body from at once; past it, answered and closed at once.
MAX_LINGERING: Final = 8

__all__ = ["MAX_DISCARDED_BYTES", "MAX_LINGERING", "MAX_LINGER_SECONDS", "Lingering"]


class Lingering:
    """The bounds of discarding, and the connections of this process discarding now (owned by the app)."""

    __slots__ = ("_at_once", "_max_bytes", "_seconds", "busy")

    def __init__(
        self, body_timeout: float, *, max_bytes: int = MAX_DISCARDED_BYTES, at_once: int = MAX_LINGERING
    ) -> None:
        self._seconds = min(body_timeout, MAX_LINGER_SECONDS)
        self._max_bytes = max_bytes
        self._at_once = at_once
        self.busy = 0

    async def discard(self, chunks: AsyncIterator[bytes], declared: int | None) -> bool:
        """Read the rest of a body and drop it: whether its end came within the bounds (else: close).

        `chunks` is the body's stream, already opened (granian opens it only once), `declared` its
        Content-Length (None: chunked).
        """
        if (declared is not None and declared > self._max_bytes) or self.busy >= self._at_once:
            return False
        self.busy += 1
        try:
            async with asyncio.timeout(self._seconds):
                return await self._to_the_end(chunks)
        except (TimeoutError, RuntimeError, ConnectionError):  # granian's ProtocolClosed is a RuntimeError
            return False
        finally:
            self.busy -= 1

    async def _to_the_end(self, chunks: AsyncIterator[bytes]) -> bool:
        size = 0
        while True:
            try:
                chunk = await anext(chunks)
            except StopAsyncIteration:
                return True
            size += len(chunk)
            if size > self._max_bytes:
                return False
