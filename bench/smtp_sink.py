"""A local SMTP sink for the benchmarks: accepts every message and keeps none (aiosmtpd).

    .venv/bin/python bench/smtp_sink.py PORT

Runs until SIGTERM; prints how many messages it accepted when it stops.
"""

import signal
import sys
import threading

from aiosmtpd.controller import Controller


class _Count:
    def __init__(self) -> None:
        self.accepted = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802, ARG002 - aiosmtpd's hook
        self.accepted += 1
        return "250 OK"


def main() -> None:
    """Listen on 127.0.0.1:PORT until SIGTERM."""
    handler = _Count()
    controller = Controller(handler, hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    print("ready", flush=True)
    stopped.wait()
    controller.stop()
    print(f"accepted {handler.accepted}", flush=True)


if __name__ == "__main__":
    main()
