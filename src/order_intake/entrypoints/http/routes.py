"""The v4 endpoints: each checks access in the contract's order, calls a use case, maps its outcome."""

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from order_intake.adapters.processing_records import ProcessingStore
from order_intake.adapters.records import ApiKey, Organisation
from order_intake.domain import catalogue
from order_intake.domain.access import Denied, organisation_for
from order_intake.domain.order import Rejected
from order_intake.entrypoints.http import answers, intake, limits
from order_intake.entrypoints.http.exchange import Exchange
from order_intake.metrics import CONTENT_TYPE, Metrics
from order_intake.service.auth import Authenticator
from order_intake.service.outcomes import Stored
from order_intake.service.queries import find_canonical, find_submission, organisations_of
from order_intake.service.ratelimit import RateLimiter
from order_intake.service.submit import Intake, submit_order

MAX_BODY = catalogue.MAX_ORDER_BYTES


@dataclass(frozen=True, slots=True)
class Context:
    """What every handler may use."""

    intake: Intake
    auth: Authenticator
    processing: ProcessingStore
    metrics: Metrics
    limiter: RateLimiter


async def _key(ctx: Context, ex: Exchange) -> ApiKey | None:
    key = await ctx.auth.authenticate(ex.header("authorization"))
    if key is None:
        await answers.denied(ex, Denied.UNAUTHORIZED)
        return None
    return key if await limits.admit(ctx.limiter, ex, key) else None


async def _access(ctx: Context, ex: Exchange, trkref: str) -> tuple[ApiKey, Organisation] | None:
    ex.trkref = trkref
    key = await _key(ctx, ex)
    if key is None:
        return None
    org = organisation_for(key, trkref)
    if isinstance(org, Denied):
        await answers.denied(ex, org)
        return None
    return key, org


def _submission_path(trkref: str) -> Callable[[UUID], str]:
    return lambda submission_id: f"/v4/organisations/{trkref}/customer_order/{submission_id}"


async def submit(ctx: Context, ex: Exchange, trkref: str) -> None:
    """POST /v4/organisations/{trkref}/customer_order."""
    access = await _access(ctx, ex, trkref)
    if access is None:
        return
    request = await intake.receive(ex, access[0], access[1], MAX_BODY)
    if request is None:
        return
    outcome = await submit_order(intake=ctx.intake, request=request)
    match outcome:
        case Stored(answer):
            await ex.answer(202, answer, [intake.location(_submission_path(trkref)(answer.id))])
        case Rejected(message, errors):
            await answers.invalid(ex, message, errors)
        case _:
            await intake.answer_shared(ex, outcome, _submission_path(trkref))


async def show_submission(ctx: Context, ex: Exchange, trkref: str, submission_id: str) -> None:
    """GET /v4/organisations/{trkref}/customer_order/{id}."""
    access = await _access(ctx, ex, trkref)
    if access is None:
        return
    found = await find_submission(store=ctx.intake.store, organisation=access[1], submission_id=submission_id)
    if found is None:
        await answers.message(ex, 404, catalogue.NOT_FOUND)
    else:
        await ex.answer(200, found)


async def show_customer_order(ctx: Context, ex: Exchange, trkref: str, order_ref: str) -> None:
    """GET /v4/organisations/{trkref}/customer_orders/{order_ref}: the canonical order."""
    access = await _access(ctx, ex, trkref)
    if access is None:
        return
    found = await find_canonical(store=ctx.processing, organisation=access[1], order_ref=order_ref)
    if found is None:
        await answers.message(ex, 404, catalogue.NOT_FOUND)
    else:
        await ex.answer(200, found)


async def list_organisations(ctx: Context, ex: Exchange) -> None:
    """GET /v4/organisations: what client libraries call to verify a key."""
    key = await _key(ctx, ex)
    if key is not None:
        await ex.answer(200, organisations_of(key))


async def health(ctx: Context, ex: Exchange) -> None:  # noqa: ARG001 - every handler takes the context
    """GET /health: the process serves."""
    await answers.message(ex, 200, "OK")


async def ready(ctx: Context, ex: Exchange) -> None:
    """GET /ready: 200 only while the database answers."""
    if await ctx.intake.store.ping():
        await answers.message(ex, 200, "OK")
    else:
        await answers.message(ex, 503, catalogue.SERVICE_UNAVAILABLE)


async def metrics(ctx: Context, ex: Exchange) -> None:
    """GET /metrics: Prometheus text exposition, summed over every server process."""
    await ex.answer_bytes(200, await ctx.metrics.exposition(), content_type=CONTENT_TYPE)
