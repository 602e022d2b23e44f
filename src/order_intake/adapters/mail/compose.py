"""A letter as an e-mail: text and HTML parts from the templates, and the contract's headers, as bytes.

Built with the standard library's `email.mime` classes, parts in 8bit UTF-8, flattened with CRLF: a fifth of
the CPU the `email.policy.default` machinery takes (bench/mail.py). The link headers stay plain ASCII
on one line (a mail client does not recognise an encoded-word or a folded URL there); a name or a
subject that is not ASCII is encoded as RFC 2047 allows, in encoded-words folded within the line
limit. Line breaks in a name or an organisation's name become spaces, so no value can add a header.
An address's domain beyond ASCII is sent in its ASCII form; a local part beyond ASCII as UTF-8.
"""

import datetime as dt
import email.charset
import email.generator
import email.policy
import email.utils
import io
import uuid
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Final, NamedTuple

import idna

from order_intake.domain.delivery import Kind
from order_intake.rendering import reader_of, render
from order_intake.service.delivery_records import Letter

__all__ = ["Composed", "compose"]

# Parts in UTF-8 as they are (8bit), so that every link stands whole in the message as sent; a part
# with a line longer than SMTP allows (a very long item name) goes quoted-printable instead.
_UTF8_8BIT: Final = email.charset.Charset("utf-8")
_UTF8_8BIT.body_encoding = None  # type: ignore[assignment]  # None: no transfer encoding (typeshed: int only)
_UTF8_QP: Final = email.charset.Charset("utf-8")
_UTF8_QP.body_encoding = email.charset.QP
_LONGEST_LINE: Final = 998
# CRLF line ends; header lines up to RFC 5322's limit, so that a long link is never folded.
_FLAT: Final = email.policy.compat32.clone(linesep="\r\n", max_line_length=998)


class Composed(NamedTuple):
    """The message as it goes on the wire, and the envelope's sender and recipient (From's and To's bare addresses)."""

    raw: bytes
    sender: str
    recipient: str


def _line(value: str) -> str:
    return " ".join(value.split())


def _text(value: str) -> str:
    """A header's text: as is if ASCII, else an RFC 2047 encoded-word."""
    value = _line(value)
    return value if value.isascii() else Header(value, "utf-8").encode()


def ascii_domain(address: str) -> str:
    """The address with a domain beyond ASCII in its ASCII form (IDNA), so that any server takes it."""
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:  # IDNA 2008 as email-validator reads it (Python's "idna" codec is IDNA 2003: straße.de -> strasse.de)
        return f"{local}@{idna.encode(domain, uts46=True, transitional=False).decode('ascii')}"
    except idna.IDNAError:
        return address  # no ASCII form: the server's SMTPUTF8 decides


def _address(header: str, name: str | None, address: str, stand_ins: dict[str, tuple[str, str]]) -> str:
    """A header's address: a name beyond ASCII as encoded-words folded within 78 characters a line.

    An address that stays beyond ASCII (its local part) cannot be an encoded-word: a stand-in, random
    for each message (no value a customer sends can hold it), goes into the header, and the address's
    UTF-8 bytes replace it in that header once flattened (RFC 6532, sent with SMTPUTF8).
    """
    if not address.isascii():
        stand_in = f"{uuid.uuid4().hex}@stand-in.invalid"
        stand_ins[header] = (stand_in, address)
        address = stand_in
    shown = _line(name or "")
    if shown.isascii():
        return email.utils.formataddr((shown, address))
    encoded = Header(shown, "utf-8", header_name=header).encode(linesep="\r\n")
    return f"{encoded}\r\n <{address}>"  # the address on a line of its own


def _with_addresses(raw: bytes, stand_ins: dict[str, tuple[str, str]]) -> bytes:
    """The message with each header's stand-in replaced by its address, in that header only (From, To)."""
    head, blank, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    for header, (stand_in, address) in stand_ins.items():
        start = next(i for i, line in enumerate(lines) if line.startswith(f"{header}: ".encode()))
        end = start + 1
        while end < len(lines) and lines[end][:1] in {b" ", b"\t"}:  # its folded lines
            end += 1
        replaced = (f"<{stand_in}>".encode(), f"<{address}>".encode())
        lines[start:end] = [line.replace(*replaced) for line in lines[start:end]]
    return b"\r\n".join(lines) + blank + body


def _part(body: str, subtype: str) -> MIMEText:
    part = MIMEText("", subtype, "utf-8")
    del part["Content-Transfer-Encoding"]
    longest = max(map(len, body.encode().splitlines()), default=0)
    part.set_payload(body, _UTF8_QP if longest > _LONGEST_LINE else _UTF8_8BIT)  # sets Content-Transfer-Encoding
    return part


def compose(letter: Letter, now: dt.datetime | None = None) -> Composed:
    """The whole message, ready to hand to SMTP or a Maildir."""
    reader = reader_of(letter.language, letter.locale)
    subject_key = "reminder_subject" if letter.kind is Kind.REMINDER else "subject"
    subject = reader.t(subject_key, organisation=letter.organisation)
    values = {
        "subject": subject,
        "reminder": letter.kind is Kind.REMINDER,
        "customer_name": letter.to_name,
        "organisation": letter.organisation,
        "order_ref": letter.order_ref,
        "order_date": letter.order_date,
        "items": letter.items,
        "review_url": letter.review_url,
        "unsubscribe_url": letter.unsubscribe_url,
    }
    sender_name, sender = email.utils.parseaddr(letter.sender)
    sender, recipient = ascii_domain(sender), ascii_domain(letter.to_address)
    stand_ins: dict[str, tuple[str, str]] = {}  # header: (its stand-in, the address)
    message = MIMEMultipart("alternative")
    message["Subject"] = _text(subject)
    message["From"] = _address("From", sender_name, sender, stand_ins)
    message["To"] = _address("To", letter.to_name, recipient, stand_ins)
    message["Date"] = email.utils.format_datetime(now or dt.datetime.now(dt.UTC))
    message["Message-ID"] = letter.message_id
    message["List-Unsubscribe"] = f"<{letter.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["X-Invitation-Id"] = str(letter.invitation_id)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    message.attach(_part(render("mail/invitation.txt", reader, values), "plain"))
    message.attach(_part(render("mail/invitation.html", reader, values), "html"))
    out = io.BytesIO()
    email.generator.BytesGenerator(out, policy=_FLAT).flatten(message)
    return Composed(_with_addresses(out.getvalue(), stand_ins), sender, recipient)
