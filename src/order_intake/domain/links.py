"""The customer's links: `PUBLIC_URL/r/{token}` (review) and `PUBLIC_URL/u/{token}` (unsubscribe), signed.

A token names one invitation and what the link is for, with an HMAC-SHA256 of both under the key
every node shares; a token altered in any character does not verify.
"""

import base64
import hashlib
import hmac
import uuid
from typing import Final, Literal

Kind = Literal["r", "u"]
REVIEW: Final[Kind] = "r"
UNSUBSCRIBE: Final[Kind] = "u"
_SIGNATURE_BYTES: Final = 16


def _signature(secret: bytes, kind: Kind, invitation_id: uuid.UUID) -> str:
    digest = hmac.new(secret, kind.encode() + invitation_id.bytes, hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token(secret: bytes, kind: Kind, invitation_id: uuid.UUID) -> str:
    """The invitation's token for this kind of link (URL-safe, no padding)."""
    return f"{invitation_id.hex}.{_signature(secret, kind, invitation_id)}"


def verified(secret: bytes, kind: Kind, text: str) -> uuid.UUID | None:
    """The invitation a token names, if it is this kind's and its signature holds; None otherwise."""
    head, _, signature = text.partition(".")
    if len(head) != 32 or not signature or not head.isascii() or not signature.isascii():  # noqa: PLR2004 - hex of 16 bytes
        return None
    try:
        invitation_id = uuid.UUID(hex=head)
    except ValueError:
        return None
    if invitation_id.hex != head:  # the id as written into links, lower-case: no other spelling of it
        return None
    expected = _signature(secret, kind, invitation_id)
    return invitation_id if hmac.compare_digest(expected, signature) else None


def link(public_url: str, kind: Kind, secret: bytes, invitation_id: uuid.UUID) -> str:
    """The link written into the e-mail and shown in purchases."""
    return f"{public_url.rstrip('/')}/{kind}/{token(secret, kind, invitation_id)}"
