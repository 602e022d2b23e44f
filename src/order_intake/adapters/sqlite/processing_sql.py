"""The SQL of processing and of the event relay on SQLite (one writer at a time: BEGIN IMMEDIATE)."""

# The oldest queued submissions (erasure and purges delete the queue rows of what they delete).
CLAIM = """
SELECT s.id, s.organisation_id, o.trkref, s.order_ref, s.received_at, s.normalised, k.sandbox, q.seq
  FROM submission_queue q JOIN submissions s ON s.id = q.submission_id
  JOIN organisations o ON o.id = s.organisation_id JOIN api_keys k ON k.id = s.api_key_id
 ORDER BY q.seq
 LIMIT ?
"""

# The same, leaving the submissions of a JSON array of ids queued (set aside after their processing raised).
CLAIM_SKIPPING = """
SELECT s.id, s.organisation_id, o.trkref, s.order_ref, s.received_at, s.normalised, k.sandbox, q.seq
  FROM submission_queue q JOIN submissions s ON s.id = q.submission_id
  JOIN organisations o ON o.id = s.organisation_id JOIN api_keys k ON k.id = s.api_key_id
 WHERE q.submission_id NOT IN (SELECT value FROM json_each(?))
 ORDER BY q.seq
 LIMIT ?
"""

_CANONICAL_COLUMNS = "id, organisation_id, order_ref, version, document, stamps, created_at, updated_at"
SELECT_CANONICAL = f"SELECT {_CANONICAL_COLUMNS} FROM canonical_orders WHERE organisation_id = ? AND order_ref = ?"  # noqa: S608 - constant column list
# A new order's row; a conflict means another processor made it first (nothing is inserted).
INSERT_CANONICAL = f"""
INSERT INTO canonical_orders ({_CANONICAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (organisation_id, order_ref) DO NOTHING
"""  # noqa: S608 - constant column list
UPDATE_CANONICAL = "UPDATE canonical_orders SET version = ?, document = ?, stamps = ?, updated_at = ? WHERE id = ?"
CANONICAL_VERSION = "SELECT version FROM canonical_orders WHERE id = ?"
INSERT_EVENT = """
INSERT INTO outbox (event_id, organisation_id, canonical_id, version, routing_key, payload, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""
# Taking a submission off the queue: no row taken means someone else processed (or erased) it since.
DEQUEUE = "DELETE FROM submission_queue WHERE seq = ?"
MARK_PROCESSED = """
INSERT INTO submission_outcomes (submission_id, canonical_id, processed_at) VALUES (?, ?, ?)
ON CONFLICT (submission_id) DO UPDATE SET canonical_id = excluded.canonical_id, processed_at = excluded.processed_at
"""
_OUTBOX_COLUMNS = "e.id, e.event_id, e.version, e.routing_key, e.payload"
# The oldest events not published yet (outbox_pending, migration 0012); publishing takes them off the list.
SELECT_UNSENT = f"""
SELECT {_OUTBOX_COLUMNS} FROM outbox_pending p JOIN outbox e ON e.id = p.id ORDER BY p.id LIMIT ?
"""  # noqa: S608 - constant column list
MARK_SENT = "DELETE FROM outbox_pending WHERE id = ?"
EVENTS_AFTER = f"""
SELECT {_OUTBOX_COLUMNS} FROM outbox e JOIN organisations o ON o.id = e.organisation_id
 WHERE e.id > ? AND (? IS NULL OR o.trkref = ?)
 ORDER BY e.id LIMIT ?
"""  # noqa: S608 - constant column list
# The unsent events are counted only when a broker takes them: without one, none is ever sent.
BACKLOG = """
SELECT (SELECT s.received_at FROM submission_queue q JOIN submissions s ON s.id = q.submission_id
         ORDER BY q.seq LIMIT 1),
       CASE WHEN ? THEN (SELECT count(*) FROM outbox_pending) END
"""
# The link-signing key: made by whoever asks first (a conflict keeps the first), then read.
MAKE_SIGNING_KEY = "INSERT INTO service_secrets (name, value) VALUES ('signing', ?) ON CONFLICT (name) DO NOTHING"
SIGNING_KEY = "SELECT value FROM service_secrets WHERE name = 'signing'"
