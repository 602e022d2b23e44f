"""Open-loop load at a fixed rate: raw HTTP/1.1 over kept-alive connections, 1 request in N bad.

wrk cannot hold a rate (it sends as fast as answers come back), so this sends on a schedule: request
k is due at start + k / rate, put on a queue when due and sent by the first free connection. How late
sends were against that schedule is measured, so a run shows whether the rate was held.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import time
import uuid
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

HERE = Path(__file__).parent
SINGLE = "/v4/organisations/{trkref}/customer_order"
_ORDER = json.loads((HERE / "order.json").read_text())
_ONE_MIB = 1 << 20


def _order(k: int, **changes: object) -> bytes:
    return json.dumps({**_ORDER, "order_ref": f"SOAK-{k:09d}", **changes}).encode()


# What each kind of request sends (given its sequence number) and the status the contract promises.
KINDS: dict[str, tuple[Callable[[int], bytes], int]] = {
    "valid": (_order, 202),
    "malformed JSON": (lambda k: _order(k)[:-7], 400),
    "invalid order": (lambda k: _order(k, order_date="31-02-2014", customer={"email": "nobody"}), 422),
    "empty body": (lambda _k: b"", 422),
    "wrong credentials": (_order, 401),
    "unknown trkref": (_order, 400),
    "oversize (> 1 MiB)": (lambda _k: b" " * _ONE_MIB + b"{}", 413),
}
BAD_KINDS = [kind for kind in KINDS if kind != "valid"]


@dataclass
class Target:
    """Where and as whom to send."""

    port: int
    trkref: str
    username: str
    password: str


@dataclass
class Tally:
    """What was sent and what came back."""

    sent: Counter[str] = field(default_factory=Counter)
    answers: Counter[tuple[str, int | str]] = field(default_factory=Counter)
    accepted_ids: bytearray = field(default_factory=bytearray)  # 16 bytes per id answered 202
    latency_ms: array[float] = field(default_factory=lambda: array("f"))  # valid requests only
    answered_per_second: Counter[int] = field(default_factory=Counter)
    most_late_s: float = 0.0  # how much later than scheduled a request was sent, at worst
    deepest_queue: int = 0


def _request(target: Target, kind: str, k: int) -> bytes:
    body = KINDS[kind][0](k)
    trkref = "NO-SUCH-ORG" if kind == "unknown trkref" else target.trkref
    password = target.password[::-1] if kind == "wrong credentials" else target.password
    credentials = base64.b64encode(f"{target.username}:{password}".encode()).decode()
    close = "Connection: close\r\n" if kind.startswith("oversize") else ""
    head = (
        f"POST {SINGLE.format(trkref=trkref)} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {credentials}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{close}\r\n"
    )
    return head.encode() + body


class _Connection:
    """One kept-alive HTTP/1.1 connection, on a plain non-blocking socket.

    Not asyncio's streams: when a write fails because the server refused the body and closed (413),
    a StreamReader raises the write's error on every later read, even with the answer already
    received; a socket still gives what arrived before the close.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()

    @classmethod
    async def open(cls, port: int) -> _Connection:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(0)  # non-blocking, as the loop's sock_* calls need
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as asyncio's transports do
        try:
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        except OSError:
            sock.close()
            raise
        return cls(sock)

    async def _fill(self, wanted: int) -> None:
        """Read until the buffer holds `wanted` bytes; IncompleteReadError if the server closes first."""
        loop = asyncio.get_running_loop()
        while len(self._buffer) < wanted:
            chunk = await loop.sock_recv(self._sock, 65536)
            if not chunk:
                raise asyncio.IncompleteReadError(bytes(self._buffer), wanted)
            self._buffer += chunk

    async def _take_until(self, separator: bytes) -> bytes:
        while (end := self._buffer.find(separator)) < 0:
            await self._fill(len(self._buffer) + 1)
        return self._take(end + len(separator))

    def _take(self, size: int) -> bytes:
        taken = bytes(self._buffer[:size])
        del self._buffer[:size]
        return taken

    async def exchange(self, raw: bytes) -> tuple[int, bytes, bool]:
        """Send one request, read its answer: status, body, whether the server closes the connection."""
        with contextlib.suppress(ConnectionError):  # refused before the whole body went out (413): read on
            await asyncio.get_running_loop().sock_sendall(self._sock, raw)
        head = (await self._take_until(b"\r\n\r\n")).lower()
        length = int(head.split(b"\r\ncontent-length: ", 1)[1].split(b"\r\n", 1)[0])
        await self._fill(length)
        return int(head[9:12]), self._take(length), b"\r\nconnection: close\r\n" in head

    def close(self) -> None:
        self._sock.close()


async def _client(target: Target, queue: asyncio.Queue[tuple[int, str, float] | None], tally: Tally) -> None:
    """Send what the queue holds, one request at a time, reconnecting when the server closes."""
    loop = asyncio.get_running_loop()
    connection: _Connection | None = None
    while (item := await queue.get()) is not None:
        k, kind, due = item
        raw = _request(target, kind, k)
        started = loop.time()
        tally.most_late_s = max(tally.most_late_s, started - due)
        tally.sent[kind] += 1
        try:
            if connection is None:
                connection = await _Connection.open(target.port)
            status, body, closing = await connection.exchange(raw)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            tally.answers[kind, type(exc).__name__] += 1
            if connection is not None:
                connection.close()
            connection = None
            continue
        tally.answers[kind, status] += 1
        tally.answered_per_second[int(time.monotonic())] += 1
        if kind == "valid":
            tally.latency_ms.append((loop.time() - started) * 1000)
            if status == 202:  # noqa: PLR2004
                tally.accepted_ids += uuid.UUID(json.loads(body)["id"]).bytes
        if closing:
            connection.close()
            connection = None
    if connection is not None:
        connection.close()


def kind_of(k: int, bad_every: int) -> str:
    """Request k's kind: every bad_every-th request is bad, the bad kinds in turn."""
    if k % bad_every != bad_every - 1:
        return "valid"
    return BAD_KINDS[(k // bad_every) % len(BAD_KINDS)]


async def run_load(target: Target, *, rate: float, duration: float, connections: int, bad_every: int) -> Tally:
    """Send rate * duration requests on schedule over `connections` connections; the tally once all answered."""
    loop = asyncio.get_running_loop()
    tally = Tally()
    queue: asyncio.Queue[tuple[int, str, float] | None] = asyncio.Queue()
    clients = [asyncio.create_task(_client(target, queue, tally)) for _ in range(connections)]
    total = int(rate * duration)
    start = loop.time()
    k = 0
    while k < total:
        due_now = min(total, int((loop.time() - start) * rate) + 1)
        for j in range(k, due_now):
            queue.put_nowait((j, kind_of(j, bad_every), start + j / rate))
        k = due_now
        tally.deepest_queue = max(tally.deepest_queue, queue.qsize())
        await asyncio.sleep(0.002)
    for _ in clients:
        queue.put_nowait(None)
    await asyncio.gather(*clients)
    return tally
