"""Which organisation a request may act for, checked in the contract's order (401, 400, 403)."""

import enum
from collections.abc import Sequence
from typing import Protocol, TypeVar


class Denied(enum.IntEnum):
    """Why access is refused, as the HTTP status the contract gives it."""

    UNAUTHORIZED = 401
    INVALID_TRKREF = 400
    ACCESS_DENIED = 403


class OrganisationView(Protocol):
    """What access needs to know of an organisation."""

    @property
    def trkref(self) -> str: ...  # noqa: D102 - the protocol's fields

    @property
    def customer_order_enabled(self) -> bool: ...  # noqa: D102


OrgT = TypeVar("OrgT", bound=OrganisationView)
O_co = TypeVar("O_co", bound=OrganisationView, covariant=True)


class KeyView(Protocol[O_co]):
    """What access needs to know of an authenticated key."""

    @property
    def customer_order(self) -> bool: ...  # noqa: D102

    @property
    def organisations(self) -> Sequence[O_co]: ...  # noqa: D102


def organisation_for(key: KeyView[OrgT], trkref: str) -> OrgT | Denied:
    """The key's organisation with this trkref, if the key may submit customer orders for it.

    An unknown trkref and one of an organisation the key is not linked to answer alike (400),
    so that no caller can discover other tenants.
    """
    for org in key.organisations:
        if org.trkref == trkref:
            if not (org.customer_order_enabled and key.customer_order):
                return Denied.ACCESS_DENIED
            return org
    return Denied.INVALID_TRKREF


_TRKREF_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
MAX_TRKREF = 64
# The same rule as a regular expression, for the JSON Schemas.
TRKREF_PATTERN = f"[A-Z0-9-]{{1,{MAX_TRKREF}}}"


def is_valid_trkref(trkref: str) -> bool:
    """Upper-case letters, digits and '-', 1 to 64 characters: the only trkrefs `org add` accepts."""
    return 0 < len(trkref) <= MAX_TRKREF and all(c in _TRKREF_CHARS for c in trkref)
