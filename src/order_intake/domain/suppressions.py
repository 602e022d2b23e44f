"""Suppressions: which form of an address a suppression is kept under, and who may lift one."""

from typing import Final

from order_intake.domain.formats import library_email, plain_email
from order_intake.domain.invitations import Reason

__all__ = ["RETAILER_REASON", "lifted_by_retailer", "suppression_address"]

# As the validator: longer input is never an address, and is not worth the library's time.
_LONGEST_ADDRESS_INPUT: Final = 1024

# The reason of a suppression a retailer (or an operator for them) adds.
RETAILER_REASON: Final = Reason.SUPPRESSED_BY_RETAILER


def suppression_address(text: str) -> str | None:
    """The address as the validator stores it (so a suppression matches the orders' addresses), or None if invalid."""
    trimmed = text.strip()
    if not trimmed or len(trimmed) > _LONGEST_ADDRESS_INPUT:
        return None
    return plain_email(trimmed) or library_email(trimmed)


def lifted_by_retailer(reason: str) -> bool:
    """Whether a retailer may lift a suppression: only their own; an unsubscribe or a bounce stays."""
    return reason == RETAILER_REASON.value
