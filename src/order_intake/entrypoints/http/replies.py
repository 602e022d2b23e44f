"""The contract's fixed answers, made in one place: sent at once, or raised as a Refused."""

from order_intake.domain import catalogue
from order_intake.domain.access import Denied
from order_intake.domain.answers import BatchUnauthorized, Forbidden, Invalid, Message
from order_intake.entrypoints.http.exchange import Exchange, Headers
from order_intake.entrypoints.http.refused import Refused


async def message(ex: Exchange, status: int, text: str, extra: Headers | None = None) -> None:
    """Send `{"status": N, "message": "..."}`."""
    await ex.answer(status, Message(status=status, message=text), extra)


async def invalid(ex: Exchange, text: str, errors: tuple[str, ...]) -> None:
    """Send 422 with every violation."""
    await ex.answer(422, Invalid(status=422, message=text, errors=errors))


def refusal(status: int, text: str, extra: Headers | None = None) -> Refused:
    """`{"status": N, "message": "..."}`, to raise."""
    return Refused(status, Message(status=status, message=text), extra)


def denial(reason: Denied) -> Refused:
    """401, 400 or 403, each as the contract words it, to raise."""
    if reason is Denied.UNAUTHORIZED:
        return refusal(401, catalogue.UNAUTHORIZED, [("www-authenticate", catalogue.BASIC_REALM)])
    if reason is Denied.INVALID_TRKREF:
        return refusal(400, catalogue.INVALID_TRKREF)
    return Refused(403, Forbidden(status=403, error=catalogue.ACCESS_DENIED))


def batch_unauthorized() -> Refused:
    """The batch endpoints' 401: `errors`, not `message`, as their reference page shows."""
    body = BatchUnauthorized(status=401, errors=catalogue.UNAUTHORIZED)
    return Refused(401, body, [("www-authenticate", catalogue.BASIC_REALM)])
