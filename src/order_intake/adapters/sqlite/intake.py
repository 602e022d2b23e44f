"""The store on a local SQLite file: one writer thread (WAL, synchronous=FULL), a few reader threads."""

import asyncio
import contextlib
import datetime as dt
import fcntl
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TextIO, TypeVar
from uuid import UUID

from order_intake.adapters.sqlite import intake_sql as sql
from order_intake.adapters.sqlite.timestamps import to_sqlite_time
from order_intake.errors import StoreUnavailable
from order_intake.service.ports import IDEMPOTENCY_WINDOW
from order_intake.service.records import (
    ApiKey,
    IdempotencyRecord,
    NewBatch,
    StoredBatch,
    StoredSubmission,
    UnitOutcome,
    WriteUnit,
    keys_from_rows,
)

T = TypeVar("T")

# Seconds a writer waits for another to let go of the file before giving up (StoreUnavailable: 503).
LOCK_TIMEOUT = 5.0
# Seconds between tries for the write lock while another process holds it.
_LOCK_POLL = 0.0005
# How long one answer to "can the file be written?" stands for /ready.
_PING_SECONDS = 1.0


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, synchronous=FULL."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=LOCK_TIMEOUT)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


@contextlib.contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """One BEGIN IMMEDIATE transaction: committed when the block ends, rolled back if anything raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _write_nothing(conn: sqlite3.Connection) -> None:
    """A write that changes nothing, rolled back: on a file it cannot write, SQLite refuses it.

    (It begins the transaction all the same: BEGIN IMMEDIATE alone does not tell.)
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DELETE FROM submission_queue WHERE 0")
    finally:
        conn.execute("ROLLBACK")


def _record(row: tuple[int, str, bytes, int, bytes, str]) -> IdempotencyRecord:
    return IdempotencyRecord(
        api_key_id=row[0],
        key=row[1],
        fingerprint=row[2],
        status=row[3],
        response=row[4],
        created_at=dt.datetime.fromisoformat(row[5]),
    )


