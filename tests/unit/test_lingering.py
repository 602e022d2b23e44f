"""Lingering: a body left unread by an early answer is read and dropped first, within bounds of size, time, number."""

import asyncio

from order_intake.entrypoints.http.exchange import Exchange
from order_intake.entrypoints.http.linger import MAX_LINGER_SECONDS, Lingering

KIB = 1024


class _Body:
    """A body's stream as granian's RSGI protocol gives it: opened once, then chunks, an empty one at the end.

    `stall` makes it wait for ever after its chunks (a client that stops sending); `endless` never ends.
    """

    def __init__(self, chunks: list[bytes], *, stall: bool = False, endless: bool = False) -> None:
        self._chunks = iter(chunks)
        self._stall = stall
        self._endless = endless
        self._opened = False
        self._ended = False
        self.read = 0
        self.answer: tuple[int, list[tuple[str, str]]] | None = None

    def __aiter__(self) -> "_Body":
        if self._opened:
            raise RuntimeError("the body is already taken")  # as granian's RSGIProtocolError
        self._opened = True
        return self

    async def __anext__(self) -> bytes:
        if self._ended:
            raise StopAsyncIteration
        chunk = b"x" * KIB if self._endless else next(self._chunks, None)
        if chunk is None:
            if self._stall:
                await asyncio.Event().wait()
            self._ended = True
            return b""
        self.read += len(chunk)
        return chunk

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        del body
        self.answer = (status, headers)


class _Scope:
    method = "POST"
    path = "/v4/organisations/T/customer_order"
    http_version = "1.1"
    query_string = ""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


def _opened(body: _Body) -> _Body:
    return body.__aiter__()


def _discard(lingering: Lingering, body: _Body, declared: int | None = None) -> bool:
    return asyncio.run(lingering.discard(_opened(body), declared))


def test_a_body_within_the_bounds_is_read_to_its_end() -> None:
    """Every chunk is read; True: the connection may carry another request."""
    body = _Body([b"x" * KIB] * 10)
    assert _discard(Lingering(30.0, max_bytes=20 * KIB), body, 10 * KIB) is True
    assert body.read == 10 * KIB


def test_a_body_declared_past_the_bound_is_not_read_at_all() -> None:
    """A Content-Length over the bound: False at once, nothing read."""
    body = _Body([b"x" * KIB] * 10)
    assert _discard(Lingering(30.0, max_bytes=5 * KIB), body, 10 * KIB) is False
    assert body.read == 0


def test_a_body_that_never_ends_is_read_only_up_to_the_bound() -> None:
    """A chunked body without end: False once just past the bound."""
    body = _Body([], endless=True)
    assert _discard(Lingering(30.0, max_bytes=64 * KIB), body) is False
    assert body.read == 65 * KIB


def test_a_body_that_stops_coming_is_given_up_after_the_time_and_the_task_goes_on() -> None:
    """A stalled body: False after the body timeout (shorter than the bound); the task is not left cancelled."""

    async def scenario() -> tuple[bool, int, int]:
        lingering = Lingering(0.05)
        done = await lingering.discard(_opened(_Body([b"x"], stall=True)), 2)
        await asyncio.sleep(0)  # would raise CancelledError if a cancellation were still pending
        task = asyncio.current_task()
        assert task is not None
        return done, task.cancelling(), lingering.busy

    assert asyncio.run(scenario()) == (False, 0, 0)


def test_the_time_is_at_most_the_bound_whatever_the_body_timeout() -> None:
    """A body timeout of an hour lingers MAX_LINGER_SECONDS at most."""
    assert Lingering(3600.0)._seconds == MAX_LINGER_SECONDS


def test_past_the_number_at_once_a_body_is_not_read_and_the_count_comes_back() -> None:
    """With one lingering at a time: a second body is not read while the first lingers; later one is."""

    async def scenario() -> tuple[bool, int, bool, int]:
        lingering = Lingering(30.0, at_once=1)
        stalled = asyncio.create_task(lingering.discard(_opened(_Body([b"x"], stall=True)), None))
        await asyncio.sleep(0)  # the first one starts, and waits for more of its body
        second = _Body([b"x" * KIB])
        refused = await lingering.discard(_opened(second), KIB)
        stalled.cancel()
        await asyncio.gather(stalled, return_exceptions=True)
        later = await lingering.discard(_opened(_Body([b"x" * KIB])), KIB)
        return refused, second.read, later, lingering.busy

    assert asyncio.run(scenario()) == (False, 0, True, 0)


def test_a_connection_that_breaks_while_lingering_is_given_up() -> None:
    """The error granian raises for a closed connection (a RuntimeError): False, nothing raised."""

    class _Broken(_Body):
        async def __anext__(self) -> bytes:
            raise RuntimeError("connection closed")

    assert _discard(Lingering(30.0), _Broken([])) is False


def _answered(headers: dict[str, str], body: _Body, lingering: Lingering | None = None) -> list[tuple[str, str]]:
    """The headers of a 401 sent before the body was read."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        exchange = Exchange(_Scope(headers), body, 30.0, lingering or Lingering(30.0), loop)  # type: ignore[arg-type]
        await exchange.answer_bytes(401, b"{}")

    asyncio.run(scenario())
    assert body.answer is not None
    return body.answer[1]


def test_an_answer_before_the_body_waits_for_the_body_and_keeps_the_connection() -> None:
    """The body is read whole before the answer, which does not close the connection."""
    body = _Body([b"x" * KIB] * 4)
    headers = _answered({"content-length": str(4 * KIB)}, body)
    assert body.read == 4 * KIB
    assert ("connection", "close") not in headers


def test_an_answer_before_a_body_past_the_bounds_closes_the_connection() -> None:
    """A body that passes the bound: the answer says the connection closes."""
    body = _Body([], endless=True)
    headers = _answered({"transfer-encoding": "chunked"}, body, Lingering(30.0, max_bytes=8 * KIB))
    assert body.read == 9 * KIB
    assert ("connection", "close") in headers


def test_a_client_that_waits_for_100_continue_is_answered_without_asking_for_the_body() -> None:
    """Expect: 100-continue: nothing read (reading would ask for the body), the connection closes."""
    body = _Body([b"x" * KIB])
    headers = _answered({"content-length": str(KIB), "expect": "100-Continue"}, body)
    assert body.read == 0
    assert ("connection", "close") in headers


def test_an_answer_to_a_request_without_a_body_reads_nothing_and_keeps_the_connection() -> None:
    """No Content-Length (or 0) and no Transfer-Encoding: no body to wait for."""
    for headers in ({}, {"content-length": "0"}):
        body = _Body([b"never sent"])
        assert ("connection", "close") not in _answered(headers, body)
        assert body.read == 0


def test_a_chunked_body_refused_partway_is_read_on_from_where_it_stopped() -> None:
    """Past its limit the read stops (413); the answer then reads the rest from the same, open stream."""
    body = _Body([b"x" * KIB] * 10)

    async def scenario() -> bytes | None:
        loop = asyncio.get_running_loop()
        exchange = Exchange(_Scope({"transfer-encoding": "chunked"}), body, 30.0, Lingering(30.0), loop)  # type: ignore[arg-type]
        refused = await exchange.read_body(2 * KIB)
        await exchange.answer_bytes(413, b"{}")
        return refused

    assert asyncio.run(scenario()) is None
    assert body.read == 10 * KIB
    assert body.answer is not None
    assert ("connection", "close") not in body.answer[1]
