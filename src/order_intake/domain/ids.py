"""Random (version 4) UUIDs for the ids made on the path of every order, built without uuid.UUID's constructor.

hot path: uuid.uuid4() passes 16 random bytes to UUID(bytes=..., version=4), whose constructor checks
and converts its arguments in interpreted code; an order takes four ids (its submission, canonical
order, event and invitation). The value is the same: the random bits with the version and variant
bits set as RFC 9562 says (docs/hot-path.md).
"""

import os
import uuid
from typing import Final

_BITS: Final = (1 << 128) - 1
# The version field (bits 76-79) and the variant's two high bits (62-63), cleared, then set to 4 and 0b10.
_CLEAR: Final = _BITS & ~((0xF000 << 64) | (0xC000 << 48))
_SET: Final = (4 << 76) | (0x8000 << 48)


def from_random(random: bytes) -> uuid.UUID:
    """The version 4 UUID these 16 random bytes make: equal to uuid.UUID(bytes=random, version=4)."""
    new = object.__new__(uuid.UUID)
    object.__setattr__(new, "int", (int.from_bytes(random, "big") & _CLEAR) | _SET)
    object.__setattr__(new, "is_safe", uuid.SafeUUID.unknown)
    return new


def uuid4() -> uuid.UUID:
    """A new random UUID, as uuid.uuid4() makes one, in about half its time."""
    return from_random(os.urandom(16))
