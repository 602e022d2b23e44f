"""Which SMTP refusals end an invitation (`failed`, the address `bounced`) and which are tried again."""

import asyncio

import aiosmtplib
import pytest

from order_intake.adapters.mail.transports import SmtpMailer, _refusal
from order_intake.adapters.mail.url import parse_mail_url
from order_intake.domain.delivery import Outcome, Result
from tests.support.factories import a_letter
from tests.support.smtp_sink import SmtpSink


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


def test_an_address_the_server_cannot_take_without_smtputf8_is_undeliverable() -> None:
    """A non-ASCII address and a server without SMTPUTF8: never through this server, yet not the customer's fault."""
    assert (
        _refusal(aiosmtplib.SMTPNotSupported("SMTPUTF8 not supported"), "jörg@example.com").outcome
        is Outcome.UNDELIVERABLE
    )


def test_a_server_without_smtputf8_cannot_take_an_address_beyond_ascii_and_takes_the_next() -> None:
    """Through a real server that does not offer SMTPUTF8: undeliverable there, the connection still usable."""
    sink = SmtpSink(smtputf8=False).start()
    mailer = SmtpMailer(parse_mail_url(sink.url))

    async def send_both() -> list[Result]:
        try:
            return [
                await mailer.send(a_letter(to_address=address)) for address in ("jörg@example.com", "ann@example.com")
            ]
        finally:
            await mailer.close()

    try:
        refused, sent = asyncio.run(send_both())
    finally:
        sink.stop()
    assert (refused.outcome, sent.outcome) == (Outcome.UNDELIVERABLE, Outcome.SENT)
    assert "SMTPUTF8" in (refused.error or "")
    assert [recipients for recipients, _ in sink.received] == [["ann@example.com"]]
