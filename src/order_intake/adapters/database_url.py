"""DATABASE_URL, understood: which backend, and where."""

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from order_intake.errors import DatabaseUrlError


@dataclass(frozen=True, slots=True)
class DatabaseUrl:
    """A parsed DATABASE_URL: a SQLite file path or a PostgreSQL DSN for asyncpg."""

    backend: Literal["sqlite", "postgresql"]
    sqlite_path: Path | None = None
    dsn: str | None = None

    @property
    def sqlalchemy_url(self) -> str:
        """The same database as SQLAlchemy (Alembic) names it."""
        if self.sqlite_path is not None:
            return f"sqlite:///{self.sqlite_path}"
        assert self.dsn is not None  # noqa: S101 - one of the two is always set
        return "postgresql+asyncpg://" + self.dsn.split("://", 1)[1]


def parse_database_url(url: str) -> DatabaseUrl:
    """Accept sqlite:///relative.db, sqlite:////absolute.db and postgresql://... URLs."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not path or path == ":memory:":
            msg = f"DATABASE_URL must name a SQLite file, like sqlite:///./order-intake.db: {url!r}"
            raise DatabaseUrlError(msg)
        return DatabaseUrl("sqlite", sqlite_path=Path(path).expanduser().resolve())
    if scheme in {"postgresql", "postgres"}:
        parts = urlsplit(url)
        try:
            # out of range or not a number raises (asyncpg's form of several hosts, h1:p1,h2:p2, is its own)
            _ = parts.port if "," not in parts.netloc else None
        except ValueError as exc:
            msg = f"DATABASE_URL has a port that is not one ({exc})"
            raise DatabaseUrlError(msg) from None
        if not parts.path.strip("/"):
            msg = "DATABASE_URL must name a PostgreSQL database, like postgresql://host/dbname"
            raise DatabaseUrlError(msg)
        return DatabaseUrl("postgresql", dsn="postgresql://" + url.split("://", 1)[1])
    msg = f"DATABASE_URL must start with sqlite:/// or postgresql://, got {url.split(':', 1)[0]!r}"
    raise DatabaseUrlError(msg)
