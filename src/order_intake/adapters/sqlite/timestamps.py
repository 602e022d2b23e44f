"""Timestamps as SQLite stores them (a module of its own: the stores must not import SQLAlchemy)."""

import datetime as dt


def to_sqlite_time(value: dt.datetime) -> str:
    """A UTC timestamp as SQLite stores it: fixed-width ISO 8601 text, so text order is time order."""
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
