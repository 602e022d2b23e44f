"""The contract's fixed answers, sent from one place."""

from order_intake.domain import catalogue
from order_intake.domain.access import Denied
from order_intake.domain.answers import BatchUnauthorized, Forbidden, Invalid, Message
from order_intake.entrypoints.http.exchange import Exchange, Headers


async def message(ex: Exchange, status: int, text: str, extra: Headers | None = None) -> None:
    """`{"status": N, "message": "..."}`."""
    await ex.answer(status, Message(status=status, message=text), extra)


async def denied(ex: Exchange, reason: Denied) -> None:
    """401, 400 or 403, each as the contract words it."""
    if reason is Denied.UNAUTHORIZED:
        await message(ex, 401, catalogue.UNAUTHORIZED, [("www-authenticate", catalogue.BASIC_REALM)])
    elif reason is Denied.INVALID_TRKREF:
        await message(ex, 400, catalogue.INVALID_TRKREF)
    else:
        await ex.answer(403, Forbidden(status=403, error=catalogue.ACCESS_DENIED))


async def invalid(ex: Exchange, text: str, errors: tuple[str, ...]) -> None:
    """422 with every violation."""
    await ex.answer(422, Invalid(status=422, message=text, errors=errors))


async def batch_unauthorized(ex: Exchange) -> None:
    """The batch endpoints' 401: `errors`, not `message`, as their reference page shows."""
    body = BatchUnauthorized(status=401, errors=catalogue.UNAUTHORIZED)
    await ex.answer(401, body, [("www-authenticate", catalogue.BASIC_REALM)])
