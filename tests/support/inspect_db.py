"""Read-only look into a test database, for checks the API has no endpoint for (e.g. rows by order_ref)."""

import asyncio
import sqlite3
from typing import Any

import asyncpg


def fetch_rows(database_url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Run a query written with `?` placeholders against either backend; rows as tuples."""
    if database_url.startswith("sqlite:///"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            return [tuple(row) for row in conn.execute(sql, params)]
        finally:
            conn.close()
    numbered = sql
    for n in range(1, len(params) + 1):
        numbered = numbered.replace("?", f"${n}", 1)

    async def query() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(database_url)
        try:
            return [tuple(row) for row in await conn.fetch(numbered, *params)]
        finally:
            await conn.close()

    return asyncio.run(query())


def count_rows(database_url: str, sql: str, *params: object) -> int:
    """Run a COUNT query written with `?` placeholders against either backend."""
    return int(fetch_rows(database_url, sql, *params)[0][0])


def change_rows(database_url: str, sql: str, *params: object) -> None:
    """Run one data-changing statement (`?` placeholders) and commit it, on either backend."""
    if database_url.startswith("sqlite:///"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            with conn:
                conn.execute(sql, params)
        finally:
            conn.close()
        return
    numbered = sql
    for n in range(1, len(params) + 1):
        numbered = numbered.replace("?", f"${n}", 1)

    async def run() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(numbered, *params)
        finally:
            await conn.close()

    asyncio.run(run())


# Submissions still waiting for processing (a WHERE on `s` may follow).
WAITING = "SELECT count(*) FROM submission_queue q JOIN submissions s ON s.id = q.submission_id"
# Each submission with its outcome, if processed: (order_ref, state, canonical id or None).
OUTCOMES = """
SELECT s.order_ref, CASE WHEN o.submission_id IS NULL THEN 'accepted' ELSE 'processed' END, o.canonical_id
  FROM submissions s LEFT JOIN submission_outcomes o ON o.submission_id = s.id
"""


def requeue(database_url: str, order_ref_like: str) -> None:
    """Put these processed submissions back in the queue, as if processing had never seen them."""
    which = "SELECT id FROM submissions WHERE order_ref LIKE ?"
    change_rows(database_url, f"DELETE FROM submission_outcomes WHERE submission_id IN ({which})", order_ref_like)  # noqa: S608
    change_rows(
        database_url,
        f"INSERT INTO submission_queue (submission_id) {which} ORDER BY received_at",
        order_ref_like,
    )
