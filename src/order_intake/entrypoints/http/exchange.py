"""One HTTP exchange over granian's RSGI: reading the request, sending a JSON answer.

RSGI rather than ASGI: a no-op app answers 20-80% more requests a second over RSGI (bench/run.py
prints both floors; docs/hot-path.md), and this seam (rsgi.py: its types) is the only place that knows.
An answer given before the body was read is sent once the rest of the body is read and dropped, within
linger.py's bounds, else with `Connection: close`: a client still sending would not hear it otherwise.
What RSGI gives differs from a raw request in two ways the app relies on: the path arrives
percent-decoded (granian decodes it, invalid UTF-8 as U+FFFD), and a body whose framing breaks
(a bad chunk size, a connection cut before the last chunk) ends with an extra empty chunk.
"""

import asyncio

import msgspec

from order_intake.domain import catalogue, ids
from order_intake.entrypoints.http.deadline import Deadline
from order_intake.entrypoints.http.linger import Lingering
from order_intake.entrypoints.http.rsgi import RsgiProtocol, Scope
from order_intake.errors import BodyTimeout, IncompleteBody

Headers = list[tuple[str, str]]

_encoder = msgspec.json.Encoder(decimal_format="number")
_REQUEST_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")
_MAX_REQUEST_ID = 128
_CLOSE = ("connection", "close")
# What became of the request's body (Exchange._body): not read yet; left partway, its stream open (a
# chunked body past its limit); or done with (read whole, or given up on: its framing broke, too slow).
_UNREAD = 0
_LEFT = 1
_DONE = 2


class Exchange:
    """The request's method, path and headers, and the answer once sent (for the access log)."""

    __slots__ = (
        "_body",
        "_body_timeout",
        "_headers",
        "_lingering",
        "_loop",
        "_proto",
        "_scope",
        "limit_headers",
        "method",
        "path",
        "request_id",
        "route",
        "status",
        "trkref",
        "version",
    )

    def __init__(
        self,
        scope: Scope,
        proto: RsgiProtocol,
        body_timeout: float,
        lingering: Lingering,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.method: str = scope.method
        self.path: str = scope.path  # already percent-decoded by granian: never decode it again
        self.version: str = scope.http_version
        self._headers = scope.headers
        self._scope = scope
        self._proto = proto
        self._body_timeout = body_timeout
        self._lingering = lingering
        self._loop = loop
        self._body = _UNREAD
        self.status = 0
        self.trkref: str | None = None
        # The caller's rate-limit headers, sent with whatever answer follows (None: no limit).
        self.limit_headers: Headers | None = None
        # The matched route's template, for metrics ("other" until a route matches).
        self.route = "other"
        given = self._headers.get("x-request-id") or ""
        valid = 0 < len(given) <= _MAX_REQUEST_ID and all(c in _REQUEST_ID_CHARS for c in given)
        # hot path: any unique text will do, so 32 random hex digits without a UUID object (docs/hot-path.md)
        self.request_id = given if valid else ids.random_bytes().hex()

    def header(self, name: str) -> str | None:
        """A request header by its lower-case name."""
        return self._headers.get(name)

    def query_string(self) -> str:
        """The query string as granian gives it, without the `?` (read only by the endpoints that take one)."""
        return self._scope.query_string

    def has_header(self, name: str) -> bool:
        """Whether the request has this header at all, whatever its value."""
        return name in self._headers

    def header_count(self, name: str) -> int:
        """How many times the request has this header."""
        return len(self._headers.get_all(name))

    def header_problem(self) -> str | None:
        """Why the request's headers cannot be trusted, or None.

        Two Authorization headers: a proxy that reads the other one would authorise someone else.
        HTTP/1.1 needs exactly one Host (RFC 9112, section 3.2).
        """
        if self.header_count("authorization") > 1:
            return catalogue.DUPLICATE_AUTHORIZATION
        if self.version == "1.1" and len(self._headers.get_all("host")) != 1:
            return catalogue.BAD_HOST
        return None

    def _declared_length(self) -> int | None:
        declared = self._headers.get("content-length")
        return int(declared) if declared is not None and declared.isascii() and declared.isdigit() else None

    async def read_body(self, limit: int) -> bytes | None:
        """The whole body, or None as soon as it passes `limit` bytes; BodyTimeout if it comes too slowly."""
        length = self._declared_length()
        if length is not None and length > limit:
            return None
        self._body = _DONE
        deadline = Deadline(self._body_timeout, self._loop)
        try:
            return await self._read(length, limit)
        except asyncio.CancelledError:
            if deadline.expired():
                raise BodyTimeout from None
            raise
        finally:
            deadline.clear()

    async def _read(self, length: int | None, limit: int) -> bytes | None:
        """The body; IncompleteBody when its framing broke or the connection ended before its end.

        A chunked body is read chunk by chunk (its size is known only at the end). granian ends a whole
        body with one empty chunk, and turns a framing error into an empty chunk before that one: so a
        second empty chunk means the body is not whole (chunked trailers look the same, and are refused).
        """
        chunks: list[bytes] = []
        size = 0
        ended = False
        try:
            # hot path: the framing bounds the body, so one call reads it whole (docs/hot-path.md)
            if length is not None:
                return await self._proto()
            async for chunk in self._proto:
                if ended:
                    raise IncompleteBody
                if not chunk:
                    ended = True
                    continue
                size += len(chunk)
                if size > limit:
                    self._body = _LEFT
                    return None
                chunks.append(chunk)
        except (RuntimeError, ConnectionError) as exc:  # granian's ProtocolClosed is a RuntimeError
            raise IncompleteBody from exc
        return b"".join(chunks)

    async def answer_bytes(
        self, status: int, body: bytes, extra: Headers | None = None, content_type: str | None = "application/json"
    ) -> None:
        """Send an answer whose body is already encoded (JSON unless told otherwise; None: no body, no type)."""
        self.status = status
        if content_type is None:
            headers = [("x-request-id", self.request_id)]
        else:
            headers = [("content-type", content_type), ("x-request-id", self.request_id)]
        if extra:
            headers.extend(extra)
        if self.limit_headers:
            headers.extend(self.limit_headers)
        # hot path: an answer to a request whose body was read (every 202) does nothing more (docs/hot-path.md)
        if self._body != _DONE and not await self._discard_body() and _CLOSE not in headers:
            headers.append(_CLOSE)
        self._proto.response_bytes(status, headers, body)

    async def _discard_body(self) -> bool:
        """Before an answer given while the body may still be coming: read the rest and drop it (linger.py).

        Whether the whole body came (or there was none): the connection can then carry the next request.
        A client that sent `Expect: 100-continue` waits for the answer before it sends the body, so it is
        not asked for it (granian would send the 100 as the body is read).
        """
        unread, self._body = self._body == _UNREAD, _DONE
        length = self._declared_length()
        if unread:
            if not length and "transfer-encoding" not in self._headers:
                return True
            if (self._headers.get("expect") or "").lower() == "100-continue":
                return False
            aiter(self._proto)  # opens the body's stream, which _LEFT's is already
        return await self._lingering.discard(self._proto, length)

    async def answer(self, status: int, value: object, extra: Headers | None = None) -> None:
        """Encode a value (an answer type from domain.answers) and send it."""
        await self.answer_bytes(status, _encoder.encode(value), extra)
