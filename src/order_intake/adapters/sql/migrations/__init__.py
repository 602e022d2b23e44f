"""Versioned schema migrations (Alembic). HEAD names the newest revision; a test checks it."""

HEAD = "0012"
