"""The local Redis the rate-limit tests share: one database number, a fresh key prefix per use."""

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

# Redis at 127.0.0.1:6379 (scripts/services starts it); the rate-limit tests keep to this database.
REDIS_URL: Final = "redis://127.0.0.1:6379/11"


def fresh_prefix() -> str:
    """A key prefix no other test run uses, so that parallel runs never share a bucket."""
    return f"order-intake-test:{uuid.uuid4().hex}:"


@contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers: a Redis that hangs."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield int(s.getsockname()[1])
