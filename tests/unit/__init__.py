"""Pure rules, tested as pure functions."""
