"""The customer's two pages over HTTP: review an order's items (/r/{token}) and unsubscribe (/u/{token})."""

import datetime as dt
import re
import time
import uuid
from pathlib import Path

import httpx
import pytest

from order_intake.domain import links
from tests.e2e.exchanges import json_body, unique_ref
from tests.e2e.invitees import ITEMS, Invitee, an_invitee, an_order_of, stored_reviews
from tests.support.cli import cli_ok
from tests.support.inspect_db import change_rows, fetch_rows
from tests.support.invitations_db import signing_key
from tests.support.polling import wait_until
from tests.support.privacy_db import db_time, db_uuid
from tests.support.raw_http import everything_sent, request, send_raw
from tests.support.server import Server

HTML = "text/html; charset=utf-8"
NOT_FOUND_WORDS = "This link does not work"
METHOD_WORDS = "This page cannot do that"
ONE_CLICK = "List-Unsubscribe=One-Click"


@pytest.fixture
def invitee(client: httpx.Client, db_url: str) -> Invitee:
    """A customer of a fresh shop, invited to review an order of three distinct items (four lines)."""
    return an_invitee(client, db_url)


def _page(answer: httpx.Response, status: int) -> str:
    """An HTML page's text, after checking its status and the headers every page has."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == HTML
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers.get("x-request-id")
    assert answer.text.startswith("<!DOCTYPE html>")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in answer.text
    return answer.text


def _review(client: httpx.Client, invitee: Invitee, fields: dict[str, str]) -> httpx.Response:
    return client.post(invitee.review_path, data=fields)


def test_a_forged_altered_or_unknown_token_gets_the_html_not_found_page(
    client: httpx.Client, invitee: Invitee, db_url: str
) -> None:
    """404 and a page in HTML, never JSON: a made-up, altered, other-kind or unknown invitation's token, extra paths."""
    token = invitee.review_token
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    unknown = links.token(signing_key(db_url), links.REVIEW, uuid.uuid4())
    paths = [
        "/r/nonsense",
        f"/r/{altered}",
        f"/r/{token.upper()}",
        f"/r/{token.partition('.')[0].upper()}.{token.partition('.')[2]}",  # the id's hex in upper case alone
        f"/r/{unknown}",
        f"/r/{unknown}/thanks",
        f"/u/{token}",  # a review token is no unsubscribe token
        f"/r/{invitee.unsubscribe_path.rsplit('/', 1)[1]}",
        f"/r/{token}/",
        f"/r/{token}/extra",
        "/u/",
    ]
    for path in paths:
        for method in ("GET", "POST"):
            answer = client.request(method, path, data={"rating:MUG-1": "5"} if method == "POST" else None)
            if path.endswith("/thanks") and method == "POST":
                assert METHOD_WORDS in _page(answer, 405), path
                assert answer.headers["allow"] == "GET, HEAD"
                continue
            text = _page(answer, 404)
            assert NOT_FOUND_WORDS in text, path
            assert '<html lang="en">' in text
    assert stored_reviews(db_url, invitee) == {}


def test_a_method_a_page_does_not_take_gets_a_405_page_naming_the_ones_it_does(
    client: httpx.Client, invitee: Invitee
) -> None:
    """PUT, DELETE or PATCH on a customer's link: 405 with Allow, as an HTML page, never JSON."""
    for path in (invitee.review_path, invitee.unsubscribe_path):
        for method in ("PUT", "DELETE", "PATCH"):
            answer = client.request(method, path)
            assert METHOD_WORDS in _page(answer, 405), (method, path)
            assert answer.headers["allow"] == "GET, HEAD, POST"


