"""A stop signal that reaches an HTTP worker before it serves is raised again once it does."""

import asyncio
import signal

from order_intake.entrypoints.http.worker_start import STOP_SIGNALS, EarlyStop


def test_a_stop_signal_during_start_up_reaches_the_servers_handler_once_it_serves() -> None:
    """As in granian: its handler is installed before the app starts, but only acts once it serves."""
    loop = asyncio.new_event_loop()
    before = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    serving = False
    stops: list[bool] = []
    try:
        loop.add_signal_handler(signal.SIGTERM, lambda: stops.append(serving))
        early = EarlyStop()
        early.hold()
        signal.raise_signal(signal.SIGTERM)  # during the app's start-up
        loop.run_until_complete(asyncio.sleep(0.01))
        assert early.held == [signal.SIGTERM]
        serving = True
        early.replay(loop)
        loop.run_until_complete(asyncio.sleep(0.01))
        assert stops == [False, True]  # the first was lost on a server not serving yet; the second was not
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        loop.close()
        for signum, handler in before.items():
            signal.signal(signum, handler)


def test_the_handlers_held_over_are_given_back() -> None:
    """Once the loop has run after replay, the stop signals have the handlers they had before hold."""
    before = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    loop = asyncio.new_event_loop()
    try:
        early = EarlyStop()
        early.hold()
        assert all(signal.getsignal(signum) != before[signum] for signum in STOP_SIGNALS)
        early.replay(loop)
        loop.run_until_complete(asyncio.sleep(0))
        assert {signum: signal.getsignal(signum) for signum in STOP_SIGNALS} == before
        assert early.held == []
    finally:
        loop.close()
