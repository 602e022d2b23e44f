"""Erasing one customer: which stored emails are theirs, and stored answers with nothing left of them."""

from typing import Any, Final

from order_intake.domain.formats import library_email, plain_email

__all__ = ["email_key", "email_like_pattern", "same_email", "scrub_answer"]


# As the validator: longer input is never an address, and is not worth the library's time.
_LONGEST_ADDRESS_INPUT: Final = 1024


def email_key(email: str) -> str:
    """The form two addresses are compared in: normalised as the validator stores it, then lower-cased.

    An address the validator would refuse is only trimmed: no submission holds it, but an operator's
    request is still carried out against whatever matches it.
    """
    trimmed = email.strip()
    if len(trimmed) > _LONGEST_ADDRESS_INPUT:
        return trimmed.lower()
    normalised = plain_email(trimmed) or library_email(trimmed) or trimmed
    return normalised.lower()


def same_email(stored: object, key: str) -> bool:
    """Whether a stored email (as read from a JSON document) is the customer's whose key this is."""
    return isinstance(stored, str) and stored.strip().lower() == key


# ASCII letters that Python also gets by lower-casing a character beyond ASCII (U+0130 İ, U+212A
# Kelvin sign); SQLite's lower() leaves those characters as they are. A unit test checks the set.
_ASCII_FROM_BEYOND: Final = frozenset("ik")


def email_like_pattern(key: str) -> str:
    """A LIKE pattern (with backslash as its escape) that every lower-cased address equal to `key` matches.

    ASCII letters are lower-cased alike by SQLite, PostgreSQL and Python; other characters may
    not be, so each run of them becomes `%` (and `i`, `k` match any one character). The pattern
    finds a superset; `same_email` decides.
    """
    parts = ["%"]
    for char in key:
        if not char.isascii():
            if parts[-1] != "%":
                parts.append("%")
        elif char in _ASCII_FROM_BEYOND:
            parts.append("_")
        elif char in "\\%_":
            parts.append("\\" + char)
        else:
            parts.append(char)
    if parts[-1] != "%":
        parts.append("%")
    return "".join(parts)


def _without_email(order_ref: object, key: str) -> object:
    return None if isinstance(order_ref, str) and key in order_ref.lower() else order_ref


def scrub_answer(answer: dict[str, Any], erased: frozenset[str], key: str) -> dict[str, Any]:
    """A stored 202/206/422 answer with the warnings of erased submissions removed.

    Warnings name unknown fields, whose names the sender chose; an `order_ref` holding the
    customer's email is replaced by null. Ids stay: they are random and now answer 404.
    """
    ids = answer.get("ids")
    if not isinstance(ids, list):  # a single submission's answer
        if answer.get("id") in erased:
            return {k: v for k, v in answer.items() if k != "warnings"}
        return answer
    gone = {index for index, submission_id in enumerate(ids) if submission_id in erased}
    scrubbed = dict(answer)
    warnings = [
        {**w, "order_ref": _without_email(w.get("order_ref"), key)}
        for w in answer.get("warnings", [])
        if w.get("index") not in gone
    ]
    if warnings:
        scrubbed["warnings"] = warnings
    else:
        scrubbed.pop("warnings", None)
    if isinstance(answer.get("errors"), list):
        scrubbed["errors"] = [
            {**e, "order_ref": _without_email(e.get("order_ref"), key)} if isinstance(e, dict) else e
            for e in answer["errors"]
        ]
    return scrubbed
