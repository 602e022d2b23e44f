"""One throw-away database per test run: a PostgreSQL database and a SQLite file, dropped after."""

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

PG_SERVER = os.environ.get("ORDER_INTAKE_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(f"{PG_SERVER}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def postgres_database(label: str) -> Iterator[str]:
    """A fresh PostgreSQL database; yields its URL, drops it afterwards."""
    name = f"order_intake_test_{label}_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def sqlite_database(directory: Path, label: str) -> Iterator[str]:
    """A fresh SQLite file in `directory`; yields its URL."""
    yield f"sqlite:///{directory / f'{label}.db'}"


@contextmanager
def database(backend: str, directory: Path, label: str) -> Iterator[str]:
    """A fresh database of either backend."""
    if backend == "postgres":
        with postgres_database(label) as url:
            yield url
    else:
        with sqlite_database(directory, label) as url:
            yield url
