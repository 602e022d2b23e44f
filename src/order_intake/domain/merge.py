"""The canonical order: several submissions of one order_ref merged, newest values winning.

Every field remembers the stamp of the submission it came from, and a submission's value replaces
a field only when its stamp is newer. That makes the merge a join: the result is the same whatever
the order in which submissions are applied, and applying one twice changes nothing. So processors
may run in any order, concurrently (serialised per order), or again after a crash.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

# The fields that identify the order: equal in every submission merged into it.
IDENTITY = ("trkref", "order_ref")
CUSTOMER = "customer"
ITEMS = "order_items"


def stamp(received_at: dt.datetime, submission_id: UUID) -> str:
    """A submission's place in time: received time, then id. Text order is the same as that order."""
    utc = received_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return f"{utc}/{submission_id}"


# hot path: plain classes, not msgspec Structs (this module is compiled) nor dataclasses (whose generated
# __init__ runs interpreted): compiled, their constructors are native code; no attribute declared Final,
# which compiled code may free too early (docs/hot-path.md)
class Canonical:
    """A merged order: the document shown and published, and each field's source stamp."""

    def __init__(self, document: dict[str, Any], stamps: dict[str, str]) -> None:
        self.document = document
        self.stamps = stamps

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Canonical) and (self.document, self.stamps) == (other.document, other.stamps)

    def __hash__(self) -> int:  # equal orders have equal stamps
        return hash(frozenset(self.stamps.items()))

    def __repr__(self) -> str:
        return f"Canonical(document={self.document!r}, stamps={self.stamps!r})"


class Submitted:
    """One accepted submission, as the merge sees it: its stamp and its normalised order."""

    def __init__(self, stamp: str, order: dict[str, Any]) -> None:
        self.stamp = stamp
        self.order = order


def _take(into: dict[str, Any], stamps: dict[str, str], path: str, value: Any, when: str) -> None:  # noqa: ANN401
    if value is None or stamps.get(path, "") >= when:
        return
    stamps[path] = when
    into[path.rpartition(".")[2]] = value


def apply(current: Canonical | None, submission: Submitted) -> Canonical:
    """The canonical order once this submission is merged into it (a new value; inputs unchanged)."""
    if current is None:
        return _first(submission)
    document = dict(current.document)
    stamps = dict(current.stamps)
    customer = dict(document.get(CUSTOMER, {}))
    when = submission.stamp
    for name, value in submission.order.items():
        if name == CUSTOMER:
            for field, field_value in value.items():
                _take(customer, stamps, f"{CUSTOMER}.{field}", field_value, when)
        elif name == ITEMS:
            _take(document, stamps, ITEMS, value, when)
        elif name in IDENTITY:
            document[name] = value
        else:
            _take(document, stamps, name, value, when)
    document[CUSTOMER] = customer
    return Canonical(document=_ordered(document), stamps=dict(sorted(stamps.items())))


# hot path: most orders are new, and a new order's merge needs no comparison of stamps (docs/hot-path.md)
def _first(submission: Submitted) -> Canonical:
    """apply(None, submission): the order's values that are not null, each stamped with the submission."""
    when = submission.stamp
    order = submission.order
    document: dict[str, Any] = {k: order[k] for k in IDENTITY if k in order}
    stamps: dict[str, str] = {}
    customer: dict[str, Any] = {}
    for name in sorted(order):
        value = order[name]
        if name == CUSTOMER:
            for field in sorted(value):
                if value[field] is not None:
                    customer[field] = value[field]
                    stamps[f"{CUSTOMER}.{field}"] = when
            document[CUSTOMER] = customer
        elif name not in IDENTITY and value is not None:
            document[name] = value
            stamps[name] = when
    if CUSTOMER not in order:
        document[CUSTOMER] = customer
        document = _ordered(document)
    return Canonical(document=document, stamps=dict(sorted(stamps.items())))


def _ordered(document: Mapping[str, Any]) -> dict[str, Any]:
    """Identity first, then the other fields by name, customer fields by name: one shape for equal orders."""
    rest = sorted(k for k in document if k not in IDENTITY)
    out = {k: document[k] for k in IDENTITY if k in document}
    for k in rest:
        out[k] = dict(sorted(document[k].items())) if k == CUSTOMER else document[k]
    return out


# hot path: stamps stored packed, a quarter of their size per field (docs/hot-path.md)
def pack_stamps(stamps: Mapping[str, str]) -> dict[str, list[str]]:
    """Stamps as stored: each stamp once, with the fields it set (a new order's fields share one).

    A canonical order's stamps are mostly one or two submissions' stamps repeated: stored per field,
    they would be ~1.1 KB beside a ~1 KB document, every byte of it written, compressed and read.
    """
    packed: dict[str, list[str]] = {}
    for path, when in sorted(stamps.items()):
        packed.setdefault(when, []).append(path)
    return dict(sorted(packed.items()))


def unpack_stamps(stored: Mapping[str, str | list[str]]) -> dict[str, str]:
    """Field -> stamp from either stored shape: packed ({stamp: [fields]}) or per field ({field: stamp})."""
    stamps: dict[str, str] = {}
    for key, value in stored.items():
        if isinstance(value, str):
            stamps[key] = value
        else:
            stamps.update(dict.fromkeys(value, key))
    return stamps


def fold(current: Canonical | None, submissions: Iterable[Submitted]) -> Canonical | None:
    """Every submission merged into `current` (None stays None only when there is nothing to merge)."""
    for submission in submissions:
        current = apply(current, submission)
    return current
