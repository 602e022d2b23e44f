"""Delivering an invitation: what an attempt's outcome means, when to try again, what the message is called.

A temporary failure (no connection, SMTP 4xx) is tried again after a delay that starts within 10
seconds and at most doubles each time, up to 15 minutes; a permanent one (SMTP 5xx for the
recipient) ends the invitation `failed` and suppresses the address (`bounced`).
"""

import datetime as dt
import enum
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Final

__all__ = [
    "FIRST_RETRY",
    "LONGEST_RETRY",
    "NO_REMINDER_REVIEWED",
    "REMINDER_OFF_REVIEWED",
    "Kind",
    "Outcome",
    "Result",
    "item_labels",
    "message_id",
    "retry_delay",
    "sent_line",
    "without_addresses",
]

FIRST_RETRY: Final = dt.timedelta(seconds=5)
LONGEST_RETRY: Final = dt.timedelta(minutes=15)
# The explanation's sentences for a reminder that a review made pointless: none planned, because the
# customer reviewed before the invitation went; or one due, but the customer reviewed meanwhile.
NO_REMINDER_REVIEWED: Final = "no reminder: the customer had already reviewed the order"
REMINDER_OFF_REVIEWED: Final = "reminder not sent: the customer reviewed the order"
# An error as recorded for operators: its first line, this long at most.
_ERROR_CHARS: Final = 300
# Anything shaped like an address, as a mail server may quote the recipient in its answer.
_ADDRESS = re.compile(r"[^\s<>\"()\[\],;:]+@[^\s<>\"()\[\],;:]+")
# Item metadata keys that may hold what the customer knows the product as, in this order.
_NAME_KEYS: Final = ("name", "product_name", "title")


class Kind(enum.StrEnum):
    """Which message of an invitation: the invitation itself, or its one reminder."""

    INVITATION = "invitation"
    REMINDER = "reminder"


class Outcome(enum.StrEnum):
    """What one attempt to hand a message to the mail system came to."""

    SENT = "sent"
    TEMPORARY = "temporary"  # try again later
    PERMANENT = "permanent"  # the mail server refused the recipient for good
    # This mail server cannot take the address at all (beyond ASCII, no SMTPUTF8): the invitation
    # fails, but the customer did nothing wrong and the address is not suppressed.
    UNDELIVERABLE = "undeliverable"


class Result:
    """An attempt's outcome and, when it failed, the reason as the mail system gave it (one line)."""

    __slots__ = ("error", "outcome")

    def __init__(self, outcome: Outcome, error: str | None = None) -> None:
        self.outcome = outcome
        self.error = None if error is None else " ".join(error.split())[:_ERROR_CHARS]


def without_addresses(text: str | None) -> str | None:
    """A mail server's answer fit for the logs, which never hold an address: each one replaced by `<address>`."""
    return None if text is None else _ADDRESS.sub("<address>", text)


def retry_delay(failures: int) -> dt.timedelta:
    """The wait after the `failures`-th temporary failure in a row (1 = the first): 5 s, 10 s, 20 s ... 15 min."""
    if failures <= 1:
        return FIRST_RETRY
    doubled: dt.timedelta = FIRST_RETRY * (2 ** min(failures - 1, 20))
    return min(doubled, LONGEST_RETRY)


def message_id(invitation_id: uuid.UUID, kind: Kind, domain: str) -> str:
    """The message's `Message-ID`: the same every time this message is sent, so a copy can be recognised."""
    return f"<{invitation_id.hex}.{kind.value}@{domain}>"


def sent_line(kind: Kind, at: dt.datetime) -> str:
    """The explanation's sentence for a message sent."""
    stamp = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"invitation e-mail sent at {stamp}" if kind is Kind.INVITATION else f"reminder e-mail sent at {stamp}"


def item_labels(items: Sequence[Mapping[str, object]]) -> list[str]:
    """What each item is called for the customer: a name from its metadata when the retailer sent one, else its sku.

    An item whose sku repeats is listed once.
    """
    labels: list[str] = []
    seen: set[str] = set()
    for item in items:
        sku = str(item.get("sku", ""))
        if sku in seen:
            continue
        seen.add(sku)
        metadata = item.get("metadata")
        names = [metadata.get(key) for key in _NAME_KEYS] if isinstance(metadata, Mapping) else []
        labels.append(next((n.strip() for n in names if isinstance(n, str) and n.strip()), sku))
    return labels
