"""The floor: an ASGI app that reads the body and answers a fixed 202, with no work at all."""

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

_BODY = b'{"status":202,"id":"00000000-0000-4000-8000-000000000000","message":"Customer order accepted"}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(_BODY)).encode())]


async def app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
) -> None:
    """Read the whole request body, then answer 202."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 202, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})
