"""The SQL of processing and of the event relay on PostgreSQL (asyncpg placeholders)."""

# Oldest first; queue rows another processor holds are skipped, not waited for. The claimed queue rows
# are deleted in the same statement: a processor that dies mid-transaction rolls the deletion back
# with its connection, so another takes them over.
# Two statements, each planned alike whatever the tables' statistics say: as one (the deletion as a
# CTE joined to submissions) the planner's estimate of the claimed rows grew with the queue, and
# past some size it read all of submissions for every claim, so a backlog made itself worse.
CLAIM = """
DELETE FROM submission_queue
 WHERE seq = ANY(ARRAY(SELECT seq FROM submission_queue ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED))
RETURNING submission_id
"""
# The same, leaving the submissions in $2 queued (set aside after their processing raised).
CLAIM_SKIPPING = """
DELETE FROM submission_queue
 WHERE seq = ANY(ARRAY(SELECT seq FROM submission_queue WHERE submission_id <> ALL($2::uuid[])
                        ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED))
RETURNING submission_id
"""
# A claimed submission erased meanwhile is simply not found.
CLAIMED = """
SELECT s.id, s.organisation_id, o.trkref, s.order_ref, s.received_at, s.normalised::text AS normalised, k.sandbox
  FROM submissions s JOIN organisations o ON o.id = s.organisation_id JOIN api_keys k ON k.id = s.api_key_id
 WHERE s.id = ANY($1::uuid[])
 ORDER BY s.received_at
"""
# One order is changed by one transaction at a time; keys are taken in one order, so no deadlock.
# One index lookup per key, whatever the statistics say (see invitations.BY_ORDERS).
SELECT_CANONICALS = """
SELECT c.id, c.organisation_id, c.order_ref, c.version, c.document::text AS document,
       c.stamps::text AS stamps, c.created_at, c.updated_at
  FROM unnest($1::bigint[], $2::text[]) AS k(organisation_id, order_ref)
 CROSS JOIN LATERAL (SELECT * FROM canonical_orders c
                      WHERE c.organisation_id = k.organisation_id AND c.order_ref = k.order_ref OFFSET 0) c
"""
# New canonical orders go in by binary COPY; the ones read under the advisory locks are updated (the
# second condition on the id lets the planner find them by index, whatever the statistics say).
# hot path: JSON is cast row by row; casting the whole array first builds an array only to unnest it
# (docs/hot-path.md).
CANONICAL_TABLE = "canonical_orders"
CANONICAL_COLUMNS = ("id", "organisation_id", "order_ref", "version", "document", "stamps", "created_at", "updated_at")
UPDATE_CANONICALS = """
UPDATE canonical_orders c
   SET version = d.version, document = d.document::json, stamps = d.stamps::json, updated_at = d.updated_at
  FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::timestamptz[])
       AS d(id, version, document, stamps, updated_at)
 WHERE c.id = d.id AND c.id = ANY($1::uuid[])
"""
# Events go in by binary COPY, like submissions (see postgres_sql.SUBMISSION_COLUMNS); id is the table's.
OUTBOX_TABLE = "outbox"
EVENT_COLUMNS = ("event_id", "organisation_id", "canonical_id", "version", "routing_key", "payload", "created_at")
# A submission put back in the queue (erasure) already lost its outcome; the conflict clause is for a
# row an operator requeued by hand.
MARK_PROCESSED = """
INSERT INTO submission_outcomes (submission_id, canonical_id, processed_at)
SELECT d.id, d.canonical_id, $1 FROM unnest($2::uuid[], $3::uuid[]) AS d(id, canonical_id)
ON CONFLICT (submission_id) DO UPDATE SET canonical_id = EXCLUDED.canonical_id, processed_at = EXCLUDED.processed_at
"""
# The oldest unsent events, taken off the pending list in the relay's transaction (a failed publish rolls
# the deletion back; other relays skip the locked rows). The events are read by their keys, never by a
# join the planner could turn into a scan of the outbox.
CLAIM_PENDING = """
WITH claimed AS (
  DELETE FROM outbox_pending
   WHERE id = ANY(ARRAY(SELECT id FROM outbox_pending ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED))
  RETURNING id
)
SELECT id, event_id, version, routing_key, payload FROM outbox
 WHERE id = ANY(ARRAY(SELECT id FROM claimed))
 ORDER BY id
"""
EVENTS_AFTER = """
SELECT e.id, e.event_id, e.version, e.routing_key, e.payload
  FROM outbox e JOIN organisations o ON o.id = e.organisation_id
 WHERE e.id > $1 AND ($2::text IS NULL OR o.trkref = $2)
 ORDER BY e.id LIMIT $3
"""
SELECT_CANONICAL = """
SELECT id, organisation_id, order_ref, version, document::text AS document, stamps::text AS stamps,
       created_at, updated_at
  FROM canonical_orders WHERE organisation_id = $1 AND order_ref = $2
"""
# The unsent events are counted only when a broker takes them: without one, none is ever sent.
BACKLOG = """
SELECT coalesce(extract(epoch FROM now() - (SELECT s.received_at FROM submission_queue q JOIN submissions s
                                                ON s.id = q.submission_id ORDER BY q.seq LIMIT 1)), 0),
       CASE WHEN $1 THEN (SELECT count(*) FROM outbox_pending) END
"""
# The link-signing key: made by whoever asks first, the same for every node (a conflict keeps the first).
SIGNING_KEY = """
WITH made AS (INSERT INTO service_secrets (name, value) VALUES ('signing', $1) ON CONFLICT (name) DO NOTHING
              RETURNING value)
SELECT value FROM made UNION ALL SELECT value FROM service_secrets WHERE name = 'signing' LIMIT 1
"""
