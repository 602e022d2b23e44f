"""One HTTP exchange over raw ASGI: reading the request, sending a JSON answer."""

import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import msgspec

from order_intake.errors import ClientGone

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_encoder = msgspec.json.Encoder(decimal_format="number")
_JSON = (b"content-type", b"application/json")
_REQUEST_ID_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")


class Exchange:
    """The request's scope and headers, and the answer once sent (for the access log)."""

    __slots__ = ("headers", "method", "path", "receive", "request_id", "send", "status", "trkref")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.headers: dict[bytes, bytes] = dict(scope["headers"])
        self.receive = receive
        self.send = send
        self.status = 0
        self.trkref: str | None = None
        given = self.headers.get(b"x-request-id", b"")
        valid = 0 < len(given) <= 128 and all(c in _REQUEST_ID_CHARS for c in given)  # noqa: PLR2004
        self.request_id = given.decode() if valid else uuid.uuid4().hex

    def header(self, name: bytes) -> bytes | None:
        """A request header by its lower-case name."""
        return self.headers.get(name)

    async def read_body(self, limit: int) -> bytes | None:
        """The whole body, or None as soon as it passes `limit` bytes."""
        declared = self.headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def answer_bytes(self, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> None:
        """Send a JSON answer whose body is already encoded."""
        self.status = status
        headers = [_JSON, (b"content-length", str(len(body)).encode()), (b"x-request-id", self.request_id.encode())]
        if extra:
            headers.extend(extra)
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})

    async def answer(self, status: int, value: object, extra: list[tuple[bytes, bytes]] | None = None) -> None:
        """Encode a value (an answer type from domain.answers) and send it."""
        await self.answer_bytes(status, _encoder.encode(value), extra)
