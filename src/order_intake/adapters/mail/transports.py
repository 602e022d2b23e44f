"""The two mailers: an SMTP server over one reused connection (aiosmtplib), and a Maildir folder (mailbox)."""

import logging
import mailbox
from collections.abc import Callable
from typing import Final

import aiosmtplib

from order_intake.adapters.mail.compose import Composed, compose
from order_intake.adapters.mail.url import MailUrl
from order_intake.domain.delivery import Outcome, Result
from order_intake.service.delivery_records import Letter
from order_intake.service.ports import Mailer

__all__ = ["MaildirMailer", "SmtpMailer", "mailer_for"]

log = logging.getLogger(__name__)
# Seconds to connect, and to wait for each SMTP answer.
_TIMEOUT: Final = 15.0
_PERMANENT: Final = 500


class MaildirMailer:
    """Messages as files in a Maildir (made on first use): what `serve` does with no mail server configured."""

    def __init__(self, folder: str, compose_message: Callable[[Letter], Composed] = compose) -> None:
        self._folder = folder
        self._compose = compose_message
        self._box: mailbox.Maildir | None = None

    async def send(self, letter: Letter) -> Result:
        """Write the message into the folder's `new/`."""
        composed = self._compose(letter)
        try:
            if self._box is None:
                self._box = mailbox.Maildir(self._folder, create=True)
            self._box.add(composed.raw)
        except OSError as exc:
            return Result(Outcome.TEMPORARY, f"maildir {self._folder}: {exc}")
        return Result(Outcome.SENT)

    async def close(self) -> None:
        """Nothing is held open."""


def _refusal(exc: aiosmtplib.SMTPException, recipient: str) -> Result:
    """A refusal's outcome: permanent only when the server refused this recipient or this message for good.

    A 5xx to RCPT or DATA is about the customer's address or the message; anything else (the login,
    the From address, STARTTLS, a 4xx) is the server's state or the operator's configuration, so it
    is tried again rather than suppressing customers who did nothing wrong.
    """
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        return Result(Outcome.PERMANENT if codes and min(codes) >= _PERMANENT else Outcome.TEMPORARY, text)
    if isinstance(exc, aiosmtplib.SMTPDataError):
        return Result(Outcome.PERMANENT if exc.code >= _PERMANENT else Outcome.TEMPORARY, f"{exc.code} {exc.message}")
    if isinstance(exc, aiosmtplib.SMTPNotSupported) and not recipient.isascii():  # needs SMTPUTF8, not offered
        return Result(Outcome.UNDELIVERABLE, str(exc))
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return Result(Outcome.TEMPORARY, f"{exc.code} {exc.message}")
    return Result(Outcome.TEMPORARY, str(exc))


class SmtpMailer:
    """Messages handed to an SMTP server over one connection, opened on first use and again after a failure."""

    def __init__(self, url: MailUrl, compose_message: Callable[[Letter], Composed] = compose) -> None:
        self._url = url
        self._compose = compose_message
        self._client: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is None or not self._client.is_connected:
            client = aiosmtplib.SMTP(
                hostname=self._url.host,
                port=self._url.port,
                username=self._url.username,
                password=self._url.password,
                use_tls=self._url.tls,
                start_tls=self._url.starttls or None,  # None: upgrade when the server offers it
                timeout=_TIMEOUT,
            )
            await client.connect()
            self._client = client
        return self._client

    async def send(self, letter: Letter) -> Result:
        """Send one message as composed; a connection the server closed while idle is opened again once."""
        composed = self._compose(letter)
        for retry in (False, True):
            try:
                client = await self._connected()
                utf8 = not (composed.sender.isascii() and composed.recipient.isascii())  # RFC 6531
                await client.sendmail(
                    composed.sender, [composed.recipient], composed.raw, mail_options=["SMTPUTF8"] if utf8 else None
                )
            except aiosmtplib.SMTPServerDisconnected as exc:
                await self.close()
                if retry:
                    return Result(Outcome.TEMPORARY, f"disconnected: {exc}")
            except (TimeoutError, aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError, OSError) as exc:
                await self.close()
                return Result(Outcome.TEMPORARY, f"{type(exc).__name__}: {exc}")
            except aiosmtplib.SMTPException as exc:
                return _refusal(exc, composed.recipient)
            else:
                return Result(Outcome.SENT)
        return Result(Outcome.TEMPORARY, "disconnected")  # not reached: the second try returns

    async def close(self) -> None:
        """Say QUIT if the connection still stands, then drop it."""
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


def mailer_for(url: MailUrl) -> Mailer:
    """The mailer a parsed MAIL_URL names."""
    if url.maildir is not None:
        return MaildirMailer(str(url.maildir))
    return SmtpMailer(url)
