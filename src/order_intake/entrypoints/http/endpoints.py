"""The single-order endpoints and the probes: each checks access, calls a use case, maps its outcome."""

from collections.abc import Callable
from uuid import UUID

from order_intake.domain import catalogue
from order_intake.domain.order import Rejected
from order_intake.entrypoints.http import access, intake, replies
from order_intake.entrypoints.http.context import Context, Params
from order_intake.entrypoints.http.exchange import Exchange
from order_intake.metrics import CONTENT_TYPE
from order_intake.service.outcomes import Stored
from order_intake.service.queries import find_canonical, find_submission, organisations_of
from order_intake.service.submit import submit_order

MAX_BODY = catalogue.MAX_ORDER_BYTES


def _submission_path(trkref: str) -> Callable[[UUID], str]:
    return lambda submission_id: f"/v4/organisations/{trkref}/customer_order/{submission_id}"


async def submit(ctx: Context, ex: Exchange, path: Params) -> None:
    """POST /v4/organisations/{trkref}/customer_order."""
    trkref = path["trkref"]
    key, org = await access.caller_for(ctx, ex, trkref)
    request = await intake.receive(ex, key, org, MAX_BODY)
    outcome = await submit_order(intake=ctx.intake, request=request)
    match outcome:
        case Stored(answer):
            await ex.answer(202, answer, [intake.location(_submission_path(trkref)(answer.id))])
        case Rejected(message, errors):
            await replies.invalid(ex, message, errors)
        case _:
            await intake.answer_shared(ex, outcome, _submission_path(trkref))


async def show_submission(ctx: Context, ex: Exchange, path: Params) -> None:
    """GET /v4/organisations/{trkref}/customer_order/{id}."""
    _, org = await access.caller_for(ctx, ex, path["trkref"])
    found = await find_submission(store=ctx.intake.store, organisation=org, submission_id=path["id"])
    if found is None:
        raise replies.refusal(404, catalogue.NOT_FOUND)
    await ex.answer(200, found)


async def show_customer_order(ctx: Context, ex: Exchange, path: Params) -> None:
    """GET /v4/organisations/{trkref}/customer_orders/{order_ref}: the canonical order."""
    _, org = await access.caller_for(ctx, ex, path["trkref"])
    found = await find_canonical(store=ctx.processing, organisation=org, order_ref=path["order_ref"])
    if found is None:
        raise replies.refusal(404, catalogue.NOT_FOUND)
    await ex.answer(200, found)


async def list_organisations(ctx: Context, ex: Exchange, path: Params) -> None:  # noqa: ARG001 - no parameter
    """GET /v4/organisations: what client libraries call to verify a key."""
    key = await access.caller(ctx, ex)
    await ex.answer(200, organisations_of(key))


async def health(ctx: Context, ex: Exchange, path: Params) -> None:  # noqa: ARG001 - every endpoint's signature
    """GET /health: the process serves."""
    await replies.message(ex, 200, "OK")


async def ready(ctx: Context, ex: Exchange, path: Params) -> None:  # noqa: ARG001 - every endpoint's signature
    """GET /ready: 200 only while the database replies."""
    if not await ctx.intake.store.ping():
        raise replies.refusal(503, catalogue.SERVICE_UNAVAILABLE)
    await replies.message(ex, 200, "OK")


async def metrics(ctx: Context, ex: Exchange, path: Params) -> None:  # noqa: ARG001 - every endpoint's signature
    """GET /metrics: Prometheus text exposition, summed over every server process."""
    await ex.answer_bytes(200, await ctx.metrics.exposition(), content_type=CONTENT_TYPE)


async def openapi(ctx: Context, ex: Exchange, path: Params) -> None:  # noqa: ARG001 - every endpoint's signature
    """GET /openapi.json."""
    await ex.answer_bytes(200, ctx.openapi())
