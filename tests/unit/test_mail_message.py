"""The e-mail as written: headers of the contract, both parts, values escaped, the customer's language."""

import datetime as dt
import email
import email.header
import email.policy
import itertools
import uuid
from email.message import EmailMessage

import pytest

from order_intake.adapters.mail.compose import compose
from order_intake.adapters.mail.url import parse_mail_url
from order_intake.domain.delivery import Kind
from order_intake.service.delivery_records import Letter
from tests.support.factories import LONG_LINK, a_letter


def _parsed(letter: Letter) -> tuple[bytes, EmailMessage]:
    raw = compose(letter, dt.datetime(2026, 12, 6, 9, tzinfo=dt.UTC)).raw
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return raw, message


def test_link_headers_are_plain_ascii_on_one_line_however_long() -> None:
    """List-Unsubscribe and its one-click partner: never folded, never an encoded-word."""
    raw, message = _parsed(a_letter())
    assert f"List-Unsubscribe: <{LONG_LINK}/u>\r\n".encode() in raw
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert message["X-Invitation-Id"] == str(uuid.UUID(int=7))
    assert message["Message-ID"] == "<7.invitation@reviews.example>"
    assert raw.isascii()


def test_every_supplied_value_is_escaped_in_html_and_written_out_in_text() -> None:
    """Names, the organisation and items reach the HTML escaped, the text part as given; links in full in both."""
    raw, message = _parsed(a_letter())
    assert raw.count(f"{LONG_LINK}/r".encode()) >= 2  # whole in the message as sent, not only once decoded
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html
    assert "Kettle &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Kettles &lt;b&gt;&amp; Co&lt;/b&gt;" in html
    assert "Kettle <script>alert(1)</script>" in text

    for part in (html, text):
        assert f"{LONG_LINK}/r" in part
        assert f"{LONG_LINK}/u" in part
        assert "A-1" in part


def test_a_line_break_in_a_supplied_value_cannot_add_a_header() -> None:
    """A name or an organisation with CR/LF in it stays on its header's line."""
    raw, message = _parsed(a_letter(to_name="Ann\r\nBcc: victim@example.com", organisation="Shop\nX-Evil: 1"))
    assert message["Bcc"] is None
    assert message["X-Evil"] is None
    assert b"\r\nBcc:" not in raw.split(b"\r\n\r\n", 1)[0]


def test_the_recipients_name_and_the_sender_are_kept() -> None:
    """To carries the customer's name; From the policy's sender with its display name."""
    _, message = _parsed(a_letter())
    assert message["To"].addresses[0].display_name == "Ann <Admin>"
    assert message["To"].addresses[0].addr_spec == "ann@example.com"
    assert message["From"].addresses[0].addr_spec == "reviews@kettles.example"


def test_an_address_beyond_ascii_is_sent_with_its_domain_in_ascii_and_its_local_part_in_utf8() -> None:
    """A domain beyond ASCII goes as IDNA (any server takes it); a local part beyond ASCII as UTF-8 (RFC 6532)."""
    composed = compose(a_letter(to_address="jurgen@bücher.de", sender="Shop <shop@bücher.de>"))
    assert (composed.recipient, composed.sender) == ("jurgen@xn--bcher-kva.de", "shop@xn--bcher-kva.de")
    assert b'\r\nTo: "Ann <Admin>" <jurgen@xn--bcher-kva.de>\r\n' in composed.raw  # an ASCII name as it is, quoted
    assert compose(a_letter(to_address="info@straße.de")).recipient == "info@xn--strae-oqa.de"  # IDNA 2008, not 2003
    utf8 = compose(a_letter(to_address="jürgen@bücher.de", to_name="Jürgen"))
    assert utf8.recipient == "jürgen@xn--bcher-kva.de"
    message = email.message_from_string(utf8.raw.decode(), policy=email.policy.SMTPUTF8)
    assert message["To"].addresses[0].addr_spec == "jürgen@xn--bcher-kva.de"
    assert message["To"].addresses[0].display_name == "Jürgen"
    assert b"stand-in" not in utf8.raw


