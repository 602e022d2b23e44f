"""The ASGI application of the v4 API."""
