"""End-to-end contract tests: a real server over a real socket, on SQLite and PostgreSQL."""