def test_the_review_page_asks_about_every_item_once_with_labelled_controls_and_escaped_names(
    client: httpx.Client, invitee: Invitee
) -> None:
    """One form (POST) holding each sku once, a fieldset per item, every radio and text box labelled; no script."""
    text = _page(client.get(invitee.review_path), 200)
    assert '<html lang="en">' in text
    assert text.count('<form method="post">') == 1
    assert "<script" not in text
    assert '<p class="organisation">Acme &lt;Retail&gt; &amp; &#34;Sons&#34;</p>' in text
    assert "<Retail>" not in text
    assert "Hello Ann, how was your order?" in text
    assert f"Order {invitee.order_ref}, placed on" in text
    for legend in ("Blue &lt;mug&gt;", "Cotton T-shirt", "PLAIN-3"):
        assert f"<legend>{legend}</legend>" in text
    assert "Blue mug, the second" not in text
    for sku in ("MUG-1", "TEE-2", "PLAIN-3"):
        assert text.count(f'name="text:{sku}"') == 1
        assert text.count(f'name="rating:{sku}"') == 5
    ids = re.findall(r'<(?:input|textarea) [^>]*id="([^"]+)"', text)
    assert len(ids) == 3 * 6
    for control in ids:
        assert f'for="{control}"' in text, control
    assert text.count("<fieldset") == 6


def test_the_review_page_is_in_the_orders_language(client: httpx.Client, db_url: str) -> None:
    """An order in German gets the page in German, dates written the German way."""
    german = an_invitee(client, db_url, language="de", locale="de-DE")
    text = _page(client.get(german.review_path), 200)
    assert '<html lang="de">' in text
    assert "Hallo Ann, wie war Ihre Bestellung?" in text
    assert "Bewertung absenden" in text
    months = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober")
    assert any(f"vom {dt.datetime.now(dt.UTC).day}. {m}" in text for m in (*months, "November", "Dezember"))


def test_a_valid_review_answers_303_to_the_thanks_page_and_purchases_show_that_sku_pending_moderation(
    client: httpx.Client, invitee: Invitee, db_url: str
) -> None:
    """Only the rated item is stored; the thank-you page lists it; purchases: pending_moderation for it alone."""
    sent = {
        "rating:MUG-1": "5",
        "text:MUG-1": "  Holds a lot of tea.\r\nNo chips.  ",
        "rating:TEE-2": "",
        "text:TEE-2": "",
    }
    answer = _review(client, invitee, sent)
    assert (answer.status_code, answer.content) == (303, b"")
    assert answer.headers["location"] == f"{invitee.review_token}/thanks"
    assert answer.headers["referrer-policy"] == "no-referrer"
    thanks_url = answer.url.join(answer.headers["location"])
    assert thanks_url.path == f"{invitee.review_path}/thanks"
    text = _page(client.get(thanks_url), 200)
    assert "Thank you for your review!" in text
    assert "<li>Blue &lt;mug&gt;: 5 out of 5</li>" in text
    assert f'<a href="../{invitee.review_token}">' in text
    assert stored_reviews(db_url, invitee) == {"MUG-1": (5, "Holds a lot of tea.\nNo chips.")}
    assert invitee.review_states(client) == {
        "MUG-1": {"pending_moderation"},
        "TEE-2": {"not_reviewed"},
        "PLAIN-3": {"not_reviewed"},
    }


