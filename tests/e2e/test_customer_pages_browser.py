"""The customer's pages in a real browser at a phone's width: Debian's headless Chromium, driven by Playwright.

A customer opens the review link, fills the form by clicking the ratings' labels and typing, sends it
and sees the thank-you page; another opens the unsubscribe link and presses its button. Every page must
fit 360 px without horizontal scrolling and pass axe-core's accessibility rules and a check of our own
of labels, contrast and language (the only one where npm cannot install axe-core). Each page is saved
as a screenshot, for a person to look at, in test-output/screenshots/ at the repository's root
(git-ignored), named `<backend>-<page>.png`. scripts/setup installs Chromium and axe-core where it
can; without Chromium these tests are skipped, saying why.
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.e2e.invitees import Invitee, an_invitee
from tests.support.server import Server

CHROMIUM = Path("/usr/bin/chromium")
# What this machine's closed network needs: no background connections, no QUIC, no sandbox as root.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 740}
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
AXE = ROOT / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
COMMENT = "Your comment (optional, up to 5,000 characters)"
# Every control named by a label, the page's language, text contrast of at least 4.5:1: what is left where
# axe-core cannot be installed (run beside it where it can, so that it is known to work).
OWN_CHECK = Path(__file__).with_name("accessibility_check.js").read_text()


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (never a browser a test tool downloads).

    One per test, started after the test's other fixtures: Playwright's synchronous API keeps an event
    loop running in this thread, and the PostgreSQL helpers' asyncio.run could not start beside it.
    """
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: scripts/setup installs Debian's chromium as root with apt-get")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def invitee(client: httpx.Client, db_url: str) -> Invitee:
    """A customer of a fresh shop invited to review an order (in English), made before the browser starts."""
    return an_invitee(client, db_url)


@pytest.fixture
def german(client: httpx.Client, db_url: str) -> Invitee:
    """The same, for an order in German."""
    return an_invitee(client, db_url, language="de", locale="de-DE")


def _phone(browser: Browser, server: Server, *, bypass_csp: bool = False) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, base_url=server.base_url, bypass_csp=bypass_csp)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser: Browser, server: Server) -> Iterator[Page]:
    """A fresh phone-sized tab, with the pages' own security policy in force."""
    yield from _phone(browser, server)


@pytest.fixture
def checking_phone(browser: Browser, server: Server) -> Iterator[Page]:
    """A phone-sized tab that lets a test add axe-core's script (the pages' policy forbids every script)."""
    yield from _phone(browser, server, bypass_csp=True)


def _seen(page: Page, backend: str, name: str) -> None:
    """The page fits a phone's width; its screenshot is saved."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{backend}-{name}.png"), full_page=True)


def _heading(page: Page) -> str:
    return page.get_by_role("heading", level=1).inner_text()


def test_a_customer_reviews_two_items_on_a_phone(
    invitee: Invitee, phone: Page, client: httpx.Client, backend: str
) -> None:
    """Review, a mistake shown beside its item (input kept), then two ratings sent: thanks; purchases agree."""
    phone.goto(invitee.review_path)
    assert phone.locator("html").get_attribute("lang") == "en"
    assert phone.locator("header").inner_text() == 'Acme <Retail> & "Sons"'
    _seen(phone, backend, "review")
    tee = phone.get_by_role("group", name="Cotton T-shirt")
    tee.get_by_label(COMMENT).press_sequentially("Soft, keeps its shape.")
    phone.get_by_role("button", name="Send my review").click()
    assert tee.get_by_text("Please choose a rating to go with your comment.").is_visible()
    assert tee.get_by_label(COMMENT).input_value() == "Soft, keeps its shape."
    _seen(phone, backend, "review-errors")
    mug = phone.get_by_role("group", name="Blue <mug>")
    mug.locator("label.choice").filter(has_text=re.compile(r"^4$")).click()
    assert mug.get_by_role("radio", name="4").is_checked()
    mug.get_by_label(COMMENT).fill("Holds a lot of tea.")
    tee.locator("label.choice").filter(has_text=re.compile(r"^5$")).click()
    phone.get_by_role("button", name="Send my review").click()
    phone.wait_for_url(re.compile(r"/thanks$"))
    assert _heading(phone) == "Thank you for your review!"
    assert phone.get_by_role("listitem").all_inner_texts() == ["Blue <mug>: 4 out of 5", "Cotton T-shirt: 5 out of 5"]
    _seen(phone, backend, "thanks")
    assert invitee.review_states(client) == {
        "MUG-1": {"pending_moderation"},
        "TEE-2": {"pending_moderation"},
        "PLAIN-3": {"not_reviewed"},
    }
    phone.get_by_role("link", name="Change your review").click()
    assert phone.get_by_role("group", name="Cotton T-shirt").get_by_role("radio", name="5").is_checked()


def test_a_customer_unsubscribes_on_a_phone(invitee: Invitee, phone: Page, client: httpx.Client, backend: str) -> None:
    """The link asks first (nothing suppressed), the button unsubscribes; a made-up link gets the not-found page."""
    phone.goto(invitee.unsubscribe_path)
    assert _heading(phone) == "No more review requests?"
    _seen(phone, backend, "unsubscribe")
    assert invitee.suppression(client).status_code == 404
    phone.get_by_role("button", name="Unsubscribe").click()
    phone.get_by_role("heading", name="You are unsubscribed").wait_for()
    _seen(phone, backend, "unsubscribed")
    suppression = invitee.suppression(client)
    assert (suppression.status_code, suppression.json()["reason"]) == (200, "unsubscribed")
    answer = phone.goto("/r/not-a-token")
    assert answer is not None
    assert answer.status == 404
    assert _heading(phone) == "This link does not work"
    _seen(phone, backend, "not-found")


def _accessible(page: Page, name: str) -> None:
    """No accessibility violation on the page as it is now: axe-core's rules (where installed) and our own check."""
    found = page.evaluate(OWN_CHECK)
    if AXE.exists():
        page.add_script_tag(path=str(AXE))
        results: dict[str, Any] = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        found += [(v["id"], [n["html"] for n in v["nodes"]]) for v in results["violations"]]
    assert found == [], (name, found)


def test_every_page_passes_the_accessibility_check(
    invitee: Invitee, german: Invitee, checking_phone: Page, backend: str
) -> None:
    """Review (with errors too), thanks, unsubscribe, unsubscribed, not found: no violation, in English and German.

    The German pages, whose words are longer, must fit the phone too (screenshots `<backend>-de-<page>.png`).
    """
    page = checking_phone

    def checked(name: str, language: str) -> None:
        _accessible(page, f"{name} ({language})")
        if language == "de":
            _seen(page, backend, f"de-{name}")

    for language, customer, words in (
        ("en", invitee, ("Send my review", "Unsubscribe", "You are unsubscribed")),
        ("de", german, ("Bewertung absenden", "Abmelden", "Sie sind abgemeldet")),
    ):
        send, unsubscribe, unsubscribed = words
        page.goto(customer.review_path)
        checked("review", language)
        page.get_by_role("button", name=send).click()
        page.locator(".problem").wait_for()
        checked("review-errors", language)
        page.locator("label.choice").first.click()
        page.get_by_role("button", name=send).click()
        page.wait_for_url(re.compile(r"/thanks$"))
        checked("thanks", language)
        page.goto(customer.unsubscribe_path)
        checked("unsubscribe", language)
        page.get_by_role("button", name=unsubscribe).click()
        page.get_by_role("heading", name=unsubscribed).wait_for()
        checked("unsubscribed", language)
    page.goto("/u/not-a-token")
    _accessible(page, "not found")
