"""The batch endpoints: POST /v4/customer_orders and GET /v4/customer_orders/{id}."""

from uuid import UUID

from order_intake.adapters.records import ApiKey
from order_intake.domain import catalogue
from order_intake.domain.access import Denied
from order_intake.entrypoints.http import answers, intake, limits
from order_intake.entrypoints.http.exchange import Exchange
from order_intake.entrypoints.http.routes import Context
from order_intake.service.batch import submit_batch
from order_intake.service.outcomes import BatchRefusedWhole, BatchStored
from order_intake.service.queries import find_batch

MAX_BATCH_BODY = 16 * 1024 * 1024


def _batch_path(batch_id: UUID) -> str:
    return f"/v4/customer_orders/{batch_id}"


async def _key(ctx: Context, ex: Exchange) -> ApiKey | None:
    """The calling key if it may use the batch endpoints (401 and 403 answered here otherwise)."""
    key = await ctx.auth.authenticate(ex.header("authorization"))
    if key is None:
        await answers.batch_unauthorized(ex)
        return None
    if not await limits.admit(ctx.limiter, ex, key):
        return None
    if not key.customer_order:
        await answers.denied(ex, Denied.ACCESS_DENIED)
        return None
    return key


async def submit(ctx: Context, ex: Exchange) -> None:
    """POST /v4/customer_orders."""
    key = await _key(ctx, ex)
    if key is None:
        return
    request = await intake.receive(ex, key, None, MAX_BATCH_BODY)
    if request is None:
        return
    outcome = await submit_batch(intake=ctx.intake, request=request)
    match outcome:
        case BatchStored(answer):
            await ex.answer(answer.status, answer, [intake.location(_batch_path(answer.id))])
        case BatchRefusedWhole(answer):
            await ex.answer(422, answer)
        case _:
            await intake.answer_shared(ex, outcome, _batch_path)


async def show(ctx: Context, ex: Exchange, batch_id: str) -> None:
    """GET /v4/customer_orders/{id}."""
    key = await _key(ctx, ex)
    if key is None:
        return
    found = await find_batch(store=ctx.intake.store, key=key, batch_id=batch_id)
    if found is None:
        await answers.message(ex, 404, catalogue.NOT_FOUND)
    else:
        await ex.answer(200, found)
