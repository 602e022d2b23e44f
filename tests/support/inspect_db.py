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
