"""MAIL_URL and SANDBOX_MAIL_URL: `maildir:PATH`, `smtp://[user:pass@]host:port[?starttls=1]`, `smtps://...`."""

import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["DEFAULT_MAIL_URL", "DEFAULT_SANDBOX_MAIL_URL", "MailUrl", "parse_mail_url"]

DEFAULT_MAIL_URL: Final = "maildir:./order-intake-mail"
DEFAULT_SANDBOX_MAIL_URL: Final = "maildir:./order-intake-sandbox-mail"
_SMTP_PORT: Final = 25
_SMTPS_PORT: Final = 465


@dataclass(frozen=True, slots=True)
class MailUrl:
    """A parsed mail URL: a Maildir folder, or an SMTP server and how to reach it."""

    maildir: Path | None = None
    host: str = ""
    port: int = _SMTP_PORT
    tls: bool = False  # smtps: TLS from the first byte
    starttls: bool = False  # smtp with ?starttls=1: upgrade after connecting
    username: str | None = None
    password: str | None = None

    def __str__(self) -> str:
        """The URL without its password, for logs."""
        if self.maildir is not None:
            return f"maildir:{self.maildir}"
        scheme = "smtps" if self.tls else "smtp"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}" + ("?starttls=1" if self.starttls else "")


def parse_mail_url(text: str) -> MailUrl:
    """The URL's parts; ValueError with a one-line reason when it is not one of the three forms."""
    if text.startswith("maildir:"):
        path = text.removeprefix("maildir:").removeprefix("//")
        if not path:
            raise ValueError("a maildir: URL needs a folder, as in maildir:./order-intake-mail")
        return MailUrl(maildir=Path(path))
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ValueError("expected maildir:PATH, smtp://host:port or smtps://host:port")
    query = urllib.parse.parse_qs(parts.query)
    starttls = query.get("starttls", ["0"])[-1].lower() in {"1", "true", "yes"}
    try:
        port = parts.port or (_SMTPS_PORT if parts.scheme == "smtps" else _SMTP_PORT)
    except ValueError:
        raise ValueError("the port must be a number from 1 to 65535") from None
    return MailUrl(
        host=parts.hostname,
        port=port,
        tls=parts.scheme == "smtps",
        starttls=starttls and parts.scheme == "smtp",
        username=urllib.parse.unquote(parts.username) if parts.username else None,
        password=urllib.parse.unquote(parts.password) if parts.password else None,
    )
