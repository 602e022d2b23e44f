"""The merge of submissions into a canonical order: newest value per field, whatever the order applied."""

import datetime as dt
import json
import uuid
from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from order_intake.domain import merge
from order_intake.domain.order import Accepted
from order_intake.domain.validation import validate_order
from order_intake.service import submit
from order_intake.service.processing import plan
from order_intake.service.processing_records import Claimed, StoredCanonical
from tests.strategies import TRKREF, valid_orders

_T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_OPTIONAL = ("order_date", "fulfilment_date", "language", "locale")
_CUSTOMER = ("customer_ref", "title", "first_name", "surname", "postcode", "country")

_values = st.sampled_from(["a", "b", "c", "d"])
_customers = st.fixed_dictionaries(
    {"email": st.sampled_from(["x@example.com", "y@example.com"])},
    optional=dict.fromkeys(_CUSTOMER, _values),
)
_orders = st.fixed_dictionaries(
    {
        "trkref": st.just("T1"),
        "order_ref": st.just("R1"),
        "customer": _customers,
        "order_items": st.lists(st.fixed_dictionaries({"sku": _values}), min_size=1, max_size=3),
    },
    optional=dict.fromkeys(_OPTIONAL, _values),
)
# Several submissions may share a received time (one batch): then the id decides.
_submissions = st.lists(
    st.tuples(st.integers(0, 5), st.uuids(), _orders).map(
        lambda t: merge.Submitted(stamp=merge.stamp(_T0 + dt.timedelta(seconds=t[0]), t[1]), order=t[2])
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda s: s.stamp,
)


def expected(submissions: list[merge.Submitted]) -> dict[str, Any]:
    """The merge as the issue words it, computed the plain way: newest submission having each field."""
    newest_first = sorted(submissions, key=lambda s: s.stamp, reverse=True)
    out: dict[str, Any] = {"trkref": "T1", "order_ref": "R1", "order_items": newest_first[0].order["order_items"]}
    for name in _OPTIONAL:
        having = [s.order[name] for s in newest_first if name in s.order]
        if having:
            out[name] = having[0]
    customer = {}
    for name in ("email", *_CUSTOMER):
        having = [s.order["customer"][name] for s in newest_first if name in s.order["customer"]]
        if having:
            customer[name] = having[0]
    out["customer"] = customer
    return out


@given(_submissions)
def test_the_merge_takes_each_field_from_the_newest_submission_having_it(submissions: list[merge.Submitted]) -> None:
    """Against the plain reading of the rule, computed independently."""
    merged = merge.fold(None, submissions)
    assert merged is not None
    assert merged.document == expected(submissions)


@given(_submissions, st.randoms())
def test_the_order_of_application_does_not_matter(submissions: list[merge.Submitted], rnd: Any) -> None:
    """Any permutation of the submissions merges to the same canonical order."""
    shuffled = list(submissions)
    rnd.shuffle(shuffled)
    assert merge.fold(None, shuffled) == merge.fold(None, submissions)


@given(_submissions, st.integers(0, 8))
def test_applying_again_or_in_two_runs_changes_nothing(submissions: list[merge.Submitted], cut: int) -> None:
    """Re-applying (as after a crash and retry) is harmless."""
    """Any permutation of the submissions merges to the same canonical order."""
    once = merge.fold(None, submissions)
    # Two runs over overlapping parts (as after a crash and a retry) end where one run ends.
    first = merge.fold(None, submissions[:cut])
    assert merge.fold(first, submissions[max(cut - 1, 0) :]) == once
    assert merge.fold(once, submissions) == once


def test_a_newer_submission_without_a_field_keeps_the_older_value() -> None:
    """Absent fields keep older values; at equal times the greater id is newer."""
    old = merge.Submitted(
        stamp=merge.stamp(_T0, uuid.UUID(int=1)),
        order={
            "trkref": "T1",
            "order_ref": "R1",
            "language": "en",
            "customer": {"email": "a@example.com", "first_name": "Ann"},
            "order_items": [{"sku": "OLD"}],
        },
    )
    new = merge.Submitted(
        stamp=merge.stamp(_T0, uuid.UUID(int=2)),  # same time: the greater id is newer
        order={
            "trkref": "T1",
            "order_ref": "R1",
            "customer": {"email": "b@example.com"},
            "order_items": [{"sku": "NEW"}],
        },
    )
    merged = merge.fold(None, [new, old])
    assert merged is not None
    assert merged.document == {
        "trkref": "T1",
        "order_ref": "R1",
        "customer": {"email": "b@example.com", "first_name": "Ann"},
        "language": "en",
        "order_items": [{"sku": "NEW"}],
    }
    assert merged.stamps["customer.first_name"] == old.stamp
    assert merged.stamps["order_items"] == new.stamp


def test_stamps_order_by_time_then_id_across_time_zones() -> None:
    """Stamps compare in UTC."""
    later_in_utc = dt.datetime(2026, 1, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=5)))  # 05:00 UTC
    earlier = dt.datetime(2026, 1, 1, 6, 0, tzinfo=dt.UTC)
    assert merge.stamp(later_in_utc, uuid.UUID(int=9)) < merge.stamp(earlier, uuid.UUID(int=1))
    assert merge.stamp(earlier, uuid.UUID(int=1)) < merge.stamp(earlier, uuid.UUID(int=2))


