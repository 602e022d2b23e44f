"""A letter as an e-mail: text and HTML parts from the templates, and the contract's headers.

The link headers stay plain ASCII on one line (a mail client does not recognise an encoded-word or
a folded URL there); names and subjects that are not ASCII are encoded as RFC 2047 allows.
"""

import datetime as dt
import email.errors
import email.policy
import email.utils
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Final

from order_intake.domain.delivery import Kind
from order_intake.rendering import reader_of, render
from order_intake.service.delivery_records import Letter

__all__ = ["POLICY", "compose"]

# SMTP's line endings; header lines up to the RFC 5322 limit, so that a long link is never folded.
POLICY: Final = email.policy.SMTP.clone(max_line_length=998)


def _recipient(letter: Letter) -> str:
    try:
        address = Address(addr_spec=letter.to_address)
    except (ValueError, email.errors.HeaderParseError):
        return letter.to_address  # the address as validated, without the name
    return str(Address(display_name=letter.to_name or "", username=address.username, domain=address.domain))


def compose(letter: Letter, now: dt.datetime | None = None) -> EmailMessage:
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
    message = EmailMessage(policy=POLICY)
    message["Subject"] = subject
    message["From"] = letter.sender
    message["To"] = _recipient(letter)
    message["Date"] = email.utils.format_datetime(now or dt.datetime.now(dt.UTC))
    message["Message-ID"] = letter.message_id
    message["List-Unsubscribe"] = f"<{letter.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["X-Invitation-Id"] = str(letter.invitation_id)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    message.set_content(render("mail/invitation.txt", reader, values))
    message.add_alternative(render("mail/invitation.html", reader, values), subtype="html")
    return message
