"""The RSGI floor: granian's native interface, reading the body and answering a fixed 202."""

from typing import Any

_BODY = b'{"status":202,"id":"00000000-0000-4000-8000-000000000000","message":"Customer order accepted"}'
_HEADERS = [("content-type", "application/json")]


class App:
    """No work at all: the fastest any RSGI app on granian can answer."""

    async def __rsgi__(self, scope: Any, proto: Any) -> None:  # noqa: ANN401 - granian's own objects
        """Read the whole request body, then answer 202."""
        await proto()
        proto.response_bytes(202, _HEADERS, _BODY)


app = App()