@given(st.dictionaries(st.text(), st.text()))
def test_packed_stamps_unpack_to_the_same_fields(stamps: dict[str, str]) -> None:
    """Stored packed, each stamp once: read back, every field has its own stamp again."""
    packed = merge.pack_stamps(stamps)
    assert sorted(packed) == sorted(set(stamps.values()))
    assert merge.unpack_stamps(packed) == stamps


def test_stamps_stored_per_field_by_earlier_versions_still_read() -> None:
    """Canonical orders written before stamps were packed hold {field: stamp}."""
    per_field = {"customer.email": "2026-01-01/b", "order_items": "2026-01-01/a"}
    assert merge.unpack_stamps(per_field) == per_field


def test_an_order_stored_with_per_field_stamps_merges_as_before() -> None:
    """The processor reads the older shape: an older submission changes nothing, a newer one wins."""
    received = _T0 + dt.timedelta(hours=1)
    stored_stamp = merge.stamp(received, uuid.UUID(int=5))
    stored = StoredCanonical(
        id=uuid.uuid4(),
        organisation_id=1,
        order_ref="R1",
        version=1,
        document=json.dumps(
            {"trkref": "T1", "order_ref": "R1", "customer": {"email": "a@example.com"}, "order_items": [{"sku": "A"}]}
        ).encode(),
        stamps=json.dumps({"customer.email": stored_stamp, "order_items": stored_stamp}).encode(),
        created_at=received,
        updated_at=received,
    )

    def claimed(at: dt.datetime, email: str) -> Claimed:
        order = {"trkref": "T1", "order_ref": "R1", "customer": {"email": email}, "order_items": [{"sku": "A"}]}
        return Claimed(uuid.uuid4(), 1, "T1", "R1", at, json.dumps(order).encode())

    older = plan([claimed(_T0, "old@example.com")], {(1, "R1"): stored}, now=received)
    assert older.canonicals == ()
    later = claimed(received + dt.timedelta(seconds=1), "new@example.com")
    (written,) = plan([later], {(1, "R1"): stored}, now=received).canonicals
    assert json.loads(written.document)["customer"] == {"email": "new@example.com"}
    newest = merge.stamp(later.received_at, later.id)
    assert json.loads(written.stamps) == {newest: ["customer.email", "order_items"]}


_maybe_null = st.one_of(st.none(), _values)
# Orders as a merge may be given them: any field null or missing, the customer too.
_loose_orders = st.fixed_dictionaries(
    {"trkref": st.just("T1"), "order_ref": st.one_of(st.none(), st.just("R1"))},
    optional={
        "customer": st.fixed_dictionaries({}, optional=dict.fromkeys(("email", *_CUSTOMER), _maybe_null)),
        "order_items": st.one_of(st.none(), st.lists(st.fixed_dictionaries({"sku": _values}), max_size=2)),
        **dict.fromkeys(_OPTIONAL, _maybe_null),
    },
)


_AS_PROCESSED = msgspec.json.Decoder(dict[str, Any], float_hook=msgspec.Raw).decode  # as processing reads it


def _as_merged_in_general(submission: merge.Submitted) -> merge.Canonical:
    """The submission merged into an order that has no field yet: the general path, stamps compared."""
    return merge.apply(merge.Canonical(document={}, stamps={}), submission)


def _shape(canonical: merge.Canonical) -> tuple[bytes, list[tuple[str, str]]]:
    """What is written of an order: its document's bytes (key order included) and its stamps in order."""
    return msgspec.json.encode(canonical.document), list(canonical.stamps.items())


@given(_loose_orders, st.uuids())
def test_a_new_orders_merge_is_the_general_merge_into_an_empty_order(order: dict[str, Any], sid: uuid.UUID) -> None:
    """The shortcut for a first submission gives the same document and stamps, in the same key order."""
    submission = merge.Submitted(stamp=merge.stamp(_T0, sid), order=order)
    assert _shape(merge.apply(None, submission)) == _shape(_as_merged_in_general(submission))


@given(valid_orders())
def test_a_new_valid_orders_merge_is_the_general_merge_into_an_empty_order(body: dict[str, Any]) -> None:
    """The same for every order validation accepts, as processing decodes it."""
    outcome = validate_order(body, trkref=TRKREF)
    assert isinstance(outcome, Accepted)
    order = _AS_PROCESSED(submit.encoder.encode(outcome.order))
    submission = merge.Submitted(stamp=merge.stamp(_T0, uuid.uuid4()), order=order)
    assert _shape(merge.apply(None, submission)) == _shape(_as_merged_in_general(submission))


_AS_WRITTEN = msgspec.json.Decoder(float_hook=str).decode  # every fractional number as its text


@given(valid_orders())
def test_a_new_orders_document_and_event_write_every_number_as_the_submission_did(body: dict[str, Any]) -> None:
    """Prices and metadata numbers reach the canonical order and its event digit for digit ("129.50" stays so)."""
    outcome = validate_order(body, trkref=TRKREF)
    assert isinstance(outcome, Accepted)
    normalised = submit.encoder.encode(outcome.order)
    claimed = Claimed(uuid.uuid4(), 1, TRKREF, outcome.order.order_ref, _T0, normalised)
    result = plan([claimed], {}, now=_T0)
    ((written,), (event,)) = (result.canonicals, result.events)
    assert _AS_WRITTEN(written.document) == _AS_WRITTEN(normalised)
    assert _AS_WRITTEN(event.payload)["customer_order"] == _AS_WRITTEN(normalised)
