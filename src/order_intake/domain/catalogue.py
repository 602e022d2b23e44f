"""Every string the contract promises to retailers, in one place (see shared/CONTRACT.md)."""

from typing import Final

# Answers of the HTTP interface, by status.
UNAUTHORIZED: Final = "Unauthorized"
INVALID_TRKREF: Final = "Invalid TRKREF supplied"
ACCESS_DENIED: Final = "Access denied"
PAYLOAD_TOO_LARGE: Final = "Payload too large"
MALFORMED_JSON: Final = "Malformed JSON"
NO_DATA: Final = "No data provided"
INVALID_ORDER: Final = "Invalid customer order"
ORDER_ACCEPTED: Final = "Customer order accepted"
NOT_FOUND: Final = "Not found"
METHOD_NOT_ALLOWED: Final = "Method not allowed"
INTERNAL_ERROR: Final = "Internal server error"
SERVICE_UNAVAILABLE: Final = "Service unavailable"
REQUEST_TIMEOUT: Final = "Request timeout"
TOO_MANY_REQUESTS: Final = "Too many requests"
# 400s of the HTTP layer itself: a request whose framing or headers cannot be trusted.
INCOMPLETE_BODY: Final = "Incomplete request body"
DUPLICATE_AUTHORIZATION: Final = "More than one Authorization header"
BAD_HOST: Final = "An HTTP/1.1 request needs exactly one Host header"
# The name of the one quota policy in the RateLimit-Policy and RateLimit headers.
RATE_LIMIT_POLICY: Final = "default"
INVALID_IDEMPOTENCY_KEY: Final = "Invalid Idempotency-Key"
MAX_IDEMPOTENCY_KEY: Final = 255
IDEMPOTENCY_KEY_REUSED: Final = "Idempotency-Key reused with a different body"
IDEMPOTENCY_KEY_REUSED_DETAIL: Final = "this Idempotency-Key was first used with a different request body"
IDEMPOTENCY_KEY_IN_PROGRESS: Final = "A request with this Idempotency-Key is in progress"
BASIC_REALM: Final = 'Basic realm="order-intake"'
# The state a stored submission shows: accepted until processing merged it into its canonical order.
SUBMISSION_ACCEPTED: Final = "accepted"
SUBMISSION_PROCESSED: Final = "processed"

# Validation messages: each takes the field's path.
BODY_NOT_OBJECT: Final = "body must be a JSON object"
DATE_MISSING: Final = "order_date or fulfilment_date must be present"
DATES_OUT_OF_ORDER: Final = "fulfilment_date cannot be before order_date"
TRKREF_MISMATCH: Final = "trkref does not match the organisation in the URL"
ITEMS_EMPTY: Final = "order_items cannot be empty"
MAX_ITEMS: Final = 1000
ITEMS_TOO_MANY: Final = f"order_items has too many items (maximum {MAX_ITEMS})"


def blank(path: str) -> str:
    """A mandatory field that is missing, null or only whitespace."""
    return f"{path} cannot be blank"


def invalid(path: str) -> str:
    """A field present with the wrong type or format."""
    return f"invalid {path}"


def too_long(path: str, maximum: int) -> str:
    """A string over its length limit."""
    return f"{path} is too long (maximum {maximum} characters)"


def unknown_field(path: str) -> str:
    """A warning: a field the contract does not know, accepted and ignored."""
    return f"unknown field {path}"


# Warnings listed for one order at most; past that, one more says how many were left out.
MAX_WARNINGS: Final = 100


def more_unknown_fields(count: int) -> str:
    """The last warning of an order with more than MAX_WARNINGS unknown fields."""
    return f"{count} more unknown fields not listed"


# Errors listed for one order at most; past that, one more says how many were left out. No order
# written in good faith comes near: the cap is there for bodies built to produce millions of errors.
MAX_ERRORS: Final = 100
# Errors listed for a whole batch in full; past that, each rejected element lists only its first.
MAX_BATCH_ERRORS: Final = 100_000


def more_errors(count: int) -> str:
    """The last error of an order with more than its cap of errors."""
    return f"{count} more errors not listed"


# Batches (POST /v4/customer_orders).
MAX_BATCH: Final = 10_000
# One order's body, alone or as a batch element: larger is "Payload too large" (413 alone; an element error in a batch).
MAX_ORDER_BYTES: Final = 1024 * 1024
# A whole batch's body: larger is "Payload too large" (413).
MAX_BATCH_BYTES: Final = 16 * 1024 * 1024
BATCH_ACCEPTED: Final = "Batch Accepted"
BATCH_PARTIAL: Final = "Batch partially accepted"
BATCH_INVALID: Final = "Batch is invalid"
BATCH_NOT_ARRAY: Final = "body must be a JSON array"
BATCH_EMPTY: Final = "batch cannot be empty"
BATCH_TOO_MANY: Final = f"batch has too many customer orders (maximum {MAX_BATCH})"

# Review invitations (INVITATIONS.md).
INVITATION_ALREADY_SENT: Final = "Invitation already sent"
INVALID_CANCELLATION: Final = "Invalid cancellation"
INVALID_REASON: Final = "invalid reason"
INVALID_SUPPRESSION: Final = "Invalid suppression"
INVALID_EMAIL: Final = "invalid email"
SUPPRESSED_BY_CUSTOMER: Final = "Suppressed by the customer"
# A list's query (GET .../suppressions?limit=N&after=CURSOR): every problem at once, 422.
INVALID_QUERY: Final = "Invalid query"
INVALID_LIMIT: Final = "invalid limit"
INVALID_AFTER: Final = "invalid after"
INVALID_PURCHASER: Final = "Invalid purchaser"
