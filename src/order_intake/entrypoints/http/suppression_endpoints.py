"""The suppression endpoints: a retailer suppresses an address, lifts, shows or lists its suppressions."""

from urllib.parse import parse_qs

from order_intake.domain import catalogue
from order_intake.domain.answers import Invalid
from order_intake.entrypoints.http import access, replies
from order_intake.entrypoints.http.context import Context, Params
from order_intake.entrypoints.http.exchange import Exchange
from order_intake.entrypoints.http.refused import Refused
from order_intake.service import suppressions
from order_intake.service.invitation_queries import stored_email
from order_intake.service.invitation_records import Removal


def _address(path: Params) -> str:
    """The path's address as the validator stores e-mails; one that cannot be an address: 422, before any query."""
    address = stored_email(path["email"])
    if address is None:
        errors = (catalogue.INVALID_EMAIL,)
        raise Refused(422, Invalid(status=422, message=catalogue.INVALID_SUPPRESSION, errors=errors))
    return address


async def suppress(ctx: Context, ex: Exchange, path: Params) -> None:
    """PUT /v4/organisations/{trkref}/suppressions/{email}: no body is read (one sent is ignored)."""
    key, org = await access.caller_for(ctx, ex, path["trkref"])
    address = _address(path)
    answer = await suppressions.suppress(store=ctx.suppressions, organisation=org, address=address, actor=key.username)
    await ex.answer(answer.status, answer)


async def lift(ctx: Context, ex: Exchange, path: Params) -> None:
    """DELETE /v4/organisations/{trkref}/suppressions/{email}: 204 whether or not there was one to lift."""
    key, org = await access.caller_for(ctx, ex, path["trkref"])
    address = _address(path)
    outcome = await suppressions.lift(store=ctx.suppressions, organisation=org, address=address, actor=key.username)
    if outcome is Removal.BY_CUSTOMER:
        raise replies.refusal(409, catalogue.SUPPRESSED_BY_CUSTOMER)
    await ex.answer_bytes(204, b"", content_type=None)


async def show(ctx: Context, ex: Exchange, path: Params) -> None:
    """GET /v4/organisations/{trkref}/suppressions/{email}: the address's suppression, or 404."""
    _, org = await access.caller_for(ctx, ex, path["trkref"])
    address = _address(path)
    found = await suppressions.shown(store=ctx.suppressions, organisation=org, address=address)
    if found is None:
        raise replies.refusal(404, catalogue.NOT_FOUND)
    await ex.answer(200, found)


async def list_suppressions(ctx: Context, ex: Exchange, path: Params) -> None:
    """GET /v4/organisations/{trkref}/suppressions[?limit=N&after=CURSOR]: a page, and the next one's cursor."""
    _, org = await access.caller_for(ctx, ex, path["trkref"])
    query = parse_qs(ex.query_string(), keep_blank_values=True)
    found = await suppressions.listed(store=ctx.suppressions, organisation=org, query=query)
    if isinstance(found, tuple):
        await replies.invalid(ex, catalogue.INVALID_QUERY, found)
    else:
        await ex.answer(200, found)
