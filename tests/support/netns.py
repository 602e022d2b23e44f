"""Network namespaces linked to the host by veth pairs: several nodes on one machine, each link cuttable.

Each namespace gets a /24 of 10.77.0.0/16 of its own: the host's end of its link is .1, the
namespace's end .2. The machine's services listen on the host's loopback, which a namespace cannot
reach; a Forwarder (tcp_proxy.py, in a process of its own) on the host's end of a link carries one
service to that namespace: killing it cuts that link alone (reset, then refused), stopping it makes
the link silent (a partition).
"""

import contextlib
import fcntl
import ipaddress
import os
import secrets
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).parents[2]
# Parallel runs pick their subnets one at a time, under this lock, each avoiding the others'.
_LOCK = Path("/tmp/order-intake-netns.lock")  # noqa: S108 - shared by design: every run on the machine takes it
_SUBNETS = ipaddress.ip_network("10.77.0.0/16")
_DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "amqp": 5672, "redis": 6379}


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)  # noqa: S607 - iproute2's ip


def unavailable() -> str | None:
    """Why network namespaces cannot be made here (None: they can)."""
    if not sys.platform.startswith("linux"):
        return "network namespaces are Linux's"
    if os.geteuid() != 0:
        return "making network namespaces and veth pairs needs root"
    if shutil.which("ip") is None:
        return "no `ip` command (Debian's iproute2)"
    probe = f"oi-probe-{os.getpid()}-{secrets.token_hex(2)}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


@dataclass(frozen=True)
class Namespace:
    """One network namespace and its link to the host."""

    name: str
    host_address: str  # the host's end of the link, where its forwarders listen
    address: str  # the namespace's end, where what runs inside is reached from the host

    @property
    def prefix(self) -> tuple[str, ...]:
        """Put before a command to run it inside (`ip netns exec` execs it: same process, same pid)."""
        return ("ip", "netns", "exec", self.name)


class Forwarder:
    """A TCP forwarder on the host's end of a link to the service at `url`: cut() kills it, start() again.

    `url` is the service's address as the namespace sees it: the same URL, through the forwarder.
    """

    def __init__(self, host: str, url: str) -> None:
        parts = urlsplit(url)
        assert parts.hostname is not None, url
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
        self._target = (parts.hostname, port)
        self._listen = (host, port)
        credentials = parts.netloc.rpartition("@")[0]
        self.url = urlunsplit(
            parts._replace(netloc=f"{credentials}@{host}:{port}" if credentials else f"{host}:{port}")
        )
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> Self:
        """Start forwarding (returns once it listens)."""
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.tcp_proxy", *map(str, (*self._listen, *self._target))],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()  # the line comes once it listens, or EOF if it failed
        assert line == "listening\n", f"the forwarder to {self._target} did not start"
        return self

    def freeze(self) -> None:
        """Stop it (SIGSTOP): connections stay open but carry nothing, new ones get no answer, as in a partition."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """Let it go on (SIGCONT): what waited in the kernel's buffers flows again, as when a partition heals."""
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def cut(self) -> None:
        """Kill it: the kernel closes every connection it carried; new ones are refused."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()


class Network:
    """Namespaces and forwarders made for one run, under a prefix no other run uses; close() removes all.

    close() kills whatever still runs in its namespaces (only ours: the names are this run's), so that
    no namespace outlives the run, and deletes the host's ends of the links.
    """

    def __init__(self) -> None:
        self.prefix = f"oi{secrets.token_hex(3)}"  # interface names stay within Linux's 15 characters
        self.namespaces: list[Namespace] = []
        self._host_links: list[str] = []
        self._forwarders: list[Forwarder] = []

    def add(self) -> Namespace:
        """A new namespace, linked to the host and with its loopback up."""
        n = len(self.namespaces) + 1
        name, outside, inside = f"{self.prefix}-ns{n}", f"{self.prefix}h{n}", f"{self.prefix}c{n}"
        with _LOCK.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            subnet = _free_subnet()
            host_address, address = (str(a) for a in list(subnet.hosts())[:2])
            _ip("netns", "add", name)
            self.namespaces.append(Namespace(name, host_address, address))
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            self._host_links.append(outside)
            _ip("link", "set", inside, "netns", name)
            _ip("addr", "add", f"{host_address}/{subnet.prefixlen}", "dev", outside)
            _ip("link", "set", outside, "up")
        _ip("-n", name, "addr", "add", f"{address}/{subnet.prefixlen}", "dev", inside)
        _ip("-n", name, "link", "set", inside, "up")
        _ip("-n", name, "link", "set", "lo", "up")
        return self.namespaces[-1]

    def forward(self, namespace: Namespace, url: str) -> Forwarder:
        """A forwarder on the namespace's link to the service at `url` (its .url: the same, through the link)."""
        forwarder = Forwarder(namespace.host_address, url).start()
        self._forwarders.append(forwarder)
        return forwarder

    def close(self) -> None:
        """Stop the forwarders, kill what still runs inside, delete the namespaces and links (errors ignored)."""
        for forwarder in self._forwarders:
            forwarder.cut()
        for namespace in self.namespaces:
            pids = _ip("netns", "pids", namespace.name, check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            _ip("netns", "del", namespace.name, check=False)
        for link in self._host_links:
            _ip("link", "del", link, check=False)  # gone with its peer's namespace, unless a process held it

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _free_subnet() -> ipaddress.IPv4Network:
    """A /24 of 10.77.0.0/16 that no address of the machine is in."""
    listed = _ip("-4", "-o", "addr", "show").stdout.split()
    used = {ipaddress.ip_interface(word).network for word in listed if "/" in word and word[0].isdigit()}
    free = [s for s in _SUBNETS.subnets(new_prefix=24) if not any(s.overlaps(u) for u in used)]
    assert free, "no free /24 left in 10.77.0.0/16"
    return free[secrets.randbelow(len(free))]