def test_a_long_name_beyond_ascii_is_folded_within_the_line_limit_and_reads_back_whole() -> None:
    """200 + 200 letters beyond ASCII in To and From: whole header lines of at most 78 characters."""
    name = "é" * 200 + " " + "漢" * 200
    raw, message = _parsed(a_letter(to_name=name, sender=f"{name} <shop@example.com>"))
    lines = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    for header in (b"To: ", b"From: "):
        start = next(i for i, line in enumerate(lines) if line.startswith(header))
        folded = [lines[start], *itertools.takewhile(lambda line: line.startswith(b" "), lines[start + 1 :])]
        assert len(folded) > 1
        assert max(len(line) for line in folded) <= 78, header
        # RFC 2047 joins adjacent encoded-words without the folding between them (the address parser of
        # email.policy.default keeps a space there, so the header is decoded as RFC 2047 says)
        unfolded = b"".join(folded)[len(header) :].decode()
        assert str(email.header.make_header(email.header.decode_header(unfolded.rsplit(" <", 1)[0]))) == name
    assert message["To"].addresses[0].addr_spec == "ann@example.com"
    assert message["From"].addresses[0].addr_spec == "shop@example.com"


def test_a_value_a_customer_sends_cannot_become_an_address() -> None:
    """The stand-in of an address beyond ASCII is random and replaced only in its own header."""
    decoy = "utf8-address-0@stand-in.invalid"
    composed = compose(a_letter(to_address="jürgen@example.com", to_name=decoy, organisation=decoy))
    head = composed.raw.split(b"\r\n\r\n", 1)[0].decode()
    assert f'To: "{decoy}" <jürgen@example.com>' in head
    assert head.count("stand-in.invalid") == head.count(decoy) == 2  # the name and the subject, as sent


@pytest.mark.parametrize(
    ("language", "locale", "subject", "date"),
    [
        (None, None, "How was your order from", "6 December 2026"),
        ("de", None, "Wie war Ihre Bestellung bei", "6. Dezember 2026"),
        ("fr", "de-AT", "Wie war Ihre Bestellung bei", "6. Dezember 2026"),
        ("fr", "fr-FR", "How was your order from", "6 December 2026"),
        (None, "en-US", "How was your order from", "December 6, 2026"),
    ],
)
def test_the_language_is_the_orders_when_translated_else_english(
    language: str | None, locale: str | None, subject: str, date: str
) -> None:
    """The locale's language, else the order's language, if translated; dates as that reader writes them."""
    _, message = _parsed(a_letter(language=language, locale=locale))
    assert message["Subject"].startswith(subject)
    assert date in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_a_reminder_says_so() -> None:
    """The reminder has its own subject and opening."""
    _, message = _parsed(a_letter(kind=Kind.REMINDER))
    assert message["Subject"].startswith("A reminder:")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("maildir:./order-intake-mail", "maildir:order-intake-mail"),
        ("smtp://mail.example:2525", "smtp://mail.example:2525"),
        ("smtp://u%40x:p%3Aw@mail.example:587?starttls=1", "smtp://u@x@mail.example:587?starttls=1"),
        ("smtps://mail.example", "smtps://mail.example:465"),
        ("smtp://mail.example", "smtp://mail.example:25"),
    ],
)
def test_mail_urls_are_read_and_shown_without_their_password(url: str, shown: str) -> None:
    """The three forms; a password never appears in what logs print."""
    assert str(parse_mail_url(url)) == shown


@pytest.mark.parametrize("url", ["maildir:", "http://x", "smtp://", "smtp://h:99999", "smtp:/h", ""])
def test_other_mail_urls_are_refused_with_a_reason(url: str) -> None:
    """Anything else: a ValueError whose text says what was expected."""
    with pytest.raises(ValueError, match=r"\w"):
        parse_mail_url(url)
