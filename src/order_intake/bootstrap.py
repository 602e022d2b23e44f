"""The one place that wires settings, the backend's stores, writer, authenticator and app together."""

import datetime as dt
import functools
import urllib.parse

from order_intake.adapters.backend import backend_for
from order_intake.adapters.database_url import parse_database_url
from order_intake.adapters.sql.suppression_store import SqlSuppressions
from order_intake.adapters.writer import GroupCommitWriter
from order_intake.config import Settings
from order_intake.metrics import Metrics
from order_intake.service.auth import Authenticator
from order_intake.service.delivery import Counted, Sender, letter_of
from order_intake.service.idempotency import InFlight
from order_intake.service.invitations import InvitationPlanning
from order_intake.service.ports import Deliveries, Suppressions
from order_intake.service.ratelimit import BucketStore, LocalBuckets, RateLimiter
from order_intake.service.submit import Intake


def make_buckets(settings: Settings) -> BucketStore:
    """Rate-limit buckets in Redis when REDIS_URL is set (shared by all processes), else in this process."""
    if settings.redis_url:
        # hot path: imported here, as the Redis client costs start-up time where unused (docs/hot-path.md)
        from order_intake.adapters.redis_limiter import RedisBuckets  # noqa: PLC0415

        return RedisBuckets(settings.redis_url, prefix=settings.redis_prefix)
    return LocalBuckets()


def make_sender(
    settings: Settings,
    store: Deliveries,
    suppressions: Suppressions,
    secret: bytes,
    counted: Counted | None = None,
) -> Sender:
    """The worker's invitation sender: MAIL_URL's mailer, SANDBOX_MAIL_URL's for sandbox keys' invitations.

    The mail modules are imported here: they bring aiosmtplib, Jinja2 and Babel, which the HTTP
    processes (which import this module too) load only for a customer's page, if ever.
    """
    from order_intake.adapters.mail.transports import mailer_for  # noqa: PLC0415
    from order_intake.adapters.mail.url import parse_mail_url  # noqa: PLC0415

    domain = urllib.parse.urlsplit(settings.public_url).hostname or "order-intake.invalid"
    letter = functools.partial(
        letter_of, secret=secret, public_url=settings.public_url, default_from=settings.mail_from, domain=domain
    )
    mailers = (mailer_for(parse_mail_url(settings.mail_url)), mailer_for(parse_mail_url(settings.sandbox_mail_url)))
    return Sender(
        store,
        mailers,
        suppressions,
        letter,
        lease=dt.timedelta(seconds=settings.mail_lease_seconds),
        batch=settings.mail_batch,
        counted=counted,
    )


class Services:
    """The process's long-lived parts, created in the app's lifespan and closed with it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        url = parse_database_url(settings.database_url)
        backend = backend_for(url)
        self.store = backend.intake_store(settings)
        self.metrics = Metrics()
        self.writer = GroupCommitWriter(
            self.store.commit_units,
            max_batch=settings.writer_max_batch,
            max_queued=settings.writer_max_queued,
            max_inflight=backend.writer_inflight(settings),
            observe=self.metrics.commit,
        )
        self.intake = Intake(store=self.store, writer=self.writer, in_flight=InFlight())
        self.auth = Authenticator(self.store, ttl=settings.auth_cache_seconds)
        self.limiter = RateLimiter(make_buckets(settings))
        self.metrics.watch_rate_limiter(self.limiter)
        # Canonical orders and the backlog are read through the processing store; the processing
        # itself runs in a worker process of its own (entrypoints/supervisor.py).
        self.processing = backend.processing_store(self.store)
        self._planning: InvitationPlanning | None = None
        # A retailer's suppressions go through the admin commands' SQL (SQLAlchemy, on first use).
        self.suppressions = SqlSuppressions(url)
        self.metrics.watch_backlog(self.processing, unsent=settings.broker_url is not None)

    async def invitations(self) -> InvitationPlanning:
        """Invitation planning with the signing key, read from the database on first use."""
        if self._planning is None:
            self._planning = InvitationPlanning(await self.processing.signing_key())
        return self._planning

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
        await self.suppressions.close()
        await self.store.close()
        await self.limiter.close()
