"""A PostgreSQL server of a test's own (initdb, pg_ctl): one it may crash without touching the machine's.

The machine's cluster serves every other test; this one lives in a temporary directory, listens on
a free port of 127.0.0.1 only, and is stopped and removed afterwards.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support.server import free_port


def _bin(name: str) -> str | None:
    """Debian keeps the server's programs off PATH, by major version: the newest."""
    found = sorted(str(p) for p in Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class PrivateCluster:
    """initdb'd on creation; start(), crash() (`pg_ctl stop -m immediate`), stop()."""

    def __init__(self) -> None:
        initdb, self._pg_ctl = _bin("initdb"), _bin("pg_ctl")
        if initdb is None or self._pg_ctl is None:
            pytest.skip("PostgreSQL's initdb and pg_ctl are not installed: no private server to crash")
        # PostgreSQL refuses to run as root: as root, run it as the postgres user.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as and shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start a PostgreSQL server as another user")
        self.root = Path(tempfile.mkdtemp(prefix="order-intake-pg-"))
        self.port = free_port()
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        if self._as:
            shutil.chown(self.root, "postgres")
        self._run(initdb, "-D", str(self.data), "--auth=trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}"

    def _run(self, *argv: str) -> None:
        subprocess.run([*self._as, *argv], check=True, capture_output=True, cwd=self.root)

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root}"
        self._run(self._pg_ctl or "", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def crash(self) -> None:
        """Stop at once, as a power cut would (`-m immediate`: no checkpoint; recovery replays the WAL)."""
        self._run(self._pg_ctl or "", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        """Stop (fast) if running, and remove its files."""
        subprocess.run(
            [*self._as, self._pg_ctl or "", "-D", str(self.data), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
            cwd=self.root,
        )
        shutil.rmtree(self.root, ignore_errors=True)
