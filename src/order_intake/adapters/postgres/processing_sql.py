"""The SQL of processing and of the event relay on PostgreSQL (asyncpg placeholders)."""

# Oldest first; rows another processor holds are skipped, not waited for. A processor that dies
# mid-transaction releases its rows with its connection, so another takes them over.
CLAIM = """
SELECT s.id, s.organisation_id, o.trkref, s.order_ref, s.received_at, s.normalised::text AS normalised, k.sandbox
  FROM submissions s JOIN organisations o ON o.id = s.organisation_id JOIN api_keys k ON k.id = s.api_key_id
 WHERE s.state = 'accepted'
 ORDER BY s.received_at
 LIMIT $1
   FOR UPDATE OF s SKIP LOCKED
"""
# One order is changed by one transaction at a time; keys are taken in one order, so no deadlock.
SELECT_CANONICALS = """
SELECT c.id, c.organisation_id, c.order_ref, c.version, c.document::text AS document,
       c.stamps::text AS stamps, c.created_at, c.updated_at
  FROM canonical_orders c
  JOIN unnest($1::bigint[], $2::text[]) AS k(organisation_id, order_ref)
    ON c.organisation_id = k.organisation_id AND c.order_ref = k.order_ref
"""
# hot path: JSON is cast row by row; casting the whole array first builds an array only to unnest it
# (docs/hot-path.md).
UPSERT_CANONICALS = """
INSERT INTO canonical_orders (id, organisation_id, order_ref, version, document, stamps, created_at, updated_at)
SELECT c.id, c.organisation_id, c.order_ref, c.version, c.document::json, c.stamps::json, c.created_at,
       c.updated_at
  FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::int[], $5::text[], $6::text[], $7::timestamptz[],
              $8::timestamptz[]) AS c(id, organisation_id, order_ref, version, document, stamps, created_at, updated_at)
ON CONFLICT (organisation_id, order_ref) DO UPDATE
   SET version = EXCLUDED.version, document = EXCLUDED.document, stamps = EXCLUDED.stamps,
       updated_at = EXCLUDED.updated_at
"""
# Events go in by binary COPY, like submissions (see postgres_sql.SUBMISSION_COLUMNS); id is the table's.
OUTBOX_TABLE = "outbox"
EVENT_COLUMNS = ("event_id", "organisation_id", "canonical_id", "version", "routing_key", "payload", "created_at")
MARK_PROCESSED = """
UPDATE submissions s SET state = 'processed', processed_at = $1, canonical_id = d.canonical_id
  FROM unnest($2::uuid[], $3::uuid[]) AS d(id, canonical_id)
 WHERE s.id = d.id
"""
CLAIM_UNSENT = """
SELECT id, event_id, version, routing_key, payload, sent_at FROM outbox
 WHERE sent_at IS NULL ORDER BY id LIMIT $1
   FOR UPDATE SKIP LOCKED
"""
MARK_SENT = "UPDATE outbox SET sent_at = $1 WHERE id = ANY($2::bigint[])"
EVENTS_AFTER = """
SELECT e.id, e.event_id, e.version, e.routing_key, e.payload, e.sent_at
  FROM outbox e JOIN organisations o ON o.id = e.organisation_id
 WHERE e.id > $1 AND ($2::text IS NULL OR o.trkref = $2)
 ORDER BY e.id LIMIT $3
"""
SELECT_CANONICAL = """
SELECT id, organisation_id, order_ref, version, document::text AS document, stamps::text AS stamps,
       created_at, updated_at
  FROM canonical_orders WHERE organisation_id = $1 AND order_ref = $2
"""
BACKLOG = """
SELECT coalesce(extract(epoch FROM now() - (SELECT min(received_at) FROM submissions WHERE state = 'accepted')), 0),
       (SELECT count(*) FROM outbox WHERE sent_at IS NULL)
"""
# The link-signing key: made by whoever asks first, the same for every node (a conflict keeps the first).
SIGNING_KEY = """
WITH made AS (INSERT INTO service_secrets (name, value) VALUES ('signing', $1) ON CONFLICT (name) DO NOTHING
              RETURNING value)
SELECT value FROM made UNION ALL SELECT value FROM service_secrets WHERE name = 'signing' LIMIT 1
"""
