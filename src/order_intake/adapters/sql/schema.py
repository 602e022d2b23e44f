"""The tables, as SQLAlchemy Core metadata: what the migrations must produce (checked by a test)."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from order_intake.adapters.sqlite.timestamps import to_sqlite_time

metadata = sa.MetaData()


class SqliteTimestamp(sa.TypeDecorator[dt.datetime]):
    """Timestamps on SQLite, as text written by to_sqlite_time."""

    impl = sa.String(32)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> str | None:  # noqa: ARG002
        """Write a datetime as fixed-width UTC text."""
        return None if value is None else to_sqlite_time(value)

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> dt.datetime | None:  # noqa: ARG002
        """Read it back as an aware datetime."""
        return None if value is None else dt.datetime.fromisoformat(value)


# One column type per kind of value, stored natively on PostgreSQL and as text on SQLite.
UUID = sa.Uuid(as_uuid=True).with_variant(sa.String(36), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True).with_variant(SqliteTimestamp(), "sqlite")
JSON = sa.Text().with_variant(postgresql.JSONB(), "postgresql")
# JSON written once and read back whole: PostgreSQL's json keeps the text (no jsonb parse or print).
JSON_TEXT = sa.Text().with_variant(postgresql.JSON(), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

organisations = sa.Table(
    "organisations",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("trkref", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("customer_order_enabled", sa.Boolean(), nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    # The review-invitation policy's settings that differ from the defaults (domain/policy.py); NULL: none.
    sa.Column("invitation_policy", JSON_TEXT, nullable=True),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("secret_salt", sa.LargeBinary(), nullable=False),
    sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
    sa.Column("customer_order", sa.Boolean(), nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("revoked_at", TIMESTAMP, nullable=True),
    # Token bucket per key: requests per second (0 = unlimited) and burst size.
    sa.Column("rate", sa.Float(), nullable=False, server_default="100"),
    sa.Column("burst", sa.Integer(), nullable=False, server_default="200"),
    # A sandbox key's orders are planned like any other; their invitations go to SANDBOX_MAIL_URL only.
    sa.Column("sandbox", sa.Boolean(), nullable=False, server_default=sa.false()),
)

api_key_organisations = sa.Table(
    "api_key_organisations",
    metadata,
    sa.Column("api_key_id", ID, sa.ForeignKey("api_keys.id"), primary_key=True),
    sa.Column("organisation_id", ID, sa.ForeignKey("organisations.id"), primary_key=True),
)

# No foreign keys to the organisation and the key: both are never deleted, a submission is only
# written for ones just authenticated, and the checks cost each insert a lookup and a lock of the
# same parent rows (migration 0006; the figures are in docs/performance.md).
submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("organisation_id", ID, nullable=False),
    sa.Column("api_key_id", ID, nullable=False),
    sa.Column("received_at", TIMESTAMP, nullable=False),
    sa.Column("body", sa.LargeBinary(), nullable=False),
    sa.Column("normalised", JSON_TEXT, nullable=False),
    sa.Column("order_ref", sa.String(255), nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=True),
    sa.Column("request_id", sa.String(200), nullable=True),
    sa.Column("batch_id", UUID, nullable=True),
    sa.Index("submissions_org_order_ref", "organisation_id", "order_ref"),
)
# A submission is never updated: what waits for processing is a narrow row here, put in by a trigger on
# every insert into submissions (migration 0009) and deleted by the processing that merges it; the
# outcome of that processing goes to submission_outcomes. Rewriting the ~2 KB submission row to mark it
# processed cost more than anything else processing did (docs/performance.md).
submission_queue = sa.Table(
    "submission_queue",
    metadata,
    sa.Column("seq", ID, primary_key=True, autoincrement=True),  # the order submissions were stored in
    sa.Column("submission_id", UUID, nullable=False),
)
submission_outcomes = sa.Table(
    "submission_outcomes",
    metadata,
    sa.Column("submission_id", UUID, primary_key=True),
    sa.Column("canonical_id", UUID, nullable=False),
    sa.Column("processed_at", TIMESTAMP, nullable=False),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("api_key_id", ID, sa.ForeignKey("api_keys.id"), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.LargeBinary(), nullable=False),
    sa.Column("status", sa.SmallInteger(), nullable=False),
    sa.Column("response", sa.LargeBinary(), nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),
)

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("api_key_id", ID, sa.ForeignKey("api_keys.id"), nullable=False),
    sa.Column("received_at", TIMESTAMP, nullable=False),
    sa.Column("answer", sa.LargeBinary(), nullable=False),
)

batch_organisations = sa.Table(
    "batch_organisations",
    metadata,
    sa.Column("batch_id", UUID, sa.ForeignKey("batches.id"), primary_key=True),
    sa.Column("organisation_id", ID, sa.ForeignKey("organisations.id"), primary_key=True),
)

# One merged order per (organisation, order_ref); `stamps` says which submission each field came from.
# No foreign key to the organisation here or in the outbox, for the reasons submissions have none
# (migration 0010).
canonical_orders = sa.Table(
    "canonical_orders",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("organisation_id", ID, nullable=False),
    sa.Column("order_ref", sa.String(255), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("document", JSON_TEXT, nullable=False),
    sa.Column("stamps", JSON_TEXT, nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.UniqueConstraint("organisation_id", "order_ref", name="canonical_orders_org_order_ref"),
)

# Transactional outbox: one row per change of a canonical order, written in the same transaction.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("event_id", UUID, nullable=False),
    sa.Column("organisation_id", ID, nullable=False),
    sa.Column("canonical_id", UUID, nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("routing_key", sa.String(320), nullable=False),
    sa.Column("payload", sa.LargeBinary(), nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),
)
# The events the relay has not published yet: a trigger adds each new event's id, the relay deletes the
# ids it published, and a second trigger deletes those of events deleted (migration 0012).
outbox_pending = sa.Table(
    "outbox_pending",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=False),
)
# Purge and erasure delete the events of the orders they delete (migration 0011).
sa.Index("outbox_canonical", outbox.c.canonical_id)

# Who changed keys, organisations or data, and when (never a customer's email in clear).
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("at", TIMESTAMP, nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.Text(), nullable=False),
    sa.Column("details", JSON, nullable=False),
)

# One review invitation per canonical order (organisation, order_ref), with the order's facts that
# planning needs, so that re-planning a customer's invitations reads this table alone.
invitations = sa.Table(
    "invitations",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("organisation_id", ID, nullable=False),
    sa.Column("order_ref", sa.String(255), nullable=False),
    sa.Column("canonical_id", UUID, nullable=False),
    # The customer, as cooldown counts them: `ref:` and their customer_ref, else `email:` and the address.
    sa.Column("customer_key", sa.String(330), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("order_date", sa.Date(), nullable=True),
    sa.Column("fulfilment_date", sa.Date(), nullable=True),
    sa.Column("country", sa.String(2), nullable=True),
    sa.Column("sandbox", sa.Boolean(), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(32), nullable=True),
    sa.Column("send_at", TIMESTAMP, nullable=True),
    sa.Column("sent_at", TIMESTAMP, nullable=True),
    sa.Column("reminder_sent_at", TIMESTAMP, nullable=True),
    # When the one reminder is due (set when the invitation is sent, if the policy asks for one).
    sa.Column("reminder_at", TIMESTAMP, nullable=True),
    # Delivery tries: how many failed for a temporary reason, and when the next may start; while a
    # sender holds the invitation, next_attempt_at is the end of its lease.
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
    sa.Column("last_error", sa.String(300), nullable=True),  # the last temporary failure, for operators
    sa.Column("explanation", JSON_TEXT, nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.UniqueConstraint("organisation_id", "order_ref", name="invitations_org_order_ref"),
    sa.Index("invitations_customer", "organisation_id", "customer_key"),
    sa.Index("invitations_email", "organisation_id", "email"),
)
# The rows a new order of the customer can interact with when processing plans it: the slots (scheduled,
# sent) and the rows a slot holds back (cooldown). Too old, suppressed, cancelled and failed ones keep
# their plan whatever other orders do (a policy or suppression change re-plans all rows, elsewhere),
# so a customer with thousands of old orders costs processing nothing.
INVITATIONS_LIVE = "state IN ('scheduled', 'sent') OR (state = 'skipped' AND reason = 'cooldown')"
sa.Index(
    "invitations_customer_live",
    invitations.c.organisation_id,
    invitations.c.customer_key,
    postgresql_where=sa.text(INVITATIONS_LIVE),
    sqlite_where=sa.text(INVITATIONS_LIVE),
)
sa.Index(
    "invitations_due",
    invitations.c.send_at,
    postgresql_where=invitations.c.state == "scheduled",
    sqlite_where=invitations.c.state == "scheduled",
)
# The reminders not yet sent, by when they fall due (the sender's claim).
INVITATIONS_REMINDER_DUE = "reminder_at IS NOT NULL AND reminder_sent_at IS NULL"
sa.Index(
    "invitations_reminder_due",
    invitations.c.reminder_at,
    postgresql_where=sa.text(INVITATIONS_REMINDER_DUE),
    sqlite_where=sa.text(INVITATIONS_REMINDER_DUE),
)

# Addresses not to invite, per organisation, found by a keyed hash of the address; the address itself
# is kept for listing until an erasure clears it (the hash stays, so the customer is never invited).
suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("organisation_id", ID, primary_key=True),
    sa.Column("email_hash", sa.LargeBinary(), primary_key=True),
    sa.Column("email", sa.String(320), nullable=True),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),
)

# A customer's review of one item of an invited order; a second one for the item replaces the first.
reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("invitation_id", UUID, nullable=False),
    sa.Column("sku", sa.String(255), nullable=False),
    sa.Column("rating", sa.SmallInteger(), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.UniqueConstraint("invitation_id", "sku", name="reviews_invitation_sku"),
)

# Secrets every node shares when none is configured (the link-signing key), generated once.
service_secrets = sa.Table(
    "service_secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.LargeBinary(), nullable=False),
)
