"""What the customer's pages show: each template's values, rendered in the order's language.

Jinja2 and Babel are imported on the first page, not at a worker's start (they are not on the orders' path).
"""

from collections.abc import Mapping
from typing import Final

from order_intake.domain.reviews import MAX_TEXT, RATINGS, Entered, FormErrors, rating_field, text_field
from order_intake.entrypoints.http.exchange import Headers
from order_intake.service.reviews import Invited

# No page needs a script, a frame, another origin or a Referer: the link's token is the customer's credential,
# so no other site must see it (in a Referer) or frame the page, and no cache keep it.
PAGE_HEADERS: Final[Headers] = [
    ("cache-control", "no-store"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
]


def render_page(name: str, invited: Invited | None, values: Mapping[str, object]) -> bytes:
    """A page of templates/pages, in the order's language (English when no order is known), as UTF-8."""
    from order_intake import rendering  # noqa: PLC0415 - Jinja2 and Babel on the first page

    reader = rendering.reader_of(invited.language, invited.locale) if invited else rendering.reader_of(None, None)
    organisation = invited.organisation if invited else None
    return rendering.render(f"pages/{name}", reader, {"organisation": organisation, **values}).encode()


# The pages that only say one thing (templates/pages/notice.html), by the prefix of their words.
NOTICES: Final = (
    "page_not_found",
    "page_method",
    "page_unavailable",
    "page_too_large",
    "page_not_a_form",
    "page_incomplete",
)


def render_notice(notice: str, invited: Invited | None) -> bytes:
    """One of NOTICES: its title, heading and sentence, in the order's language as render_page's."""
    return render_page("notice.html", invited, {"notice": notice})


def review_values(invited: Invited, errors: FormErrors | None) -> dict[str, object]:
    """The review form's values: each item with what the customer entered, or else their saved review."""
    saved = {review.sku: Entered(str(review.rating), review.text) for review in invited.reviews}
    items = []
    for index, item in enumerate(invited.items):
        shown = errors.entered.get(item.sku, Entered()) if errors else saved.get(item.sku, Entered())
        items.append(
            {
                "index": index,
                "sku": item.sku,
                "name": item.name,
                "rating": shown.rating,
                "text": shown.text,
                "errors": errors.by_sku.get(item.sku, ()) if errors else (),
                "rating_name": rating_field(item.sku),
                "text_name": text_field(item.sku),
            }
        )
    return {
        "customer_name": invited.customer_name,
        "order_ref": invited.order_ref,
        "order_date": invited.order_date,
        "items": items,
        "has_errors": errors is not None,
        "items_marked": bool(errors and errors.by_sku),
        "form_errors": errors.form if errors else (),
        "ratings": RATINGS,
        "max_text": MAX_TEXT,
    }


def thanks_values(invited: Invited, token: str) -> dict[str, object]:
    """The thank-you page's values: the items reviewed so far, and the way back to the form."""
    ratings = {review.sku: review.rating for review in invited.reviews}
    reviewed = [
        {"name": item.name or item.sku, "rating": ratings[item.sku]} for item in invited.items if item.sku in ratings
    ]
    return {"reviewed": reviewed, "token": token}


__all__ = ["PAGE_HEADERS", "render_page", "review_values", "thanks_values"]
