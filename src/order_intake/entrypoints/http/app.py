"""The RSGI application: worker start and stop, routing, error answers and the access log."""

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from order_intake import collector, logs
from order_intake.bootstrap import Services
from order_intake.config import Settings, load_settings
from order_intake.domain import catalogue
from order_intake.domain.access import is_valid_trkref
from order_intake.entrypoints.http import openapi, pages, replies
from order_intake.entrypoints.http.context import Context
from order_intake.entrypoints.http.exchange import Exchange
from order_intake.entrypoints.http.linger import Lingering
from order_intake.entrypoints.http.refused import HTML, PageRefused, Refused
from order_intake.entrypoints.http.router import Router
from order_intake.entrypoints.http.rsgi import RsgiProtocol, Scope
from order_intake.entrypoints.http.table import ROUTES
from order_intake.errors import BodyTimeout, IncompleteBody, StoreUnavailable, WriterClosed, WriterQueueFull

if TYPE_CHECKING:
    from order_intake.entrypoints.http.worker_start import EarlyStop
    from order_intake.metrics import Metrics

log = logging.getLogger("order_intake.http")
_ROUTER = Router([(route.template, route.method, route.endpoint) for route in ROUTES])


class App:
    """order-intake as an RSGI application (granian calls the three dunder methods)."""

    _loop: asyncio.AbstractEventLoop  # the worker's, from __rsgi_init__ on

    def __init__(self, settings: Settings, early_stop: "EarlyStop") -> None:
        self._settings = settings
        self._early_stop = early_stop  # holds stop signals until the worker serves (see worker_start)
        self._services: Services | None = None
        self._metrics: Metrics | None = None
        self._context: Context | None = None
        self._access = logs.AccessLog(enabled=logging.getLogger().isEnabledFor(logging.INFO))
        # The bodies of requests answered before they were read, read and dropped within bounds (linger.py).
        self._lingering = Lingering(settings.body_timeout_seconds)

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Worker start, before it serves: open the store, start the writer."""
        self._early_stop.hold()
        self._loop = loop
        self._services = Services(self._settings)
        loop.run_until_complete(self._services.start())
        self._metrics = self._services.metrics
        # What every handler gets: the same long-lived services for every request, made once.
        self._context = Context(
            intake=self._services.intake,
            auth=self._services.auth,
            processing=self._services.processing,
            metrics=self._services.metrics,
            limiter=self._services.limiter,
            openapi=openapi.document,
            invitations=self._services.invitations,
            suppressions=self._services.suppressions,
            public_url=self._settings.public_url,
        )
        collector.tune_after_start_up()  # hot path: about 10% more orders/s (docs/hot-path.md)
        self._early_stop.replay(loop)

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Worker stop, after it stopped serving: commit what the writer holds, close the store."""
        if self._services is not None:
            loop.run_until_complete(self._services.stop())
        self._access.flush()

    async def __rsgi__(self, scope: Scope, proto: RsgiProtocol) -> None:
        """Serve one HTTP request."""
        await self._http(Exchange(scope, proto, self._settings.body_timeout_seconds, self._lingering, self._loop))

    async def _http(self, ex: Exchange) -> None:
        started = time.perf_counter()
        failure: Exception | None = None
        try:
            await self._dispatch(ex)
        except Exception as exc:  # noqa: BLE001 - each kind is answered below; the rest is a 500, logged
            failure = exc
        if failure is not None:
            # hot path: answered outside the except block, where compiled code would leave the error
            # as the context of every later exception in this process (docs/hot-path.md).
            await _answer_failure(ex, failure)
            failure = None  # its traceback holds this frame: no cycle left for the collector
        elapsed = time.perf_counter() - started
        if self._metrics is not None:
            self._metrics.request(ex.route, ex.method, ex.status, elapsed)
        latency_ms = round(elapsed * 1000, 3)
        self._access.request(
            method=ex.method,
            route=ex.route,
            status=ex.status,
            latency_ms=latency_ms,
            request_id=ex.request_id,
            trkref=ex.trkref if ex.trkref is not None and is_valid_trkref(ex.trkref) else None,  # never an e-mail
        )

    async def _dispatch(self, ex: Exchange) -> None:
        problem = ex.header_problem()
        if problem is not None:
            raise replies.refusal(400, problem, [("connection", "close")])
        found = _ROUTER.match(ex.path)
        if found is None:
            if ex.path.startswith(pages.PREFIXES):  # a customer's page gets a page, never JSON
                raise pages.not_found()
            raise replies.refusal(404, catalogue.NOT_FOUND)
        ex.route = found.template
        endpoint = found.methods.get(ex.method)
        if endpoint is None:
            allow = ", ".join(sorted(found.methods))
            if found.template.startswith(pages.PREFIXES):
                raise pages.method_not_allowed(allow)
            raise replies.refusal(405, catalogue.METHOD_NOT_ALLOWED, [("allow", allow)])
        assert self._context is not None  # noqa: S101 - __rsgi_init__ ran before any request
        await endpoint(self._context, ex, found.params)


async def _answer_failure(ex: Exchange, failure: Exception) -> None:
    """The answer to what the request's handling raised: its own refusal, a 4xx, a 503 or a 500."""
    if isinstance(failure, Refused):
        await ex.answer(failure.status, failure.answer, failure.headers)
    elif isinstance(failure, PageRefused):
        await ex.answer_bytes(failure.status, failure.body, failure.headers, content_type=HTML)
    elif isinstance(failure, IncompleteBody | BodyTimeout) and ex.route.startswith(pages.PREFIXES):
        refused = pages.incomplete(400 if isinstance(failure, IncompleteBody) else 408)
        await ex.answer_bytes(refused.status, refused.body, refused.headers, content_type=HTML)
    elif isinstance(failure, IncompleteBody):
        await replies.message(ex, 400, catalogue.INCOMPLETE_BODY, [("connection", "close")])
    elif isinstance(failure, BodyTimeout):
        await replies.message(ex, 408, catalogue.REQUEST_TIMEOUT, [("connection", "close")])
    elif isinstance(failure, StoreUnavailable | WriterClosed):
        # What the database said, when it answered (read-only, full...)
        sqlstate = failure.sqlstate if isinstance(failure, StoreUnavailable) else None
        log.warning("database unavailable", extra={"request_id": ex.request_id, "sqlstate": sqlstate})
        if ex.status == 0:
            await _unavailable(ex, queue_full=isinstance(failure, WriterQueueFull))
    else:
        log.error("unexpected failure", exc_info=failure, extra={"request_id": ex.request_id})
        if ex.status == 0:
            await replies.message(ex, 500, catalogue.INTERNAL_ERROR)


async def _unavailable(ex: Exchange, *, queue_full: bool) -> None:
    """503: JSON for the API (Retry-After when only the writer's queue is full), a page for a customer's page."""
    if ex.route.startswith(pages.PREFIXES):
        refused = pages.unavailable()
        await ex.answer_bytes(refused.status, refused.body, refused.headers, content_type=HTML)
    else:
        await replies.message(ex, 503, catalogue.SERVICE_UNAVAILABLE, [("retry-after", "1")] if queue_full else None)


def create_app(early_stop: "EarlyStop") -> App:
    """The app, with its settings from the environment (granian's factory is worker_start.create_app)."""
    settings = load_settings()
    logs.configure(settings.log_level)
    return App(settings, early_stop)
