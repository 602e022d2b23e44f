"""The contract over a real socket: a real server, both databases."""
