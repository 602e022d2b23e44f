"""The SQL of the SQLite store (qmark placeholders); SqliteStore runs it."""

INSERT_SUBMISSION = """
INSERT INTO submissions (id, organisation_id, api_key_id, received_at, body, normalised,
                         order_ref, idempotency_key, request_id, batch_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
CLAIM_IDEMPOTENCY = """
INSERT INTO idempotency_keys AS k (api_key_id, key, fingerprint, status, response, created_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (api_key_id, key) DO UPDATE
   SET fingerprint = excluded.fingerprint, status = excluded.status,
       response = excluded.response, created_at = excluded.created_at
 WHERE k.created_at < ?
RETURNING key
"""
INSERT_BATCH = "INSERT INTO batches (id, api_key_id, received_at, answer) VALUES (?, ?, ?, ?)"
INSERT_BATCH_ORGANISATION = "INSERT INTO batch_organisations (batch_id, organisation_id) VALUES (?, ?)"
SELECT_BATCH = """
SELECT b.id, b.received_at, b.answer FROM batches b
 WHERE b.id = ?
   AND NOT EXISTS (SELECT 1 FROM batch_organisations bo
                    WHERE bo.batch_id = b.id AND bo.organisation_id NOT IN (SELECT value FROM json_each(?)))
   AND (b.api_key_id = ? OR EXISTS (SELECT 1 FROM batch_organisations bo WHERE bo.batch_id = b.id))
"""
SELECT_IDEMPOTENCY = """
SELECT api_key_id, key, fingerprint, status, response, created_at FROM idempotency_keys
 WHERE api_key_id = ? AND key = ? AND created_at >= ?
"""
# One row per (key, organisation), in records.keys_from_rows's columns; the same as PostgreSQL's.
_KEYS = """
SELECT k.id, k.username, k.secret_salt, k.secret_hash, k.customer_order, k.revoked_at IS NOT NULL,
       o.id, o.trkref, o.name, o.customer_order_enabled, k.rate, k.burst
  FROM api_keys k
  LEFT JOIN api_key_organisations ko ON ko.api_key_id = k.id
  LEFT JOIN organisations o ON o.id = ko.organisation_id
"""
SELECT_KEY = _KEYS + " WHERE k.username = ? ORDER BY o.trkref"
SELECT_KEYS = _KEYS + " ORDER BY o.trkref"
SELECT_SUBMISSION = """
SELECT s.id, s.organisation_id, s.received_at, s.normalised, o.processed_at, o.canonical_id
  FROM submissions s LEFT JOIN submission_outcomes o ON o.submission_id = s.id
 WHERE s.organisation_id = ? AND s.id = ?
"""
