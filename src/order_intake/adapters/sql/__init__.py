"""Both databases through SQLAlchemy Core, for what is off the request path.

The schema (schema.py) and its migrations (migrate.py, migrations/), organisations and keys (admin.py),
the audit log (audit.py), erasure (erasure.py, erasure_answers.py, privacy.py), retention (retention.py).
"""
