"""Random (version 4) UUIDs for the ids made on the path of every order, built without uuid.UUID's constructor.

hot path: uuid.uuid4() passes 16 random bytes to UUID(bytes=..., version=4), whose constructor checks
and converts its arguments in interpreted code; an order takes four ids (its submission, canonical
order, event and invitation). The value is the same: the random bits with the version and variant
bits set as RFC 9562 says (docs/hot-path.md).

hot path: the random bytes come from the operating system 4 KiB at a time, not 16 bytes at a time:
each os.urandom is a getrandom system call, which cost more than the rest of making the id. A
forked child forgets the bytes its parent drew, so that the two never hand out the same ids.
"""

import os
import threading
import uuid
from typing import Final

_BITS: Final = (1 << 128) - 1
# The version field (bits 76-79) and the variant's two high bits (62-63), cleared, then set to 4 and 0b10.
_CLEAR: Final = _BITS & ~((0xF000 << 64) | (0xC000 << 48))
_SET: Final = (4 << 76) | (0x8000 << 48)

_SIZE: Final = 16
_DRAW: Final = 4096


class _Reserve:
    """Random bytes drawn from the operating system ahead of need, handed out 16 at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bytes = b""
        self._taken = 0

    def take(self) -> bytes:
        """16 bytes nobody else is given (the lock: another thread may take at the same time)."""
        with self._lock:
            start = self._taken
            if start + _SIZE > len(self._bytes):
                self._bytes = os.urandom(_DRAW)
                start = 0
            self._taken = start + _SIZE
            return self._bytes[start : start + _SIZE]

    def forget(self) -> None:
        """Drop what is left (in a forked child: its parent hands out the same bytes)."""
        self._lock = threading.Lock()
        self._bytes = b""
        self._taken = 0


_reserve: Final = _Reserve()
os.register_at_fork(after_in_child=_reserve.forget)


def random_bytes() -> bytes:
    """16 random bytes from the operating system's generator, as os.urandom(16) gives them."""
    return _reserve.take()


def from_random(random: bytes) -> uuid.UUID:
    """The version 4 UUID these 16 random bytes make: equal to uuid.UUID(bytes=random, version=4)."""
    new = object.__new__(uuid.UUID)
    object.__setattr__(new, "int", (int.from_bytes(random, "big") & _CLEAR) | _SET)
    object.__setattr__(new, "is_safe", uuid.SafeUUID.unknown)
    return new


def uuid4() -> uuid.UUID:
    """A new random UUID, as uuid.uuid4() makes one, in about half its time."""
    return from_random(_reserve.take())
