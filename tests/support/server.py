"""A real `order-intake serve` process on a free port, started and stopped by tests."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

BIN = Path(sys.executable).with_name("order-intake")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _mail_beside(log_path: Path) -> dict[str, str]:
    """Without a MAIL_URL of the test's, e-mails go to Maildirs beside the log, never into the checkout."""
    return {
        "MAIL_URL": f"maildir:{log_path.parent / 'mail'}",
        "SANDBOX_MAIL_URL": f"maildir:{log_path.parent / 'sandbox-mail'}",
    }


class Server:
    """One server process (a granian main process and its workers, in their own process group).

    It listens on 127.0.0.1 and a free port unless given `host` and `port`; `prefix` goes before the
    command (e.g. `ip netns exec NAME`, which execs it: the process started is still the server).
    `workers=None` leaves the number of HTTP processes to `serve`'s default.
    """

    def __init__(  # noqa: PLR0913 - the process's settings, each with the usual default
        self,
        database_url: str,
        log_path: Path,
        *,
        workers: int | None = 1,
        cwd: Path | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        prefix: Sequence[str] = (),
        **env: str,
    ) -> None:
        self.database_url = database_url
        self.cwd = cwd  # the process's working directory (relative paths, like the default Maildir's)
        self.host = host
        self.port = free_port() if port is None else port
        self.base_url = f"http://{host}:{self.port}"
        self._prefix = list(prefix)
        self._log_path = log_path
        self._workers = workers
        mail = _mail_beside(log_path) if cwd is None else {}
        self._env = {**os.environ, "DATABASE_URL": database_url, **mail, **env}
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self) -> "Server":
        """Start the process, without waiting for it to serve."""
        with self._log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *self._prefix,
                    str(BIN),
                    "serve",
                    "--host",
                    self.host,
                    "--port",
                    str(self.port),
                    *([] if self._workers is None else ["--workers", str(self._workers)]),
                ],
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.cwd,
            )
        return self

    def start(self, timeout: float = 20.0) -> "Server":
        """Start and wait (polling, with a deadline) until /health answers."""
        self.launch()
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                msg = f"server exited with {self.process.returncode}; see {self._log_path}"
                raise RuntimeError(msg)
            try:
                if httpx.get(f"{self.base_url}/health", timeout=0.5).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        msg = f"server did not answer /health within {timeout}s; see {self._log_path}"
        raise RuntimeError(msg)

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown code runs."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, then wait for a clean exit; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        """What the server printed so far."""
        return self._log_path.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: granian's workers (forks of the main process, same command line)."""
        main = self._cmdline(self._main_pid())
        return [pid for pid, cmdline in self._group() if cmdline == main]

    def processing_pids(self) -> list[int]:
        """The processing worker `serve` keeps beside its HTTP processes (none with --no-worker)."""
        return [pid for pid, cmdline in self._group() if b"worker" in cmdline.split(b"\0")]

    def _main_pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @staticmethod
    def _cmdline(pid: int) -> bytes:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            return b""

    def _group(self) -> list[tuple[int, bytes]]:
        """The members of the server's process group but its main process, with their command lines."""
        members = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == self._main_pid():
                continue
            try:
                if os.getpgid(int(entry.name)) == self._main_pid():
                    members.append((int(entry.name), self._cmdline(int(entry.name))))
            except ProcessLookupError:
                continue
        return members


class Worker:
    """One `order-intake worker` process (`prefix` before the command, as for Server)."""

    def __init__(self, database_url: str, log_path: Path, *, prefix: Sequence[str] = (), **env: str) -> None:
        self._log_path = log_path
        self._env = {**os.environ, "DATABASE_URL": database_url, **_mail_beside(log_path), **env}
        self._prefix = list(prefix)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "Worker":
        """Start it (it works as soon as it has connected)."""
        with self._log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*self._prefix, str(BIN), "worker"],
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def kill(self) -> None:
        """SIGKILL: whatever transaction it had open is left to the database to abort."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait; its exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout)
        return self.process.returncode

    def log(self) -> str:
        """What it printed so far."""
        return self._log_path.read_text(errors="replace")
