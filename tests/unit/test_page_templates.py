"""The customer pages' templates and words: every key translated, none shadowing the mail's, every value escaped."""

import datetime as dt
import re
import tomllib
import uuid
from importlib import resources

import pytest

from order_intake.domain import reviews
from order_intake.domain.reviews import FormErrors, Item, Review, read_form
from order_intake.entrypoints.http.page_views import NOTICES, render_notice, render_page, review_values, thanks_values
from order_intake.service.reviews import Invited

TEMPLATES = resources.files("order_intake") / "templates"
HOSTILE = '<script>alert("x")</script>&'
# Every page there is (base.html is the frame each extends, notice.html the one of NOTICES): a page added is
# checked without a list to update.
PAGES = tuple(
    sorted(
        p.name
        for p in (TEMPLATES / "pages").iterdir()
        if p.name.endswith(".html") and p.name not in {"base.html", "notice.html"}
    )
)


def _words(name: str) -> dict[str, str]:
    return tomllib.loads((TEMPLATES / "translations" / name).read_text(encoding="utf-8"))


def _hostile(language: str) -> Invited:
    """An invitation whose every retailer- or customer-supplied value is markup."""
    return Invited(
        invitation_id=uuid.uuid4(),
        organisation_id=1,
        organisation=HOSTILE,
        email=f"{HOSTILE}@example.com",
        order_ref=HOSTILE,
        order_date=dt.date(2026, 12, 6),
        customer_name=HOSTILE,
        language=language,
        locale=None,
        items=(Item(HOSTILE, HOSTILE), Item(f"{HOSTILE}2")),
        reviews=(Review(HOSTILE, 4, HOSTILE),),
        reviewable=True,
    )


def test_english_and_german_have_the_same_keys_each_translated_and_none_shadows_the_mails() -> None:
    """Both files, the same `page_` keys with different words; the catalogues merge per language without loss."""
    english, german = _words("en.pages.toml"), _words("de.pages.toml")
    assert set(english) == set(german)
    assert all(key.startswith("page_") for key in english)
    assert [key for key in english if english[key] == german[key]] == []
    for mail in (TEMPLATES / "translations").iterdir():
        if mail.name.endswith(".mail.toml"):
            assert set(english).isdisjoint(tomllib.loads(mail.read_text(encoding="utf-8"))), mail.name


def test_every_key_the_pages_and_the_form_rules_use_is_in_the_catalogue() -> None:
    """The templates' t("...") keys and the form's error keys are all there."""
    english = _words("en.pages.toml")
    used = {reviews.RATING_INVALID, reviews.RATING_REQUIRED, reviews.TEXT_TOO_LONG, reviews.NOTHING_RATED}
    for page in (*PAGES, "base.html"):
        used |= set(re.findall(r't\("([a-z_]+)"', (TEMPLATES / "pages" / page).read_text(encoding="utf-8")))
    used |= {f"{notice}_{part}" for notice in NOTICES for part in ("title", "heading", "text")}
    assert used - set(english) == set()
    assert set(english) - used == set()  # no word left over from a page that is gone


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_page_shows_retailer_and_customer_values_as_text(language: str) -> None:
    """Names, skus, the address, the order_ref and typed comments are escaped; no page carries a script."""
    invited = _hostile(language)
    errors = read_form(b"text%3A" + HOSTILE.encode().replace(b"&", b"%26") + b"=hi", invited.items)
    assert isinstance(errors, FormErrors)
    values = {
        "review.html": review_values(invited, None),
        "thanks.html": thanks_values(invited, "token"),
        "unsubscribe.html": {"email": invited.email},
        "unsubscribed.html": {"email": invited.email},
    }
    shown = [render_page(page, invited, values.get(page, {})).decode() for page in PAGES]
    shown += [render_notice(notice, invited).decode() for notice in NOTICES]
    shown.append(render_page("review.html", invited, review_values(invited, errors)).decode())
    for text in shown:
        assert "<script" not in text
        assert f'<html lang="{language}">' in text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;" in text
