"""Structured logs: one JSON object per line on stderr, never personal data."""

import asyncio
import logging
import os
import sys
import time
import traceback
from typing import Any

import msgspec

from order_intake.log_lines import AccessLine

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
        exc_info = _exc_info(getattr(record, "exc_info", None))
        if exc_info is not None:
            line["exception"] = self.formatException(exc_info)
        try:
            return _encoder.encode(line).decode()
        except (TypeError, ValueError, OverflowError):  # an `extra` value JSON cannot hold: its type instead
            return _encoder.encode({k: _plain(v) for k, v in line.items()}).decode()

    def formatException(self, ei: Any) -> str:  # noqa: N802, ANN401 - logging's own name and type
        """Where it failed and what kind of error, never the error's text.

        Driver messages quote the data they choked on (PostgreSQL's DETAIL can hold part of an
        order), so only the type, the SQLSTATE when there is one, and the frames are written.
        """
        kind, exc, tb = ei
        frames = "".join(traceback.format_tb(tb)) if tb is not None else ""
        chain: list[str] = []
        while exc is not None and len(chain) < _MAX_CHAIN:
            sqlstate = getattr(exc, "sqlstate", None)
            chain.append(type(exc).__qualname__ + (f" (SQLSTATE {sqlstate})" if sqlstate else ""))
            exc = exc.__cause__ or exc.__context__
        return frames + " <- ".join(chain or [getattr(kind, "__qualname__", "Exception")])


def _plain(value: object) -> object:
    """A value as a log line may hold it: JSON scalars as they are, anything else as its type's name."""
    return value if isinstance(value, str | int | float | bool | None) else type(value).__name__


def _exc_info(value: object) -> tuple[Any, Any, Any] | None:
    """A record's exc_info as the (type, value, traceback) it means, whatever a caller put there.

    Loggers are called with exc_info=True, False, an exception or a tuple, and some libraries build
    records by hand: only a tuple, an exception or True (the exception being handled) has one.
    """
    if isinstance(value, tuple) and len(value) == _EXC_INFO_PARTS and value[0] is not None:
        return value
    if isinstance(value, BaseException):
        return type(value), value, value.__traceback__
    if value is True:
        current = sys.exc_info()
        return current if current[0] is not None else None
    return None


def configure(level: str) -> None:
    """Send every log of this process to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def to_stderr(log: logging.Logger) -> logging.Logger:
    """`log` with JSON lines on stderr of its own, leaving the root logger as it is; `log` again.

    For the `serve` main process, whose logging granian configures for its own lines.
    """
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        log.addHandler(handler)
        log.propagate = False
    return log


# hot path: access lines written in blocks, not one system call per request (docs/hot-path.md)
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
        # hot path: the date, dearer than the rest of the line, is formatted once a second (docs/hot-path.md)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int((now - second) * 1000):03d}Z"

    def request(  # noqa: PLR0913 - one argument per field of the line
        self, *, method: str, route: str, status: int, latency_ms: float, request_id: str, trkref: str | None
    ) -> None:
        """Queue one line: the route's template, never the path (its parameters may be e-mail addresses)."""
        if not self.enabled:
            return
        line = AccessLine(
            self._now(), "info", "order_intake.http", "request", method, route, status, latency_ms, request_id, trkref
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
            except BlockingIOError:  # a full non-blocking pipe: keep the rest for the next flush
                self._buffer[:0] = view
                if len(self._buffer) > _MAX_PENDING:  # the reader is gone for good: drop, do not grow
                    del self._buffer[:-_MAX_PENDING]
                return
            except OSError:
                return  # nowhere to write (stderr closed): logging must not stop serving
            view = view[written:]


_line_encoder = msgspec.json.Encoder()
_FLUSH_BYTES = 64 * 1024
_MAX_CHAIN = 8
_EXC_INFO_PARTS = 3
_MAX_PENDING = 16 * 1024 * 1024
