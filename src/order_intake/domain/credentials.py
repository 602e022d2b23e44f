"""API key secrets and HTTP Basic credentials: generation, keyed hashing, parsing."""

import base64
import binascii
import hashlib
import hmac
import secrets
from typing import Final

SECRET_BYTES: Final = 32
SALT_BYTES: Final = 16
# Compared against when the key does not exist, so that timing does not tell whether it does.
DUMMY_SALT: Final = bytes(SALT_BYTES)
DUMMY_HASH: Final = bytes(32)


def new_username() -> str:
    """A fresh key id (the Basic username): not secret, unique, easy to read out."""
    return "key_" + secrets.token_hex(8)


def new_secret() -> str:
    """A fresh secret: 32 random bytes, URL-safe text (no ':' so that Basic auth splits cleanly)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def new_salt() -> bytes:
    """A per-key salt, the key of the keyed hash."""
    return secrets.token_bytes(SALT_BYTES)


def hash_secret(secret: str, salt: bytes) -> bytes:
    """Keyed BLAKE2b of the secret: fast, and right for a secret that is already random."""
    return hashlib.blake2b(secret.encode(), key=salt, digest_size=32).digest()


def secret_matches(secret: str, salt: bytes, expected: bytes) -> bool:
    """Compare in constant time."""
    return hmac.compare_digest(hash_secret(secret, salt), expected)


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """(username, password) from an Authorization header, or None when missing or malformed.

    The password is everything after the first ':' of the decoded credentials.
    """
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    username, colon, password = decoded.partition(":")
    if not colon or not username:
        return None
    return username, password