def test_a_second_review_of_an_item_replaces_the_first_and_the_form_shows_it(
    client: httpx.Client, invitee: Invitee, db_url: str
) -> None:
    """One row per (invitation, sku), its rating and text the last ones, updated_at moved; the form prefilled."""
    assert _review(client, invitee, {"rating:MUG-1": "5", "text:MUG-1": "great"}).status_code == 303
    assert _review(client, invitee, {"rating:MUG-1": "2", "text:MUG-1": "broke <b>"}).status_code == 303
    assert _review(client, invitee, {"rating:TEE-2": "4"}).status_code == 303
    assert stored_reviews(db_url, invitee) == {"MUG-1": (2, "broke <b>"), "TEE-2": (4, "")}
    key = db_uuid(db_url, str(invitee.invitation_id))
    times = fetch_rows(
        db_url, "SELECT created_at, updated_at FROM reviews WHERE invitation_id = ? AND sku = ?", key, "MUG-1"
    )
    assert str(times[0][1]) > str(times[0][0])
    text = _page(client.get(invitee.review_path), 200)
    assert 'name="rating:MUG-1" value="2" checked>' in text
    assert 'name="rating:TEE-2" value="4" checked>' in text
    assert "broke &lt;b&gt;</textarea>" in text


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"rating:MUG-1": "6", "text:MUG-1": "six"}, ["Please choose a rating from 1 to 5."]),
        ({"rating:TEE-2": "4", "text:MUG-1": "no stars <here>"}, ["Please choose a rating to go with your comment."]),
        (
            {"rating:MUG-1": "3", "text:MUG-1": "x" * 5001},
            ["Please shorten your comment to 5,000 characters or fewer."],
        ),
        ({"rating:MUG-1": "", "text:MUG-1": "  "}, ["Please rate at least one item."]),
        ({}, ["Please rate at least one item."]),
    ],
    ids=["rating-6", "text-without-rating", "5001-characters", "nothing-rated", "empty"],
)
def test_an_invalid_review_shows_the_form_again_with_the_errors_and_the_input_kept_422(
    client: httpx.Client, invitee: Invitee, db_url: str, fields: dict[str, str], errors: list[str]
) -> None:
    """422, the same form with a summary and each error beside its item, the text typed still there; nothing stored."""
    text = _page(_review(client, invitee, fields), 422)
    assert '<div class="problem" role="alert">' in text
    for error in errors:
        assert f"<p>{error}</p>" in text
    marked = "Your review is not saved yet: please look at the marked items."
    assert (marked in text) == (errors != ["Please rate at least one item."])  # only when an item is marked
    typed = fields.get("text:MUG-1", "").strip()
    if typed:
        escaped = typed.replace("<", "&lt;").replace(">", "&gt;")
        assert f"{escaped}</textarea>" in text
        assert 'aria-describedby="e0" aria-invalid="true"' in text
    assert text.count(f'name="text:{ITEMS[1]["sku"]}"') == 1
    if fields.get("rating:TEE-2") == "4":
        assert 'name="rating:TEE-2" value="4" checked>' in text
    assert stored_reviews(db_url, invitee) == {}
    assert invitee.review_states(client)["MUG-1"] == {"not_reviewed"}


def test_a_review_body_over_its_bound_is_refused_413_with_a_page(client: httpx.Client, invitee: Invitee) -> None:
    """More than 1 MiB is not read: 413, an HTML page, the connection closed."""
    answer = client.post(invitee.review_path, content=b"a" * (1024 * 1024 + 1))
    assert "That was too much text" in _page(answer, 413)


@pytest.mark.parametrize("path", ["review_path", "unsubscribe_path"])
def test_a_form_body_that_breaks_off_gets_a_400_page_not_json(server: Server, invitee: Invitee, path: str) -> None:
    """Content-Length promised more than came before the client stopped sending: a page, as everything there."""
    body = b"rating%3AMUG-1=5"
    headers = [("Host", "x"), ("Content-Type", "application/x-www-form-urlencoded"), ("Content-Length", "400")]
    answer = send_raw(server.port, request("POST", getattr(invitee, path), headers, body), half_close=True)
    assert (answer.status, answer.headers["content-type"]) == (400, HTML)
    assert "What you sent did not arrive whole" in answer.body.decode()
    assert answer.headers["connection"] == "close"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"rating:MUG-1": "5"}'),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="rating:MUG-1"\r\n\r\n5\r\n--x--\r\n',
        ),
        ("text/plain", b"rating:MUG-1=5"),
        (None, b"rating:MUG-1=5"),
    ],
)
def test_a_review_body_not_sent_by_the_form_is_refused_415_with_a_page_and_nothing_stored(
    client: httpx.Client, db_url: str, invitee: Invitee, content_type: str | None, body: bytes
) -> None:
    """Only the form's encoding is read; anything else gets 415 and a page saying to use the form."""
    headers = {} if content_type is None else {"content-type": content_type}
    answer = client.post(invitee.review_path, content=body, headers=headers)
    assert "That did not come from the review form" in _page(answer, 415)
    assert answer.headers["accept-post"] == "application/x-www-form-urlencoded"
    assert stored_reviews(db_url, invitee) == {}
    form = client.post(
        invitee.review_path,
        content=b"rating:MUG-1=5",
        headers={"content-type": "Application/X-WWW-Form-Urlencoded; charset=UTF-8"},
    )
    assert form.status_code == 303  # the same fields as the form's encoding, its type in any case, are stored


