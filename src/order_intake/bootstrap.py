"""The one place that wires settings, store, writer, authenticator and app together."""

from order_intake.adapters.database_url import DatabaseUrl, parse_database_url
from order_intake.adapters.postgres import PostgresStore
from order_intake.adapters.sqlite import SqliteStore
from order_intake.adapters.store import Store
from order_intake.adapters.writer import GroupCommitWriter
from order_intake.background import make_processing_store
from order_intake.config import Settings
from order_intake.metrics import Metrics
from order_intake.service.auth import Authenticator
from order_intake.service.idempotency import InFlight
from order_intake.service.ratelimit import BucketStore, LocalBuckets, RateLimiter
from order_intake.service.submit import Intake


def make_store(url: DatabaseUrl, settings: Settings) -> Store:
    """The store for this DATABASE_URL."""
    if url.sqlite_path is not None:
        return SqliteStore(url.sqlite_path)
    assert url.dsn is not None  # noqa: S101 - parse_database_url sets one of the two
    return PostgresStore(url.dsn, pool_size=settings.pool_size)


def make_buckets(settings: Settings) -> BucketStore:
    """Rate-limit buckets in Redis when REDIS_URL is set (shared by all processes), else in this process."""
    if settings.redis_url:
        # hot path: imported here, as the Redis client costs start-up time where unused (docs/hot-path.md)
        from order_intake.adapters.redis_limiter import RedisBuckets  # noqa: PLC0415

        return RedisBuckets(settings.redis_url, prefix=settings.redis_prefix)
    return LocalBuckets()


class Services:
    """The process's long-lived parts, created in the app's lifespan and closed with it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        url = parse_database_url(settings.database_url)
        self.store = make_store(url, settings)
        inflight = 1 if settings.is_sqlite else settings.writer_inflight
        self.metrics = Metrics()
        self.writer = GroupCommitWriter(
            self.store.commit_units,
            max_batch=settings.writer_max_batch,
            max_inflight=inflight,
            observe=self.metrics.commit,
        )
        self.intake = Intake(store=self.store, writer=self.writer, in_flight=InFlight())
        self.auth = Authenticator(self.store, ttl=settings.auth_cache_seconds)
        self.limiter = RateLimiter(make_buckets(settings))
        self.metrics.watch_rate_limiter(self.limiter)
        # Canonical orders and the backlog are read through the processing store; the processing
        # itself runs in a worker process of its own (entrypoints/supervisor.py).
        self.processing = make_processing_store(url, self.store)
        self.metrics.watch_backlog(self.processing)

    async def start(self) -> None:
        """Open the store and start the writer."""
        await self.store.open()
        self.writer.start()
        self.metrics.start()
        await self.processing.open()

    async def stop(self) -> None:
        """Commit what is queued, then close the store."""
        await self.writer.stop()
        await self.metrics.stop()
        await self.processing.close()
        await self.store.close()
        await self.limiter.close()
