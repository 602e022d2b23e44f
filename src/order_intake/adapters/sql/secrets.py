"""The key every node signs links and hashes addresses with: ORDER_INTAKE_SECRET_KEY, else one kept in the database."""

import os
import secrets

import sqlalchemy as sa

from order_intake.adapters.sql.schema import service_secrets

SIGNING = "signing"
ENV = "ORDER_INTAKE_SECRET_KEY"
_BYTES = 32


def signing_key(conn: sa.Connection) -> bytes:
    """ORDER_INTAKE_SECRET_KEY (as UTF-8) when set; else the database's, made once by whoever asks first."""
    configured = os.environ.get(ENV)
    if configured:
        return configured.encode()
    query = sa.select(service_secrets.c.value).where(service_secrets.c.name == SIGNING)
    found = conn.execute(query).scalar_one_or_none()
    if found is not None:
        return bytes(found)
    made = secrets.token_bytes(_BYTES)
    insert = sa.insert(service_secrets).values(name=SIGNING, value=made)
    conn.execute(insert.prefix_with("OR IGNORE") if conn.dialect.name == "sqlite" else _pg_insert_ignore(made))
    return bytes(conn.execute(query).scalar_one())


def _pg_insert_ignore(value: bytes) -> sa.Executable:
    from sqlalchemy.dialects.postgresql import insert  # noqa: PLC0415 - PostgreSQL's dialect only here

    return insert(service_secrets).values(name=SIGNING, value=value).on_conflict_do_nothing()
