"""The HTTP API: an RSGI application served by granian."""
