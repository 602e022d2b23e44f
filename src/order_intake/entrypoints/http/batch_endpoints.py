"""The batch endpoints: POST /v4/customer_orders and GET /v4/customer_orders/{batch_id}."""

from uuid import UUID

from order_intake.domain import catalogue
from order_intake.entrypoints.http import access, intake, replies
from order_intake.entrypoints.http.context import Context, Params
from order_intake.entrypoints.http.exchange import Exchange
from order_intake.service.batch import submit_batch
from order_intake.service.outcomes import BatchRefusedWhole, BatchStored
from order_intake.service.queries import find_batch


def _batch_path(batch_id: UUID) -> str:
    return f"/v4/customer_orders/{batch_id}"


async def submit(ctx: Context, ex: Exchange, path: Params) -> None:  # noqa: ARG001 - no parameter
    """POST /v4/customer_orders."""
    key = await access.batch_caller(ctx, ex)
    request = await intake.receive(ex, key, None, catalogue.MAX_BATCH_BYTES)
    outcome = await submit_batch(intake=ctx.intake, request=request)
    match outcome:
        case BatchStored(answer):
            await ex.answer(answer.status, answer, [intake.location(_batch_path(answer.id))])
        case BatchRefusedWhole(answer):
            await ex.answer(422, answer)
        case _:
            await intake.answer_shared(ex, outcome, _batch_path)


async def show(ctx: Context, ex: Exchange, path: Params) -> None:
    """GET /v4/customer_orders/{batch_id}."""
    key = await access.batch_caller(ctx, ex)
    found = await find_batch(store=ctx.intake.store, key=key, batch_id=path["batch_id"])
    if found is None:
        raise replies.refusal(404, catalogue.NOT_FOUND)
    await ex.answer(200, found)
