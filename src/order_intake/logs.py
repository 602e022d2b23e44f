"""Structured logs: one JSON object per line on stderr, never personal data."""

import asyncio
import logging
import os
import sys
import time
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()
# Attributes every LogRecord has; anything else passed in `extra` becomes a field of the line.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: time, level, logger, message, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """One line of JSON."""
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update((k, v) for k, v in vars(record).items() if k not in _STANDARD)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encoder.encode(line).decode()


def configure(level: str) -> None:
    """Send every log of this process to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class AccessLine(msgspec.Struct, frozen=True):
    """One request, as the access log writes it (field names match the JSON lines above)."""

    ts: str
    level: str
    logger: str
    msg: str
    method: str
    path: str
    status: int
    latency_ms: float
    request_id: str
    trkref: str | None


class AccessLog:
    """One JSON line per request on stderr, written in blocks rather than one system call per line.

    Lines wait at most `flush_after` seconds (or until 64 KiB gather) before they are written, and
    everything is written at shutdown; a SIGKILL may lose the last fraction of a second of lines.
    Warnings and errors do not wait: they go through `logging`, line by line.
    """

    def __init__(self, *, enabled: bool, flush_after: float = 0.25, fd: int = 2) -> None:
        self.enabled = enabled
        self._flush_after = flush_after
        self._fd = fd
        self._buffer = bytearray()
        self._timer: asyncio.TimerHandle | None = None
        self._second = -1
        self._stamp = ""

    def _now(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:  # formatting the date costs more than the rest of the line
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int((now - second) * 1000):03d}Z"

    def request(  # noqa: PLR0913 - one argument per field of the line
        self, *, method: str, path: str, status: int, latency_ms: float, request_id: str, trkref: str | None
    ) -> None:
        """Queue one line."""
        if not self.enabled:
            return
        line = AccessLine(
            self._now(), "info", "order_intake.http", "request", method, path, status, latency_ms, request_id, trkref
        )
        _line_encoder.encode_into(line, self._buffer, -1)
        self._buffer += b"\n"
        if len(self._buffer) >= _FLUSH_BYTES:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._flush_after, self.flush)

    def flush(self) -> None:
        """Write what is queued."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        data, self._buffer = bytes(self._buffer), bytearray()
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._fd, view)
            except BlockingIOError:
                continue
            except OSError:
                return  # nowhere to write (stderr closed): logging must not stop serving
            view = view[written:]


_line_encoder = msgspec.json.Encoder()
_FLUSH_BYTES = 64 * 1024
