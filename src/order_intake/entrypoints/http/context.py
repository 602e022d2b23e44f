"""What every endpoint is given: the process's long-lived services, the exchange and the path's parameters."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from order_intake.entrypoints.http.exchange import Exchange
from order_intake.metrics import Metrics
from order_intake.service.auth import Authenticator
from order_intake.service.invitations import InvitationPlanning
from order_intake.service.ports import ProcessingStore, Suppressions
from order_intake.service.ratelimit import RateLimiter
from order_intake.service.submit import Intake

# A route's parameters by name (`{"trkref": "TRKREF123"}`), as granian decoded them.
Params = dict[str, str]


@dataclass(frozen=True, slots=True)
class Context:
    """The same services for every request, made once per process."""

    intake: Intake
    auth: Authenticator
    processing: ProcessingStore
    metrics: Metrics
    limiter: RateLimiter
    openapi: Callable[[], bytes]  # the OpenAPI document, built on first use
    invitations: Callable[[], Awaitable[InvitationPlanning]]  # with the signing key, read on first use
    suppressions: Suppressions
    public_url: str


Endpoint = Callable[[Context, Exchange, Params], Awaitable[None]]
