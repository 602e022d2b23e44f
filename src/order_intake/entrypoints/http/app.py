"""The RSGI application: worker start and stop, routing, error answers and the access log."""

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from order_intake import logs
from order_intake.bootstrap import Services
from order_intake.config import Settings, load_settings
from order_intake.domain import catalogue
from order_intake.domain.access import is_valid_trkref
from order_intake.entrypoints.http import answers, batch_routes, openapi, openapi_paths, routes
from order_intake.entrypoints.http.exchange import Exchange, Protocol_, Scope
from order_intake.errors import BodyTimeout, IncompleteBody, StoreUnavailable, WriterClosed

if TYPE_CHECKING:
    from order_intake.entrypoints.http.worker_start import EarlyStop
    from order_intake.metrics import Metrics

log = logging.getLogger("order_intake.http")
_GC_YOUNG_THRESHOLD = 20_000
Handler = Callable[..., Awaitable[None]]

# Route shapes: path segments, with None where a parameter stands.
_ROUTES: list[tuple[tuple[str | None, ...], dict[str, Handler]]] = [
    (("v4", "organisations"), {"GET": routes.list_organisations}),
    (("v4", "organisations", None, "customer_order"), {"POST": routes.submit}),
    (("v4", "organisations", None, "customer_order", None), {"GET": routes.show_submission}),
    (("v4", "organisations", None, "customer_orders", None), {"GET": routes.show_customer_order}),
    (("v4", "customer_orders"), {"POST": batch_routes.submit}),
    (("v4", "customer_orders", None), {"GET": batch_routes.show}),
    (("health",), {"GET": routes.health}),
    (("ready",), {"GET": routes.ready}),
    (("openapi.json",), {"GET": openapi.serve}),
    (("metrics",), {"GET": routes.metrics}),
]
Shape = tuple[str | None, ...]


def _template(shape: Shape) -> str:
    """The route as the OpenAPI document names it (`/v4/organisations/{trkref}/customer_order`)."""
    for path in openapi_paths.paths():
        if tuple(None if p.startswith("{") else p for p in path.strip("/").split("/")) == shape:
            return path
    return "/" + "/".join("{param}" if s is None else s for s in shape)


# The metrics label of each route: its template, never the trkref or id that filled it in.
_TEMPLATES: dict[Shape, str] = {shape: _template(shape) for shape, _ in _ROUTES}


# A route by its fixed segments (position, text) and the positions of its parameters.
_Compiled = tuple[Shape, tuple[tuple[int, str], ...], tuple[int, ...], dict[str, Handler]]


# hot path: routes grouped by segment count, matched by a few comparisons (docs/hot-path.md)
def _by_length() -> dict[int, list[_Compiled]]:
    """The routes by their number of segments, in _ROUTES's order: matching a path is then a few comparisons."""
    routes: dict[int, list[_Compiled]] = {}
    for shape, methods in _ROUTES:
        fixed = tuple((i, s) for i, s in enumerate(shape) if s is not None)
        params = tuple(i for i, s in enumerate(shape) if s is None)
        routes.setdefault(len(shape), []).append((shape, fixed, params, methods))
    return routes


_BY_LENGTH: dict[int, list[_Compiled]] = _by_length()


def _match(path: str) -> tuple[Shape, dict[str, Handler], list[str]] | None:
    """The route of a path, its methods and its parameters; None unless every segment is there exactly once.

    `//v4/organisations`, `/v4//organisations` and a trailing slash match nothing: no segment is empty.
    """
    if not path.startswith("/"):
        return None
    segments = path[1:].split("/") if path != "/" else []
    if "" in segments:
        return None
    for shape, fixed, params, methods in _BY_LENGTH.get(len(segments), ()):
        for index, text in fixed:
            if segments[index] != text:
                break
        else:
            return shape, methods, [segments[i] for i in params]
    return None


class App:
    """order-intake as an RSGI application (granian calls the three dunder methods)."""

    def __init__(self, settings: Settings, early_stop: "EarlyStop") -> None:
        self._settings = settings
        self._early_stop = early_stop  # holds stop signals until the worker serves (see worker_start)
        self._services: Services | None = None
        self._metrics: Metrics | None = None
        self._context: routes.Context | None = None
        self._access = logs.AccessLog(enabled=logging.getLogger().isEnabledFor(logging.INFO))

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Worker start, before it serves: open the store, start the writer."""
        self._early_stop.hold()
        self._services = Services(self._settings)
        loop.run_until_complete(self._services.start())
        self._metrics = self._services.metrics
        # What every handler gets: the same long-lived services for every request, made once.
        self._context = routes.Context(
            intake=self._services.intake,
            auth=self._services.auth,
            processing=self._services.processing,
            metrics=self._services.metrics,
            limiter=self._services.limiter,
        )
        # hot path: GC tuned for requests, about 10% more orders/s (docs/hot-path.md). Requests allocate
        # many short-lived containers and almost no cycles: collect the young generation less often,
        # and never re-scan what start-up made.
        gc.collect()
        gc.freeze()
        gc.set_threshold(_GC_YOUNG_THRESHOLD, 50, 100)
        self._early_stop.replay(loop)

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Worker stop, after it stopped serving: commit what the writer holds, close the store."""
        if self._services is not None:
            loop.run_until_complete(self._services.stop())
        self._access.flush()

    async def __rsgi__(self, scope: Scope, proto: Protocol_) -> None:
        """Serve one HTTP request."""
        await self._http(Exchange(scope, proto, self._settings.body_timeout_seconds))

    async def _http(self, ex: Exchange) -> None:
        started = time.perf_counter()
        try:
            await self._dispatch(ex)
        except IncompleteBody:
            await answers.message(ex, 400, catalogue.INCOMPLETE_BODY, [("connection", "close")])
        except BodyTimeout:
            await answers.message(ex, 408, catalogue.REQUEST_TIMEOUT, [("connection", "close")])
        except (StoreUnavailable, WriterClosed):
            log.warning("database unavailable", extra={"request_id": ex.request_id})
            if ex.status == 0:
                await answers.message(ex, 503, catalogue.SERVICE_UNAVAILABLE)
        except Exception:
            log.exception("unexpected failure", extra={"request_id": ex.request_id})
            if ex.status == 0:
                await answers.message(ex, 500, catalogue.INTERNAL_ERROR)
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
            await answers.message(ex, 400, problem, [("connection", "close")])
            return
        found = _match(ex.path)
        if found is None:
            await answers.message(ex, 404, catalogue.NOT_FOUND)
            return
        shape, methods, params = found
        ex.route = _TEMPLATES[shape]
        handler = methods.get(ex.method)
        if handler is None:
            allow = ", ".join(sorted(methods))
            await answers.message(ex, 405, catalogue.METHOD_NOT_ALLOWED, [("allow", allow)])
            return
        assert self._context is not None  # noqa: S101 - __rsgi_init__ ran before any request
        await handler(self._context, ex, *params)


def create_app(early_stop: "EarlyStop") -> App:
    """The app, with its settings from the environment (granian's factory is worker_start.create_app)."""
    settings = load_settings()
    logs.configure(settings.log_level)
    return App(settings, early_stop)
