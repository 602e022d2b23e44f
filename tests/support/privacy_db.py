"""Test database access for the personal-data tests: find a string in every column, plant and age rows."""

import datetime as dt
import json
import uuid
from typing import Any

from order_intake.adapters.sqlite.timestamps import to_sqlite_time
from tests.support.inspect_db import change_rows, count_rows, fetch_rows


def _is_sqlite(database_url: str) -> bool:
    return database_url.startswith("sqlite:///")


def _columns(database_url: str) -> list[tuple[str, str, bool]]:
    """(table, column, holds bytes) for every column of every table."""
    if _is_sqlite(database_url):
        tables = [t for (t,) in fetch_rows(database_url, "SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [
            (table, name, kind.upper() == "BLOB")
            for table in tables
            if not table.startswith("sqlite_")
            for _, name, kind, *_ in fetch_rows(database_url, f'PRAGMA table_info("{table}")')
        ]
    rows = fetch_rows(
        database_url,
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'",
    )
    return [(table, column, kind == "bytea") for table, column, kind in rows]


def columns_holding(database_url: str, needle: str) -> list[str]:
    """`table.column` of each column where some row holds `needle` (ASCII letters in any case), raw bytes included."""
    found = []
    for table, column, is_bytes in _columns(database_url):
        if _is_sqlite(database_url):
            where = f'instr(lower(CAST("{column}" AS TEXT)), ?) > 0'
        elif is_bytes:  # escape form: ASCII bytes as themselves, any other byte as \nnn
            where = f"strpos(lower(encode(\"{column}\", 'escape')), ?) > 0"
        else:
            where = f'strpos(lower("{column}"::text), ?) > 0'
        if count_rows(database_url, f'SELECT count(*) FROM "{table}" WHERE {where}', needle.lower()):  # noqa: S608
            found.append(f"{table}.{column}")
    return found


def db_time(database_url: str, when: dt.datetime) -> Any:
    """A timestamp as a query parameter of this backend."""
    return to_sqlite_time(when) if _is_sqlite(database_url) else when


def db_uuid(database_url: str, value: str) -> Any:
    """A UUID as a query parameter of this backend."""
    return value if _is_sqlite(database_url) else uuid.UUID(value)


def plant_canonical_order(database_url: str, *, trkref: str, order_ref: str, email: str, sent: list[bool]) -> str:
    """A canonical order showing this email and one outbox event per entry of `sent`, written directly."""
    org = count_rows(database_url, "SELECT id FROM organisations WHERE trkref = ?", trkref)
    canonical_id = str(uuid.uuid4())
    document = {"trkref": trkref, "order_ref": order_ref, "customer": {"email": email, "first_name": "Planted"}}
    now = dt.datetime.now(dt.UTC)
    as_json = "?" if _is_sqlite(database_url) else "CAST(? AS json)"
    columns = "id, organisation_id, order_ref, version, document, stamps, created_at, updated_at"
    change_rows(
        database_url,
        f"INSERT INTO canonical_orders ({columns}) VALUES (?, ?, ?, ?, {as_json}, {as_json}, ?, ?)",  # noqa: S608 - constants
        db_uuid(database_url, canonical_id),
        org,
        order_ref,
        len(sent),
        json.dumps(document),
        "{}",
        db_time(database_url, now),
        db_time(database_url, now),
    )
    for version, was_sent in enumerate(sent, start=1):
        event_id = str(uuid.uuid4())
        payload = {"event_id": event_id, "trkref": trkref, "version": version, "customer_order": document}
        change_rows(
            database_url,
            "INSERT INTO outbox (event_id, organisation_id, canonical_id, version, routing_key, payload, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            db_uuid(database_url, event_id),
            org,
            db_uuid(database_url, canonical_id),
            version,
            f"customer_order.upserted.{trkref}",
            json.dumps(payload).encode(),
            db_time(database_url, now),
        )
        if was_sent:  # as the relay does once the broker took it
            change_rows(
                database_url,
                "DELETE FROM outbox_pending WHERE id = (SELECT id FROM outbox WHERE event_id = ?)",
                db_uuid(database_url, event_id),
            )
    return canonical_id


def backdate(database_url: str, days: float, update: str, *params: object) -> None:
    """Run `UPDATE ... SET col = ? [, col2 = ?] WHERE ...` with each SET placeholder `days` ago, then `params`."""
    when = db_time(database_url, dt.datetime.now(dt.UTC) - dt.timedelta(days=days))
    times = update.partition(" WHERE ")[0].count("?")
    change_rows(database_url, update, *([when] * times), *params)
