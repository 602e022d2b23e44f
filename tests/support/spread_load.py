"""Load spread over several nodes from threads: every answer remembered with its node, status and times."""

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.load import Threaded

# The order to post for a request tag (the tag also goes out as its X-Request-Id, stored with it).
MakeOrder = Callable[[str], dict[str, Any]]
# After a connection fails (the node is down), a thread waits this long before it tries again.
_PAUSE_AFTER_FAILURE = 0.05


@dataclass(frozen=True)
class Answer:
    """One request: the node it went to, its tag, the status (0: no answer at all) and the id of a 202."""

    node: int
    tag: str
    status: int
    submission_id: str | None
    sent: float  # time.monotonic() when sent
    answered: float  # ... and when answered (or failed)


class SpreadLoad(Threaded):
    """`threads` threads per node, each posting distinct orders to its node until stopped."""

    def __init__(  # noqa: PLR0913 - what to send, where, as whom and how many at once
        self, base_urls: Sequence[str], auth: tuple[str, str], path: str, order: MakeOrder, *, prefix: str, threads: int
    ) -> None:
        self._answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(node, url, auth, path, order, f"{prefix}-n{node}t{t}"))
            for node, url in enumerate(base_urls)
            for t in range(threads)
        ]

    def _run(  # noqa: PLR0913, PLR0917 - one thread's share of __init__'s arguments
        self, node: int, base_url: str, auth: tuple[str, str], path: str, order: MakeOrder, prefix: str
    ) -> None:
        # Longer than the server's own timeouts (10 s a statement): a request without an answer is
        # one whose node died or refused the connection, never one that merely waited.
        with httpx.Client(base_url=base_url, timeout=30, auth=auth) as client:
            n = 0
            while not self._stop.is_set():
                n += 1
                tag = f"{prefix}-{n}"
                sent = time.monotonic()
                try:
                    answer = client.post(path, json=order(tag), headers={"X-Request-Id": tag})
                except httpx.TransportError:
                    self._remember(Answer(node, tag, 0, None, sent, time.monotonic()))
                    self._stop.wait(_PAUSE_AFTER_FAILURE)
                    continue
                accepted = answer.json()["id"] if answer.status_code == 202 else None
                self._remember(Answer(node, tag, answer.status_code, accepted, sent, time.monotonic()))

    def _remember(self, answer: Answer) -> None:
        with self._lock:
            self._answers.append(answer)

    def answers(self) -> list[Answer]:
        """Every answer so far."""
        with self._lock:
            return list(self._answers)

    def count(self, node: int, status: int, *, sent_after: float = 0.0) -> int:
        """How many requests to `node` sent after `sent_after` were answered `status` so far."""
        with self._lock:
            return sum(1 for a in self._answers if a.node == node and a.status == status and a.sent > sent_after)
