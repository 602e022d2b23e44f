"""Test support: real databases, a real server process, the CLI, order factories."""
