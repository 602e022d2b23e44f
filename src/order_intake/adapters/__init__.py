"""The ports' implementations, one package per database, and the writer and brokers beside them.

postgres/ and sqlite/ (the request path and processing), sql/ (the admin path on both), backend.py
(which of the two), writer.py (group commit), rabbitmq.py (events), redis_limiter.py (rate limits).
"""