class SqliteStore:
    """Store on SQLite; writes are serialised on one thread, reads run on their own connections."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sqlite-reader")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._lock_file: TextIO | None = None  # opened by the writer thread at its first write
        self._ping: asyncio.Future[bool] | None = None  # the last readiness question, shared while it is fresh
        self._pinged_at = 0.0

    # hot path: a polled flock, not SQLite's sleeping busy handler (docs/hot-path.md)
    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        """Hold the file's write lock, shared with every other process's writer (a server, a worker).

        SQLite's own lock waits by sleeping in growing steps (1, 2, 5, 10, ... ms), so a writer
        that found another process writing waited much longer than that writer took; this one is
        tried every half millisecond. Like SQLite's, the wait ends after LOCK_TIMEOUT seconds (a
        stuck process must cost 503s, not hang every writer), and SQLite's lock stays the
        authority: this only orders the writers that share it.
        """
        if self._lock_file is None:
            self._lock_file = self._path.with_name(self._path.name + ".write-lock").open("a")
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreUnavailable("database is locked by another process") from None
                time.sleep(_LOCK_POLL)
        try:
            yield
        finally:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self._path)
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    async def _on_thread(
        self, pool: ThreadPoolExecutor, work: Callable[[sqlite3.Connection], T], *, write_lock: bool = False
    ) -> T:
        def call() -> T:
            try:
                if not write_lock:
                    return work(self._conn())
                with self._write_lock():
                    return work(self._conn())
            except (sqlite3.OperationalError, OSError) as exc:  # OSError: the lock file cannot be opened
                raise StoreUnavailable(str(exc)) from exc

        return await asyncio.get_running_loop().run_in_executor(pool, call)

    async def open(self) -> None:
        """Open the writer's connection now, so that a bad path fails at start-up."""
        await self._on_thread(self._writer, lambda conn: conn.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        """Finish queued work and close every connection."""
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        if self._lock_file is not None:
            self._lock_file.close()

    async def run_on_writer(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` (which writes) on the writer's thread and connection, holding the write lock."""
        return await self._on_thread(self._writer, work, write_lock=True)

    async def run_on_reader(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` on a reader thread and its connection (which must not write)."""
        return await self._on_thread(self._readers, work)

    async def ping(self) -> bool:
        """True while the file can be written: asked at most once a second, every probe meanwhile shares the answer.

        The question is a write of nothing, rolled back, on the writer's thread and under its lock, so
        that probes (unauthenticated, as many as anyone sends) take a place among the commits only once a second.
        """
        now = time.monotonic()
        if self._ping is None or now - self._pinged_at >= _PING_SECONDS:
            self._pinged_at = now
            self._ping = asyncio.ensure_future(self._writable())
        return await asyncio.shield(self._ping)

    async def _writable(self) -> bool:
        try:
            await self._on_thread(self._writer, _write_nothing, write_lock=True)
        except StoreUnavailable:
            return False
        return True

    async def commit_units(self, units: Sequence[WriteUnit]) -> list[UnitOutcome]:
        """Store the units in one IMMEDIATE transaction on the writer thread."""
        return await self._on_thread(self._writer, lambda conn: _commit(conn, units), write_lock=True)

    async def find_key(self, username: str) -> ApiKey | None:
        """The key and its organisations."""
        rows = await self._on_thread(self._readers, lambda conn: conn.execute(sql.SELECT_KEY, (username,)).fetchall())
        return next(iter(keys_from_rows(rows)), None)

    async def all_keys(self) -> list[ApiKey]:
        """Every key and its organisations, revoked or not, in one query."""
        rows = await self._on_thread(self._readers, lambda conn: conn.execute(sql.SELECT_KEYS).fetchall())
        return keys_from_rows(rows)

    async def get_submission(self, organisation_id: int, submission_id: UUID) -> StoredSubmission | None:
        """One submission of this organisation, or None."""
        params = (organisation_id, str(submission_id))
        row = await self._on_thread(self._readers, lambda conn: conn.execute(sql.SELECT_SUBMISSION, params).fetchone())
        if row is None:
            return None
        return StoredSubmission(
            id=UUID(row[0]),
            organisation_id=row[1],
            received_at=dt.datetime.fromisoformat(row[2]),
            normalised=row[3].encode(),
            processed_at=None if row[4] is None else dt.datetime.fromisoformat(row[4]),
            canonical_id=None if row[5] is None else UUID(row[5]),
        )

    async def get_batch(self, batch_id: UUID, api_key_id: int, organisation_ids: Sequence[int]) -> StoredBatch | None:
        """The batch, if these organisations include every one it touched (it touched none: if this key sent it)."""
        params = (str(batch_id), json.dumps(list(organisation_ids)), api_key_id)
        row = await self._on_thread(self._readers, lambda conn: conn.execute(sql.SELECT_BATCH, params).fetchone())
        if row is None:
            return None
        return StoredBatch(id=UUID(row[0]), received_at=dt.datetime.fromisoformat(row[1]), answer=row[2])

    async def find_idempotency(self, api_key_id: int, key: str, since: dt.datetime) -> IdempotencyRecord | None:
        """The unexpired record for this key, or None."""
        params = (api_key_id, key, to_sqlite_time(since))
        row = await self._on_thread(self._readers, lambda conn: conn.execute(sql.SELECT_IDEMPOTENCY, params).fetchone())
        return None if row is None else _record(row)


def _insert_batch(conn: sqlite3.Connection, batch: NewBatch) -> None:
    batch_id = str(batch.id)
    conn.execute(sql.INSERT_BATCH, (batch_id, batch.api_key_id, to_sqlite_time(batch.received_at), batch.answer))
    conn.executemany(sql.INSERT_BATCH_ORGANISATION, [(batch_id, org) for org in batch.organisation_ids])


def _commit(conn: sqlite3.Connection, units: Sequence[WriteUnit]) -> list[UnitOutcome]:
    with immediate(conn):
        outcomes: list[UnitOutcome] = []
        rows: list[tuple[object, ...]] = []
        for unit in units:
            claim = unit.idempotency
            if claim is not None:
                expired_before = to_sqlite_time(claim.created_at - IDEMPOTENCY_WINDOW)
                params = (
                    claim.api_key_id,
                    claim.key,
                    claim.fingerprint,
                    claim.status,
                    claim.response,
                    to_sqlite_time(claim.created_at),
                    expired_before,
                )
                if conn.execute(sql.CLAIM_IDEMPOTENCY, params).fetchone() is None:
                    found = conn.execute(sql.SELECT_IDEMPOTENCY, (claim.api_key_id, claim.key, expired_before))
                    outcomes.append(_record(found.fetchone()))
                    continue
            outcomes.append(None)
            if unit.batch is not None:
                _insert_batch(conn, unit.batch)
            rows.extend(
                (
                    str(s.id),
                    s.organisation_id,
                    s.api_key_id,
                    to_sqlite_time(s.received_at),
                    s.body,
                    s.normalised.decode(),
                    s.order_ref,
                    s.idempotency_key,
                    s.request_id,
                    None if s.batch_id is None else str(s.batch_id),
                )
                for s in unit.submissions
            )
        conn.executemany(sql.INSERT_SUBMISSION, rows)
    return outcomes