def test_saving_a_review_calls_off_the_unsent_reminder_only(
    client: httpx.Client, db_url: str, invitee: Invitee
) -> None:
    """reminder_at goes to NULL when the reminder is not sent yet; a sent reminder's row is left as it is."""
    later = db_time(db_url, dt.datetime.now(dt.UTC) + dt.timedelta(days=20))
    key = db_uuid(db_url, str(invitee.invitation_id))
    change_rows(db_url, "UPDATE invitations SET reminder_at = ? WHERE id = ?", later, key)
    assert _review(client, invitee, {"rating:PLAIN-3": "1"}).status_code == 303
    assert fetch_rows(db_url, "SELECT reminder_at FROM invitations WHERE id = ?", key) == [(None,)]
    other = an_invitee(client, db_url)
    other_key = db_uuid(db_url, str(other.invitation_id))
    sent = db_time(db_url, dt.datetime.now(dt.UTC))
    change_rows(
        db_url, "UPDATE invitations SET reminder_at = ?, reminder_sent_at = ? WHERE id = ?", sent, sent, other_key
    )
    assert _review(client, other, {"rating:PLAIN-3": "1"}).status_code == 303
    assert fetch_rows(db_url, "SELECT reminder_at FROM invitations WHERE id = ?", other_key)[0][0] is not None


@pytest.mark.parametrize(("state", "status"), [("sent", 200), ("cancelled", 404), ("failed", 404), ("skipped", 404)])
def test_only_a_scheduled_or_sent_invitation_can_be_reviewed(
    client: httpx.Client, db_url: str, invitee: Invitee, state: str, status: int
) -> None:
    """Sent: the form; cancelled, failed or skipped: the not-found page for GET, POST and thanks, nothing stored."""
    key = db_uuid(db_url, str(invitee.invitation_id))
    change_rows(db_url, "UPDATE invitations SET state = ? WHERE id = ?", state, key)
    assert _page(client.get(invitee.review_path), status)
    if status == 404:
        assert NOT_FOUND_WORDS in _page(_review(client, invitee, {"rating:MUG-1": "5"}), 404)
        assert NOT_FOUND_WORDS in _page(client.get(f"{invitee.review_path}/thanks"), 404)
        assert stored_reviews(db_url, invitee) == {}
        assert _page(client.get(invitee.unsubscribe_path), 200)  # unsubscribing stays possible


def test_a_cancelled_or_erased_customers_links_get_the_not_found_page(
    client: httpx.Client, db_url: str, invitee: Invitee
) -> None:
    """The retailer's cancel: the review link 404s; erasure: both links 404 (the invitation is gone)."""
    cancel = f"/v4/organisations/{invitee.trkref}/customer_orders/{invitee.order_ref}/invitation/cancel"
    assert client.post(cancel, json={"reason": "refunded"}, auth=invitee.key.auth).status_code == 200
    assert NOT_FOUND_WORDS in _page(client.get(invitee.review_path), 404)
    cli_ok(db_url, "erase", "--trkref", invitee.trkref, "--email", invitee.email)
    for path in (invitee.review_path, invitee.unsubscribe_path):
        assert NOT_FOUND_WORDS in _page(client.get(path), 404)
        assert NOT_FOUND_WORDS in _page(client.post(path, data={"confirm": "1"}), 404)


def test_get_of_the_unsubscribe_link_shows_one_button_and_changes_nothing(
    client: httpx.Client, invitee: Invitee
) -> None:
    """Mail scanners follow links: the page asks, in the order's language; the address stays unsuppressed."""
    for _ in range(2):
        text = _page(client.get(invitee.unsubscribe_path), 200)
        assert text.count('<form method="post">') == 1
        assert text.count("<button") == 1
        assert f"will send no more review requests to {invitee.email}" in text
    assert invitee.suppression(client).status_code == 404
    assert json_body(invitee.explain(client))["state"] == "scheduled"


def test_head_of_a_customers_links_answers_as_get_sends_no_body_and_changes_nothing(
    server: Server, client: httpx.Client, invitee: Invitee
) -> None:
    """Link checkers send HEAD: GET's status and length, no body on the connection, nothing stored or suppressed."""
    for path in (invitee.review_path, invitee.unsubscribe_path, "/r/nonsense"):
        got = client.get(path)
        answer = everything_sent(server.port, request("HEAD", path, [("Host", "x"), ("Connection", "close")]))
        head, _, rest = answer.partition(b"\r\n\r\n")
        assert (int(head.split(b" ")[1]), rest) == (got.status_code, b""), path
        assert f"content-length: {len(got.content)}".encode() in head.lower(), path
    assert invitee.suppression(client).status_code == 404
    assert json_body(invitee.explain(client))["state"] == "scheduled"
    assert stored_reviews(server.database_url, invitee) == {}


