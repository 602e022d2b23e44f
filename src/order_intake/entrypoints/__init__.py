"""The ways in: the HTTP app, the command line."""
