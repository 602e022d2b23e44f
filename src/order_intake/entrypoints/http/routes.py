"""The v4 endpoints: each checks access in the contract's order, calls a use case, maps its outcome."""

import datetime as dt
from dataclasses import dataclass

from order_intake.adapters.records import ApiKey, Organisation
from order_intake.domain import catalogue
from order_intake.domain.access import Denied, organisation_for
from order_intake.domain.order import Rejected
from order_intake.entrypoints.http import answers
from order_intake.entrypoints.http.exchange import Exchange
from order_intake.service.auth import Authenticator
from order_intake.service.outcomes import (
    IdempotencyInProgress,
    IdempotencyMismatch,
    MalformedBody,
    Replayed,
    Stored,
    SubmitOutcome,
)
from order_intake.service.queries import find_submission, organisations_of
from order_intake.service.submit import Intake, Request, submit_order

MAX_BODY = 1024 * 1024
MAX_IDEMPOTENCY_KEY = 255


@dataclass(frozen=True, slots=True)
class Context:
    """What every handler may use."""

    intake: Intake
    auth: Authenticator


async def _key(ctx: Context, ex: Exchange) -> ApiKey | None:
    key = await ctx.auth.authenticate(ex.header(b"authorization"))
    if key is None:
        await answers.denied(ex, Denied.UNAUTHORIZED)
    return key


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


def _location(trkref: str, submission_id: object) -> tuple[bytes, bytes]:
    return b"location", f"/v4/organisations/{trkref}/customer_order/{submission_id}".encode()


def _idempotency_key(ex: Exchange) -> str | bool | None:
    raw = ex.header(b"idempotency-key")
    if raw is None:
        return None
    try:
        key = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return False
    return key if 0 < len(key) <= MAX_IDEMPOTENCY_KEY and key.isprintable() else False


async def submit(ctx: Context, ex: Exchange, trkref: str) -> None:
    """POST /v4/organisations/{trkref}/customer_order."""
    access = await _access(ctx, ex, trkref)
    if access is None:
        return
    idempotency_key = _idempotency_key(ex)
    if idempotency_key is False:
        await answers.message(ex, 400, catalogue.INVALID_IDEMPOTENCY_KEY)
        return
    body = await ex.read_body(MAX_BODY)
    if body is None:
        await answers.message(ex, 413, catalogue.PAYLOAD_TOO_LARGE)
        return
    request = Request(
        key=access[0],
        organisation=access[1],
        path=ex.path,
        body=body,
        idempotency_key=idempotency_key if isinstance(idempotency_key, str) else None,
        request_id=ex.request_id,
        received_at=dt.datetime.now(dt.UTC),
    )
    await _answer_submission(ex, trkref, await submit_order(intake=ctx.intake, request=request))


async def _answer_submission(ex: Exchange, trkref: str, outcome: SubmitOutcome) -> None:
    match outcome:
        case Stored(answer):
            await ex.answer(202, answer, [_location(trkref, answer.id)])
        case Replayed(status, body_, submission_id):
            extra = [(b"idempotent-replayed", b"true")]
            if submission_id is not None:
                extra.append(_location(trkref, submission_id))
            await ex.answer_bytes(status, body_, extra)
        case Rejected(message, errors):
            await answers.invalid(ex, message, errors)
        case MalformedBody():
            await answers.message(ex, 400, catalogue.MALFORMED_JSON)
        case IdempotencyMismatch():
            await answers.invalid(ex, catalogue.IDEMPOTENCY_KEY_REUSED, (catalogue.IDEMPOTENCY_KEY_REUSED_DETAIL,))
        case IdempotencyInProgress():
            await answers.message(ex, 409, catalogue.IDEMPOTENCY_KEY_IN_PROGRESS)


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
