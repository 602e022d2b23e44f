"""Tests against real PostgreSQL and SQLite, below the HTTP layer."""
