"""The SQL of the PostgreSQL store (asyncpg placeholders); PostgresStore runs it."""

# hot path: submissions go in by COPY (binary), not INSERT ... SELECT FROM unnest(arrays) (docs/hot-path.md):
# asyncpg encodes a record field by field, where an array costs it an abstract-class check per
# element, and PostgreSQL inserts the rows in bulk. SUBMISSION_COLUMNS is in the record's order.
SUBMISSIONS_TABLE = "submissions"
SUBMISSION_COLUMNS = (
    "id",
    "organisation_id",
    "api_key_id",
    "received_at",
    "body",
    "normalised",
    "order_ref",
    "idempotency_key",
    "request_id",
    "batch_id",
)
# A row older than the window is replaced; a fresher one wins and comes back by SELECT_IDEMPOTENCY.
CLAIM_IDEMPOTENCY = """
INSERT INTO idempotency_keys AS k (api_key_id, key, fingerprint, status, response, created_at)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::smallint[], $5::bytea[],
                     $6::timestamptz[])
ON CONFLICT (api_key_id, key) DO UPDATE
   SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status,
       response = EXCLUDED.response, created_at = EXCLUDED.created_at
 WHERE k.created_at < EXCLUDED.created_at - $7::interval
RETURNING api_key_id, key
"""
INSERT_BATCHES = """
INSERT INTO batches (id, api_key_id, received_at, answer)
SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[], $4::bytea[])
"""
INSERT_BATCH_ORGANISATIONS = """
INSERT INTO batch_organisations (batch_id, organisation_id)
SELECT * FROM unnest($1::uuid[], $2::bigint[])
"""
SELECT_BATCH = """
SELECT b.id, b.received_at, b.answer FROM batches b
 WHERE b.id = $1
   AND NOT EXISTS (SELECT 1 FROM batch_organisations bo
                    WHERE bo.batch_id = b.id AND bo.organisation_id <> ALL($3::bigint[]))
   AND (b.api_key_id = $2 OR EXISTS (SELECT 1 FROM batch_organisations bo WHERE bo.batch_id = b.id))
"""
SELECT_IDEMPOTENCY = """
SELECT api_key_id, key, fingerprint, status, response, created_at FROM idempotency_keys
 WHERE api_key_id = $1 AND key = $2 AND created_at >= $3
"""
# One row per (key, organisation), in records.keys_from_rows's columns; the same as SQLite's.
_KEYS = """
SELECT k.id, k.username, k.secret_salt, k.secret_hash, k.customer_order, k.revoked_at IS NOT NULL,
       o.id, o.trkref, o.name, o.customer_order_enabled, k.rate, k.burst
  FROM api_keys k
  LEFT JOIN api_key_organisations ko ON ko.api_key_id = k.id
  LEFT JOIN organisations o ON o.id = ko.organisation_id
"""
SELECT_KEY = _KEYS + " WHERE k.username = $1 ORDER BY o.trkref"
SELECT_KEYS = _KEYS + " ORDER BY o.trkref"
SELECT_SUBMISSION = """
SELECT s.id, s.organisation_id, s.received_at, s.normalised::text AS normalised, o.processed_at, o.canonical_id
  FROM submissions s LEFT JOIN submission_outcomes o ON o.submission_id = s.id
 WHERE s.organisation_id = $1 AND s.id = $2
"""
