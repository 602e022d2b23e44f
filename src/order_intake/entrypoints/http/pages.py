"""The customer's two pages, in HTML: review an order's items (`/r/{token}`), unsubscribe (`/u/{token}`).

The signed token in the path is the only credential: no account, no cookie, so no CSRF token either
(a forged request would need the token, and whoever holds it may do what the page does). Whatever goes
wrong, the customer gets a page, never JSON: a token that does not verify, an invitation that is gone
(or, for the review, no longer open) gets the not-found page with 404.
"""

import datetime as dt
from typing import Final

from order_intake.domain import links
from order_intake.domain.reviews import FormErrors
from order_intake.entrypoints.http.context import Context, Params
from order_intake.entrypoints.http.exchange import Exchange
from order_intake.entrypoints.http.page_views import (
    PAGE_HEADERS,
    render_notice,
    render_page,
    review_values,
    thanks_values,
)
from order_intake.entrypoints.http.refused import HTML, PageRefused
from order_intake.service import reviews
from order_intake.service.reviews import Invited

__all__ = [
    "PREFIXES",
    "method_not_allowed",
    "not_found",
    "review",
    "show_review",
    "show_unsubscribe",
    "thanks",
    "unavailable",
    "unsubscribe",
]

# The pages' paths: one that matches no route still gets the not-found page.
PREFIXES: Final = ("/r/", "/u/")


def not_found(invited: Invited | None = None) -> PageRefused:
    """The not-found page (404), in the order's language when the invitation is known."""
    return PageRefused(404, render_notice("page_not_found", invited), PAGE_HEADERS)


def method_not_allowed(allow: str) -> PageRefused:
    """A method the page does not take (405, with Allow): a page too, never JSON."""
    return PageRefused(405, render_notice("page_method", None), [*PAGE_HEADERS, ("allow", allow)])


def unavailable() -> PageRefused:
    """The page for a moment without the database (503): nothing was stored, the same link will work later."""
    return PageRefused(503, render_notice("page_unavailable", None), [*PAGE_HEADERS, ("retry-after", "60")])


def incomplete(status: int) -> PageRefused:
    """A body that broke off (400) or trickled past its deadline (408): a page, and the connection closed."""
    return PageRefused(status, render_notice("page_incomplete", None), [*PAGE_HEADERS, ("connection", "close")])


def _too_large(invited: Invited) -> PageRefused:
    return PageRefused(413, render_notice("page_too_large", invited), [*PAGE_HEADERS, ("connection", "close")])


# The review form's encoding, as every browser sends it (the form names no other).
_FORM: Final = "application/x-www-form-urlencoded"


def _is_form(content_type: str | None) -> bool:
    """Whether a Content-Type is the form's, whatever its parameters and case."""
    return content_type is not None and content_type.split(";", 1)[0].strip().lower() == _FORM


def _not_a_form(invited: Invited) -> PageRefused:
    """415 for a body the form did not send (JSON, multipart, none named): nothing was stored."""
    return PageRefused(415, render_notice("page_not_a_form", invited), [*PAGE_HEADERS, ("accept-post", _FORM)])


async def _invited(ctx: Context, token: str, kind: links.Kind) -> Invited:
    """The invitation the token names; the not-found page if none (for a review: if it is no longer open)."""
    planning = await ctx.invitations()
    found = await reviews.invited(store=ctx.processing, secret=planning.secret, kind=kind, token=token)
    if found is None or (kind == links.REVIEW and not found.reviewable):
        raise not_found(found)
    return found


async def _page(ex: Exchange, status: int, body: bytes) -> None:
    await ex.answer_bytes(status, body, PAGE_HEADERS, content_type=HTML)


async def show_review(ctx: Context, ex: Exchange, path: Params) -> None:
    """GET /r/{token}: the review form, holding the reviews already left."""
    invited = await _invited(ctx, path["token"], links.REVIEW)
    await _page(ex, 200, render_page("review.html", invited, review_values(invited, None)))


async def review(ctx: Context, ex: Exchange, path: Params) -> None:
    """POST /r/{token} (form-encoded): the reviews stored, 303 to the thank-you page; or the form with errors, 422.

    A body of another type is refused 415 once read (so that a body too large is still 413); an empty
    one is an empty form, of any type or none.
    """
    token = path["token"]
    invited = await _invited(ctx, token, links.REVIEW)
    body = await ex.read_body(reviews.MAX_REVIEW_FORM)
    if body is None:
        raise _too_large(invited)
    if body and not _is_form(ex.header("content-type")):  # an empty body is an empty form, whatever it says
        raise _not_a_form(invited)
    now = dt.datetime.now(dt.UTC)
    outcome = await reviews.submit_reviews(store=ctx.processing, invited=invited, form=body, now=now)
    if outcome is None:
        raise not_found(invited)
    if isinstance(outcome, FormErrors):
        await _page(ex, 422, render_page("review.html", invited, review_values(invited, outcome)))
        return
    # Relative to /r/{token}, as the thank-you page's link back is: right behind a proxy that adds a path prefix.
    await ex.answer_bytes(303, b"", [*PAGE_HEADERS, ("location", f"{token}/thanks")], content_type=None)


async def thanks(ctx: Context, ex: Exchange, path: Params) -> None:
    """GET /r/{token}/thanks: the thank-you page, listing the items reviewed and linking back to the form."""
    invited = await _invited(ctx, path["token"], links.REVIEW)
    await _page(ex, 200, render_page("thanks.html", invited, thanks_values(invited, path["token"])))


async def show_unsubscribe(ctx: Context, ex: Exchange, path: Params) -> None:
    """GET /u/{token}: one button to confirm; nothing changes (mail scanners follow links)."""
    invited = await _invited(ctx, path["token"], links.UNSUBSCRIBE)
    await _page(ex, 200, render_page("unsubscribe.html", invited, {"email": invited.email}))


async def unsubscribe(ctx: Context, ex: Exchange, path: Params) -> None:
    """POST /u/{token}: the button, or RFC 8058's one-click POST; any small body, unread. Idempotent."""
    invited = await _invited(ctx, path["token"], links.UNSUBSCRIBE)
    if await ex.read_body(reviews.MAX_UNSUBSCRIBE_BODY) is None:
        raise _too_large(invited)
    await reviews.unsubscribe(suppressions=ctx.suppressions, invited=invited, now=dt.datetime.now(dt.UTC))
    await _page(ex, 200, render_page("unsubscribed.html", invited, {"email": invited.email}))
