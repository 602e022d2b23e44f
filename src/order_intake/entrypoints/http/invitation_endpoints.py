"""The invitation endpoints: explain and cancel an order's invitation, list a customer's purchases."""

from order_intake.domain import catalogue
from order_intake.entrypoints.http import access, replies
from order_intake.entrypoints.http.context import Context, Params
from order_intake.entrypoints.http.exchange import Exchange
from order_intake.service import invitation_queries


async def explain(ctx: Context, ex: Exchange, path: Params) -> None:
    """GET /v4/organisations/{trkref}/customer_orders/{order_ref}/invitation."""
    _, org = await access.caller_for(ctx, ex, path["trkref"])
    found = await invitation_queries.explain(store=ctx.processing, organisation=org, order_ref=path["order_ref"])
    if found is None:
        raise replies.refusal(404, catalogue.NOT_FOUND)
    await ex.answer(200, found)


async def cancel(ctx: Context, ex: Exchange, path: Params) -> None:
    """POST /v4/organisations/{trkref}/customer_orders/{order_ref}/invitation/cancel."""
    key, org = await access.caller_for(ctx, ex, path["trkref"])
    body = await ex.read_body(invitation_queries.MAX_CANCEL_BODY)
    if body is None:
        raise replies.refusal(413, catalogue.PAYLOAD_TOO_LARGE)  # its body dropped first (linger.py)
    outcome = await invitation_queries.cancel(
        store=ctx.processing,
        planning=await ctx.invitations(),
        organisation=org,
        order_ref=path["order_ref"],
        body=body,
        actor=key.username,
    )
    if outcome.malformed:
        raise replies.refusal(400, catalogue.MALFORMED_JSON)
    if outcome.invalid_reason:
        await replies.invalid(ex, catalogue.INVALID_CANCELLATION, (catalogue.INVALID_REASON,))
    elif outcome.already_sent:
        raise replies.refusal(409, catalogue.INVITATION_ALREADY_SENT)
    elif outcome.answer is None:
        raise replies.refusal(404, catalogue.NOT_FOUND)
    else:
        await ex.answer(200, outcome.answer)


async def purchases(ctx: Context, ex: Exchange, path: Params) -> None:
    """GET /v4/organisations/{trkref}/purchasers/{email}/purchases: a bare JSON array."""
    _, org = await access.caller_for(ctx, ex, path["trkref"])
    planning = await ctx.invitations()
    found = await invitation_queries.purchases(
        store=ctx.processing,
        organisation=org,
        email=path["email"],
        secret=planning.secret,
        public_url=ctx.public_url,
    )
    if found is None:
        await replies.invalid(ex, catalogue.INVALID_PURCHASER, (catalogue.INVALID_EMAIL,))
    else:
        await ex.answer(200, found)
