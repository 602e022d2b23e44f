"""The access log's line as a msgspec Struct: apart from logs.py, which is compiled (see setup.py)."""

import msgspec


# hot path: a Struct, so outside the compiled logs.py (docs/hot-path.md)
class AccessLine(msgspec.Struct, frozen=True):
    """One request, as the access log writes it (the fields of logs.JsonFormatter's lines, and the request's)."""

    ts: str
    level: str
    logger: str
    msg: str
    method: str
    route: str
    status: int
    latency_ms: float
    request_id: str
    trkref: str | None
