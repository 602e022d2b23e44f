"""Which PostgreSQL errors mean "the database cannot do this now" (503) rather than "this is wrong" (500).

By SQLSTATE (PostgreSQL's appendix A): a standby or a database made read-only (25006), a lost
connection (08), a server short of disk, memory or connections (53), an operator's intervention (57:
a cancelled statement, a shutdown) and the server's own system errors (58: an I/O error). None is
the request's fault, and each passes; a client told 503 tries again, where a 500 says that trying
again will not help. Deadlocks and serialization failures (class 40) are left to the work: the
group-commit writer answers them by committing each request of the group alone, which a 503 would
cut short for the whole group.
"""

_NOT_NOW_CLASSES = ("08", "53", "57", "58")
_READ_ONLY = "25006"


def not_now(sqlstate: str | None) -> bool:
    """Whether an error of this SQLSTATE means the database cannot do the work now (503)."""
    if sqlstate is None:
        return False
    return sqlstate == _READ_ONLY or sqlstate.startswith(_NOT_NOW_CLASSES)
