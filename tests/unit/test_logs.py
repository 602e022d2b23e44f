"""Logs carry no personal data, even in failures, and a stuck stderr never stalls serving."""

import asyncio
import fcntl
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
                log.request(method="POST", path="/p", status=202, latency_ms=1.0, request_id=f"r{n}", trkref=None)
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
