"""Logs carry no personal data, even in failures, and a stuck stderr never stalls serving."""

import asyncio
import fcntl
import json
import logging
import os
import sys

from order_intake.logs import AccessLog, JsonFormatter


def test_a_logged_exception_shows_its_type_and_frames_but_never_its_text() -> None:
    """An error whose message quotes an email: the line names the error type, not the email."""
    email = "jane.doe@example.com"  # in the errors' text only, not in the source lines of the frames
    try:
        try:
            raise KeyError(email)  # noqa: TRY301 - the test needs a chained exception
        except KeyError as inner:
            raise ValueError(f"invalid input: {email}") from inner
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "commit failed", (), exc_info=True)
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "jane.doe" not in line
    assert "ValueError <- KeyError" in line
    assert "test_logs.py" in line


def test_a_record_of_any_exc_info_a_caller_can_give_is_formatted() -> None:
    """exc_info False, True outside a handler, an exception or a tuple: a line each, never a crash.

    asyncio's own handler logs with exc_info=False; once this took down a server process.
    """
    formatter = JsonFormatter()
    error = ValueError("jane.doe@example.com")
    cases: list[object] = [False, True, None, error, (ValueError, error, None), (None, None, None), "odd"]
    lines = []
    for exc_info in cases:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", (), None)
        record.exc_info = exc_info  # type: ignore[assignment] # what callers do, whatever the hints say
        lines.append(json.loads(formatter.format(record)))
    assert [line.get("exception", "").endswith("ValueError") for line in lines] == [
        False,
        False,
        False,
        True,
        True,
        False,
        False,
    ]
    assert all(line["msg"] == "failed" for line in lines)
    assert "jane.doe" not in str(lines)


def test_an_extra_field_json_cannot_hold_is_written_as_its_type() -> None:
    """A line is always written: a value of another kind in `extra` becomes its type's name."""
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "odd extra", (), None)
    record.peer = object()
    assert json.loads(JsonFormatter().format(record))["peer"] == "object"


def test_access_log_keeps_lines_when_stderr_is_a_full_pipe_and_writes_them_later() -> None:
    """A full non-blocking pipe: flush returns at once; once the reader drains it, every line arrives."""
    reader, writer = os.pipe()
    fcntl.fcntl(writer, fcntl.F_SETFL, fcntl.fcntl(writer, fcntl.F_GETFL) | os.O_NONBLOCK)
    try:
        while True:  # fill the pipe
            try:
                os.write(writer, b"x" * 65536)
            except BlockingIOError:
                break

        async def log_some() -> AccessLog:
            log = AccessLog(enabled=True, fd=writer)
            for n in range(3):
                log.request(method="POST", route="/p", status=202, latency_ms=1.0, request_id=f"r{n}", trkref=None)
            log.flush()  # returns although nothing can be written
            return log

        log = asyncio.run(log_some())
        drained = b""
        while True:
            chunk = os.read(reader, 1 << 20)
            drained += chunk
            if len(chunk) < 1 << 20:
                break
        log.flush()
        os.close(writer)
        writer = -1
        rest = b""
        while chunk := os.read(reader, 1 << 20):
            rest += chunk
        assert [line.count(b'"request_id":"r') for line in rest.splitlines()] == [1, 1, 1]
    finally:
        os.close(reader)
        if writer != -1:
            os.close(writer)