def _unsubscribed(client: httpx.Client, invitee: Invitee, answer: httpx.Response) -> None:
    text = _page(answer, 200)
    assert "You are unsubscribed" in text
    assert (
        f"No more review requests will come from Acme &lt;Retail&gt; &amp; &#34;Sons&#34; to {invitee.email}." in text
    )
    found = invitee.suppression(client)
    assert (found.status_code, json_body(found)["reason"]) == (200, "unsubscribed")


@pytest.mark.parametrize("how", ["button", "one-click-urlencoded", "one-click-multipart", "empty"])
def test_posting_the_unsubscribe_link_suppresses_the_address_for_good(
    client: httpx.Client, invitee: Invitee, how: str
) -> None:
    """The button or RFC 8058's one-click POST: 200, a page, `unsubscribed`, twice alike; no retailer can lift it."""
    path = invitee.unsubscribe_path
    requests = {
        "button": lambda: client.post(path, data={"confirm": "1"}),
        "one-click-urlencoded": lambda: client.post(
            path, content=ONE_CLICK, headers={"content-type": "application/x-www-form-urlencoded"}
        ),
        "one-click-multipart": lambda: client.post(path, files={"List-Unsubscribe": (None, "One-Click")}),
        "empty": lambda: client.post(path),
    }
    _unsubscribed(client, invitee, requests[how]())
    _unsubscribed(client, invitee, requests[how]())
    assert json_body(invitee.explain(client))["state"] == "suppressed"
    lift = client.delete(f"/v4/organisations/{invitee.trkref}/suppressions/{invitee.email}", auth=invitee.key.auth)
    assert (lift.status_code, json_body(lift)) == (409, {"status": 409, "message": "Suppressed by the customer"})


def test_after_unsubscribing_the_customers_next_order_is_suppressed_unsubscribed(
    client: httpx.Client, invitee: Invitee
) -> None:
    """A later order of the same address is planned `suppressed` with reason `unsubscribed`, and explains why."""
    _unsubscribed(client, invitee, client.post(invitee.unsubscribe_path, content=ONE_CLICK))
    next_ref = unique_ref("NEXT")
    order = {"trkref": invitee.trkref, **an_order_of(invitee.email, next_ref)}
    assert (
        client.post(f"/v4/organisations/{invitee.trkref}/customer_order", json=order, auth=invitee.key.auth).status_code
        == 202
    )

    def planned() -> dict[str, object] | None:
        answer = invitee.explain(client, next_ref)
        return json_body(answer) if answer.status_code == 200 else None

    found = wait_until(planned, deadline=time.monotonic() + 30)
    assert found is not None
    assert (found["state"], found["reason"]) == ("suppressed", "unsubscribed")


def test_an_unsubscribe_body_over_its_bound_is_refused_413(client: httpx.Client, invitee: Invitee) -> None:
    """A one-click POST is a few bytes: over 16 KiB is refused unread, and nothing is suppressed."""
    _page(client.post(invitee.unsubscribe_path, content=b"x" * (16 * 1024 + 1)), 413)
    assert invitee.suppression(client).status_code == 404


def test_the_pages_are_left_out_of_the_openapi_document_and_their_tokens_out_of_the_log(
    client: httpx.Client, invitee: Invitee, run_dir: Path, backend: str
) -> None:
    """The API's document describes the API only; the access log names the route template, never the token."""
    paths = json_body(client.get("/openapi.json"))["paths"]
    assert not [path for path in paths if path.startswith(("/r/", "/u/"))]
    client.get(invitee.review_path)
    log = run_dir / f"server-{backend}.log"

    def logged() -> str | None:
        text = log.read_text()
        return text if '"/r/{token}"' in text else None

    text = wait_until(logged, deadline=time.monotonic() + 10)
    assert text is not None
    assert invitee.review_token not in text
    assert invitee.unsubscribe_path.rsplit("/", 1)[1] not in text
