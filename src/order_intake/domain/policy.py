"""An organisation's invitation policy: when after an order its customers are asked for a review."""

import contextlib
import datetime as dt
import email.utils
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from order_intake.domain.zones import is_zone


class Basis(enum.StrEnum):
    """Which date an invitation counts from."""

    FULFILMENT = "fulfilment"  # fulfilment_date, else order_date
    ORDER = "order"  # order_date, else fulfilment_date


_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$")
MINUTES_A_DAY: Final = 24 * 60


@dataclass(frozen=True, slots=True)
class Window:
    """The local hours invitations go out in: from `opens` to `closes`, minutes after midnight (1440 = 24:00)."""

    opens: int
    closes: int

    @property
    def any_time(self) -> bool:
        """00:00-24:00."""
        return self.opens == 0 and self.closes == MINUTES_A_DAY

    def __str__(self) -> str:
        return f"{_hhmm(self.opens)}-{_hhmm(self.closes)}"

    def contains(self, local: dt.time) -> bool:
        """Whether a local time of day is inside the window."""
        minute = local.hour * 60 + local.minute
        return self.opens <= minute < self.closes


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_window(text: str) -> Window | None:
    """`HH:MM-HH:MM`, opening before closing (24:00 only as a closing); None otherwise."""
    found = _WINDOW.match(text.strip())
    if found is None:
        return None
    opens = int(found[1]) * 60 + int(found[2])
    closes = int(found[3]) * 60 + int(found[4])
    return Window(opens, closes) if opens < closes <= MINUTES_A_DAY else None


DEFAULT_FROM: Final = "reviews@localhost"


@dataclass(frozen=True, slots=True)
class Policy:
    """The settings of the contract's policy table, with its defaults."""

    basis: Basis = Basis.FULFILMENT
    delay_days: int = 14
    max_age_days: int = 180
    cooldown_days: int = 30
    window: Window = Window(9 * 60, 20 * 60)
    timezone: str = "Europe/London"
    reminder_days: int = 0
    sender: str = DEFAULT_FROM  # the contract's `from`

    def as_json(self) -> dict[str, object]:
        """The policy with exactly the contract's setting names as keys."""
        return {
            "basis": self.basis.value,
            "delay_days": self.delay_days,
            "max_age_days": self.max_age_days,
            "cooldown_days": self.cooldown_days,
            "window": str(self.window),
            "timezone": self.timezone,
            "reminder_days": self.reminder_days,
            "from": self.sender,
        }


# The most days any day count may be: far beyond any sensible policy, well inside a date's range.
MAX_DAYS: Final = 3650


def policy_from_json(stored: dict[str, object], default_from: str) -> Policy:
    """A stored policy (as_json's form, possibly partial or from an older version) over the defaults.

    Each setting is read on its own: one that this version cannot read keeps its default and the
    others stay. A `from` is read by the rule it was stored under (earlier versions took any one line
    with an `@`).
    """
    policy = Policy(sender=default_from)
    for name, value in stored.items():
        if not isinstance(value, str | int):
            continue
        changed, errors = changed_policy(policy, {name: value})
        if errors and name == "from":
            with contextlib.suppress(_BadSettingError):
                changed, errors = replace(policy, sender=_stored_sender(str(value).strip())), []  # type: ignore[arg-type]
        if not errors:
            policy = changed
    return policy


class _BadSettingError(ValueError):
    """A setting's value that cannot be used; the message says what it must be."""


def _basis(text: str) -> object:
    if text not in {b.value for b in Basis}:
        raise _BadSettingError("basis must be fulfilment or order")
    return Basis(text)


def _days(name: str) -> Callable[[str], object]:
    def parse(text: str) -> object:
        if not (text.isascii() and text.isdigit() and int(text) <= MAX_DAYS):
            raise _BadSettingError(f"{name.replace('_', '-')} must be a whole number of days from 0 to {MAX_DAYS}")
        return int(text)

    return parse


def _window(text: str) -> object:
    window = parse_window(text)
    if window is None:
        raise _BadSettingError("window must be HH:MM-HH:MM, opening before closing (00:00-24:00: any time)")
    return window


def _timezone(text: str) -> object:
    if not (text and is_zone(text)):
        raise _BadSettingError(f"unknown time zone: {text}")
    return text


_ADDRESS = re.compile(r"[^\s@<>,;\"]+@[^\s@<>,;\"]+")


def _sender(text: str) -> object:
    """One address, alone or with a display name (`Name <addr>`, `"Name, Inc." <addr>`, `addr (Name)`).

    All of the text must be that one address and its name: two addresses, words after the address or
    a name that is itself an address are refused. The local part is ASCII: the envelope's sender goes
    to every mail server, and one without SMTPUTF8 would refuse every invitation of the organisation.
    """
    pairs = email.utils.getaddresses([text]) if "\n" not in text and "\r" not in text else []
    name, address = pairs[0] if len(pairs) == 1 else ("", "")
    written = {address, f"<{address}>"}
    if name:
        written = {f"{name} <{address}>", f"{name}<{address}>", f'"{name}" <{address}>', f"{address} ({name})"}
    if (
        " ".join(text.split()) not in written
        or _ADDRESS.fullmatch(address) is None
        or not address.rpartition("@")[0].isascii()
        or "@" in name
    ):
        raise _BadSettingError("from must be one e-mail address, optionally with a display name: Name <addr>")
    return text.strip()


def _stored_sender(text: str) -> object:
    """A `from` stored by an earlier version, whose rule was one line with an `@`: kept as it was."""
    if not text or "@" not in text or "\n" in text or "\r" in text:
        raise _BadSettingError("from must be an e-mail address")
    return text


# Each setting's name (as in as_json), the Policy field it sets and how its text is read.
_SETTINGS: Final[dict[str, tuple[str, Callable[[str], object]]]] = {
    "basis": ("basis", _basis),
    "delay_days": ("delay_days", _days("delay_days")),
    "max_age_days": ("max_age_days", _days("max_age_days")),
    "cooldown_days": ("cooldown_days", _days("cooldown_days")),
    "window": ("window", _window),
    "timezone": ("timezone", _timezone),
    "reminder_days": ("reminder_days", _days("reminder_days")),
    "from": ("sender", _sender),
}


def changed_policy(policy: Policy, changes: dict[str, str | int]) -> tuple[Policy, list[str]]:
    """The policy with these settings changed (names as in as_json), or it unchanged and every error."""
    errors: list[str] = []
    fields: dict[str, object] = {}
    for name, value in changes.items():
        setting = _SETTINGS.get(name)
        if setting is None:
            errors.append(f"unknown setting: {name}")
            continue
        try:
            fields[setting[0]] = setting[1](str(value).strip())
        except _BadSettingError as bad:
            errors.append(str(bad))
    if errors:
        return policy, errors
    return replace(policy, **fields), []  # type: ignore[arg-type] # each parser returns its field's type
