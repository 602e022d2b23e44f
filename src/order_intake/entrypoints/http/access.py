"""Who may call: each check in the contract's order, raising the answer (Refused) when it fails."""

from order_intake.domain.access import Denied, organisation_for
from order_intake.entrypoints.http import limits, replies
from order_intake.entrypoints.http.context import Context
from order_intake.entrypoints.http.exchange import Exchange
from order_intake.service.records import ApiKey, Organisation


async def caller(ctx: Context, ex: Exchange) -> ApiKey:
    """The authenticated key, within its rate limit (401 or 429 refused)."""
    key = await ctx.auth.authenticate(ex.header("authorization"))
    if key is None:
        raise replies.denial(Denied.UNAUTHORIZED)
    await limits.admit(ctx.limiter, ex, key)
    return key


async def caller_for(ctx: Context, ex: Exchange, trkref: str) -> tuple[ApiKey, Organisation]:
    """The key and the path's organisation, if the key may act for it (401, 429, 400 or 403 refused)."""
    ex.trkref = trkref
    key = await caller(ctx, ex)
    org = organisation_for(key, trkref)
    if isinstance(org, Denied):
        raise replies.denial(org)
    return key, org


async def batch_caller(ctx: Context, ex: Exchange) -> ApiKey:
    """The key, if it may use the batch endpoints (the batch page's 401, 429 or 403 refused)."""
    key = await ctx.auth.authenticate(ex.header("authorization"))
    if key is None:
        raise replies.batch_unauthorized()
    await limits.admit(ctx.limiter, ex, key)
    if not key.customer_order:
        raise replies.denial(Denied.ACCESS_DENIED)
    return key
