"""The processing worker `serve` keeps beside its HTTP processes: started, restarted when it dies, stopped last.

Processing runs in a process of its own, not inside the HTTP processes: there, planning a batch
(decoding, merging, encoding documents and events) would hold the GIL while requests wait, and
every HTTP process would claim work on its own. A separate process gives intake the HTTP processes
to itself and lets the kernel share the cores: about 8% more orders at the same tail, with
processing keeping up either way (docs/performance.md, docs/hot-path.md).
"""

import logging
import os
import subprocess
import sys
import threading
import time

from prometheus_client import Counter

from order_intake import logs
from order_intake.metrics import MULTIPROC_ENV, write_to_shared_files

log = logging.getLogger(__name__)

# Pause before restarting a worker that exited, doubled while it keeps dying early, up to the cap.
_FIRST_PAUSE = 1.0
_MAX_PAUSE = 30.0
# A worker that ran this long was healthy: its next restart starts from the first pause again.
_HEALTHY_SECONDS = 60.0
# SIGTERM lets the worker finish its transaction; past this it is killed.
_STOP_SECONDS = 20.0

# prometheus_client's multiprocess values share one lock, which a fork copies held should another
# thread hold it at that moment; granian forks its HTTP processes from the main thread while this
# module's thread counts restarts. Holding a lock of ours across each fork keeps the two apart.
_COUNTING = threading.Lock()
os.register_at_fork(before=_COUNTING.acquire, after_in_parent=_COUNTING.release, after_in_child=_COUNTING.release)


class RestartPauses:
    """The pause before each restart of something that exited: doubled while it keeps dying early.

    A run of _HEALTHY_SECONDS or more starts again from the first pause.
    """

    def __init__(self) -> None:
        self._next = _FIRST_PAUSE

    def after(self, ran_for: float) -> float:
        """The pause before the next start, after a run of `ran_for` seconds."""
        if ran_for >= _HEALTHY_SECONDS:
            self._next = _FIRST_PAUSE
        pause, self._next = self._next, min(self._next * 2, _MAX_PAUSE)
        return pause


def worker_command(parent: int) -> list[str]:
    """`order-intake worker`, run by this interpreter, ending by itself if `parent` goes away."""
    return [sys.executable, "-m", "order_intake", "worker", "--supervised-by", str(parent)]


class SupervisedWorker:
    """One child process kept running by a thread until stop(); it shares the server's process group.

    Killing the group (SIGKILL of a server) takes it along; a terminal's Ctrl-C reaches it too, but the
    worker ignores SIGINT when supervised, so that it stops once, when the server tells it to. Should
    the server alone die, the worker gets SIGTERM from the kernel (it asks for that as it starts, on
    Linux) or notices within half a second; the thread that started it is its parent for the kernel,
    so that thread lives as long as the worker does.
    """

    def __init__(self, argv: list[str]) -> None:
        self._argv = argv
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._keep_running, name="processing-supervisor", daemon=True)
        if os.environ.get(MULTIPROC_ENV):  # serve's /metrics sums the files of every process, this one's too
            write_to_shared_files()
        self._restarts = Counter(
            "order_intake_processing_worker_restarts",
            "Times the processing worker exited without being asked to and serve started another",
            registry=None,
        )
        logs.to_stderr(log)

    def start(self) -> None:
        """Start the worker and the thread that restarts it."""
        self._thread.start()

    def stop(self) -> None:
        """SIGTERM the worker and wait for it (kill it past the deadline); then end the restarting thread."""
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._thread.join(_STOP_SECONDS)

    def _keep_running(self) -> None:
        pauses = RestartPauses()
        first = True
        while True:
            started = time.monotonic()
            code: int | str | None
            with self._lock:
                if self._stopping.is_set():
                    return
                if not first:
                    with _COUNTING:
                        self._restarts.inc()
                first = False
                try:
                    self._process = subprocess.Popen(self._argv)  # noqa: S603 - our own interpreter and module
                except OSError as exc:  # no process to wait for: tried again after the pause, as after an exit
                    self._process, code = None, f"not started: {type(exc).__name__}: {exc.strerror}"
                else:
                    code = None
                process = self._process
            if process is not None:
                code = process.wait()
            if self._stopping.is_set():
                return
            pause = pauses.after(time.monotonic() - started)
            log.warning("processing worker exited (code %s); restarting in %.0f s", code, pause)
            if self._stopping.wait(pause):
                return
