"""Read-only look into a test database, for checks the API has no endpoint for (e.g. rows by order_ref)."""

import asyncio
import sqlite3

import asyncpg


def count_rows(database_url: str, sql: str, *params: object) -> int:
    """Run a COUNT query written with `?` placeholders against either backend."""
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            return int(conn.execute(sql, params).fetchone()[0])
    numbered = sql
    for n in range(1, len(params) + 1):
        numbered = numbered.replace("?", f"${n}", 1)

    async def query() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            return int(await conn.fetchval(numbered, *params))
        finally:
            await conn.close()

    return asyncio.run(query())
