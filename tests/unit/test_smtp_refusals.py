"""Which SMTP refusals end an invitation (`failed`, the address `bounced`) and which are tried again."""

import aiosmtplib
import pytest

from order_intake.adapters.mail.transports import _refusal
from order_intake.domain.delivery import Outcome


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "no such user", "a@x")]), "permanent"),
        (aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(451, "greylisted", "a@x")]), "temporary"),
        (aiosmtplib.SMTPDataError(554, "message refused"), "permanent"),
        (aiosmtplib.SMTPDataError(452, "no room"), "temporary"),
        (aiosmtplib.SMTPAuthenticationError(535, "bad credentials"), "temporary"),
        (aiosmtplib.SMTPSenderRefused(550, "not your domain", "reviews@x"), "temporary"),
        (aiosmtplib.SMTPHeloError(501, "bad helo"), "temporary"),
        (aiosmtplib.SMTPNotSupported("STARTTLS not offered"), "temporary"),
        (aiosmtplib.SMTPException("anything else"), "temporary"),
    ],
)
def test_only_the_recipient_or_the_message_refused_for_good_is_permanent(
    error: aiosmtplib.SMTPException, outcome: str
) -> None:
    """A 5xx to RCPT or DATA is the customer's; the login, the sender, STARTTLS are the operator's to fix."""
    result = _refusal(error, "ann@example.com")
    assert result.outcome is Outcome(outcome)
    assert result.error


def test_an_address_the_server_cannot_take_without_smtputf8_is_permanent() -> None:
    """A non-ASCII address and a server without SMTPUTF8: it will never go through this server."""
    assert (
        _refusal(aiosmtplib.SMTPNotSupported("SMTPUTF8 not supported"), "jörg@example.com").outcome is Outcome.PERMANENT
    )
