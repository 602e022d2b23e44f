"""Every HTTP route, declared once: its template, method, endpoint and OpenAPI operation.

The router (router.py), the metrics' and the access log's route label (the template) and the OpenAPI
document's paths (openapi.py) are all made from this table. The customer's pages (HTML, reached from
the invitation e-mail) have no operation: the document describes the API, and leaves them out.
"""

from dataclasses import dataclass
from typing import Any, Final

from order_intake.entrypoints.http import (
    batch_endpoints,
    endpoints,
    invitation_endpoints,
    invitation_operations,
    operations,
    pages,
    suppression_endpoints,
    suppression_operations,
)
from order_intake.entrypoints.http.context import Endpoint


@dataclass(frozen=True, slots=True)
class Route:
    """One method of one path template (`{name}` is a parameter, a whole segment)."""

    template: str
    method: str
    endpoint: Endpoint
    operation: dict[str, Any] | None  # None: not in the OpenAPI document (a customer's page)


ROUTES: Final = (
    Route("/v4/organisations", "GET", endpoints.list_organisations, operations.ORGANISATIONS),
    Route("/v4/organisations/{trkref}/customer_order", "POST", endpoints.submit, operations.SUBMIT),
    Route("/v4/organisations/{trkref}/customer_order/{id}", "GET", endpoints.show_submission, operations.SHOW),
    Route(
        "/v4/organisations/{trkref}/customer_orders/{order_ref}",
        "GET",
        endpoints.show_customer_order,
        operations.SHOW_CANONICAL,
    ),
    Route(
        "/v4/organisations/{trkref}/customer_orders/{order_ref}/invitation",
        "GET",
        invitation_endpoints.explain,
        invitation_operations.EXPLAIN_INVITATION,
    ),
    Route(
        "/v4/organisations/{trkref}/customer_orders/{order_ref}/invitation/cancel",
        "POST",
        invitation_endpoints.cancel,
        invitation_operations.CANCEL_INVITATION,
    ),
    Route(
        "/v4/organisations/{trkref}/purchasers/{email}/purchases",
        "GET",
        invitation_endpoints.purchases,
        invitation_operations.PURCHASES,
    ),
    Route(
        "/v4/organisations/{trkref}/suppressions",
        "GET",
        suppression_endpoints.list_suppressions,
        suppression_operations.LIST_SUPPRESSIONS,
    ),
    Route(
        "/v4/organisations/{trkref}/suppressions/{email}",
        "GET",
        suppression_endpoints.show,
        suppression_operations.SHOW_SUPPRESSION,
    ),
    Route(
        "/v4/organisations/{trkref}/suppressions/{email}",
        "PUT",
        suppression_endpoints.suppress,
        suppression_operations.SUPPRESS,
    ),
    Route(
        "/v4/organisations/{trkref}/suppressions/{email}",
        "DELETE",
        suppression_endpoints.lift,
        suppression_operations.LIFT_SUPPRESSION,
    ),
    Route("/v4/customer_orders", "POST", batch_endpoints.submit, operations.SUBMIT_BATCH),
    Route("/v4/customer_orders/{batch_id}", "GET", batch_endpoints.show, operations.SHOW_BATCH),
    Route("/health", "GET", endpoints.health, operations.HEALTH),
    Route("/ready", "GET", endpoints.ready, operations.READY),
    Route("/openapi.json", "GET", endpoints.openapi, operations.OPENAPI),
    Route("/metrics", "GET", endpoints.metrics, operations.METRICS),
    Route("/r/{token}", "GET", pages.show_review, None),
    Route("/r/{token}", "POST", pages.review, None),
    Route("/r/{token}/thanks", "GET", pages.thanks, None),
    Route("/u/{token}", "GET", pages.show_unsubscribe, None),
    Route("/u/{token}", "POST", pages.unsubscribe, None),
)


def openapi_paths() -> dict[str, dict[str, Any]]:
    """The OpenAPI document's `paths`: each template with its methods' operations."""
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        if route.operation is None:
            continue
        paths.setdefault(route.template, {})[route.method.lower()] = route.operation
    return paths
