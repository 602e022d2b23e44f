"""Where a granian worker process starts: a stop signal that comes before it serves is held, not lost.

granian forks each worker from its main process, whose SIGTERM and SIGINT handlers only set the
main process's own stop flag; the worker keeps them while it imports the app (most of a second on
a slow machine). Its own handlers come next, but a signal they get before the worker serves is
lost too (the app's start-up, App.__rsgi_init__, runs in that gap). Either way the main process
then waited for that worker forever. So each worker takes the stop signals over from the moment it
is forked (`hold_in_workers`, called by `serve` before granian forks), the app holds them again during
its start-up and until its event loop runs (granian only runs it once the worker serves), and a
held signal is raised again then. (What remains is the moment between granian's handlers and the
app's start-up: no statement of ours runs there.)
"""

import asyncio
import os
import signal
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from order_intake.entrypoints.http.app import App

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
Handler = Callable[[int, FrameType | None], object] | int | None


class EarlyStop:
    """Holds the stop signals a worker gets before it serves, and raises the first again after."""

    def __init__(self) -> None:
        self.held: list[int] = []
        self._replaced: dict[int, Handler] = {}

    def _hold(self, signum: int, _frame: FrameType | None) -> None:
        self.held.append(signum)

    def hold(self) -> None:
        """Record the stop signals from now on (the handlers they had come back with `replay`)."""
        for signum in STOP_SIGNALS:
            self._replaced[signum] = signal.signal(signum, self._hold)

    def replay(self, loop: asyncio.AbstractEventLoop) -> None:
        """Once the loop runs (the worker serves by then): give the handlers back, raise a held signal again."""
        loop.call_soon(self._release)

    def _release(self) -> None:
        for signum, handler in self._replaced.items():
            signal.signal(signum, handler)
        if self.held:
            signal.raise_signal(self.held[0])


_early = EarlyStop()


def _block() -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def _unblock() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _hold_from_the_start() -> None:
    _early.hold()
    _unblock()  # a signal that came since the fork was left pending by the kernel: it is held now


def hold_in_workers() -> None:
    """In the process that forks the workers: each holds the stop signals from its first moment.

    The signals are blocked across the fork: Python drops the signals a child gets before its fork
    hooks have run, while one the kernel keeps pending arrives once the child unblocks them.
    """
    os.register_at_fork(before=_block, after_in_parent=_unblock, after_in_child=_hold_from_the_start)


def create_app() -> "App":
    """The app factory granian calls in each worker process."""
    from order_intake.entrypoints.http import app  # noqa: PLC0415 - the main process never needs it

    return app.create_app(early_stop=_early)
