"""Use cases: authenticate a key, submit an order, find a submission."""
