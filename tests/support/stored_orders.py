"""What a PostgreSQL database holds after a run, checked against the merge rule applied to its submissions.

The expected canonical orders are computed here with the pure domain functions (merge.fold), from
the stored submissions alone: whichever processes processed them, in whatever order and however
often, the canonical orders, their versions, events and invitations must agree with that.
"""

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from order_intake.domain import merge
from tests.support.inspect_db import fetch_rows

# As processing decodes them: prices stay exact decimals.
_decode = msgspec.json.Decoder(dict[str, Any], float_hook=Decimal).decode

OrderKey = tuple[int, str]


@dataclass(frozen=True)
class Submission:
    """One stored submission, as the checks need it."""

    id: str
    key: OrderKey
    request_id: str | None
    state: str
    canonical_id: str | None
    submitted: merge.Submitted


@dataclass(frozen=True)
class Stored:
    """The rows of a run: submissions, canonical orders, events (by canonical id) and invitations."""

    submissions: list[Submission]
    canonicals: dict[OrderKey, tuple[str, int, merge.Canonical]]  # id, version, document and stamps
    events: dict[str, list[tuple[str, int, dict[str, Any]]]]  # event id, version, payload
    invitations: list[tuple[OrderKey, str]]  # the order and its canonical id

    @property
    def event_ids(self) -> set[str]:
        """Every event id in the outbox."""
        return {event_id for events in self.events.values() for event_id, _, _ in events}


def read_stored(database_url: str) -> Stored:
    """Read the whole run's rows (the database is the run's own)."""
    submissions = [
        Submission(
            id=str(sid),
            key=(org, ref),
            request_id=request_id,
            state=state,
            canonical_id=None if canonical is None else str(canonical),
            submitted=merge.Submitted(stamp=merge.stamp(received, sid), order=_decode(normalised)),
        )
        for sid, org, ref, received, normalised, request_id, state, canonical in fetch_rows(
            database_url,
            "SELECT s.id, s.organisation_id, s.order_ref, s.received_at, s.normalised::text, s.request_id,"
            " CASE WHEN o.submission_id IS NULL THEN 'accepted' ELSE 'processed' END, o.canonical_id"
            " FROM submissions s LEFT JOIN submission_outcomes o ON o.submission_id = s.id",
        )
    ]
    canonicals = {
        (org, ref): (str(cid), version, merge.Canonical(_decode(document), merge.unpack_stamps(json.loads(stamps))))
        for cid, org, ref, version, document, stamps in fetch_rows(
            database_url,
            "SELECT id, organisation_id, order_ref, version, document::text, stamps::text FROM canonical_orders",
        )
    }
    events: dict[str, list[tuple[str, int, dict[str, Any]]]] = defaultdict(list)
    for event_id, cid, version, payload in fetch_rows(
        database_url, "SELECT event_id, canonical_id, version, payload FROM outbox ORDER BY version"
    ):
        events[str(cid)].append((str(event_id), version, _decode(payload)))
    invitations = [
        ((org, ref), str(cid))
        for org, ref, cid in fetch_rows(
            database_url, "SELECT organisation_id, order_ref, canonical_id FROM invitations"
        )
    ]
    return Stored(submissions, canonicals, dict(events), invitations)


def merge_problems(stored: Stored) -> list[str]:
    """Where the canonical orders, their events and invitations differ from the merge of the submissions."""
    by_order: dict[OrderKey, list[Submission]] = defaultdict(list)
    for submission in stored.submissions:
        by_order[submission.key].append(submission)
    problems = [f"{key}: a canonical order without submissions" for key in stored.canonicals.keys() - by_order]
    for key, submissions in by_order.items():
        if key not in stored.canonicals:
            problems.append(f"{key}: {len(submissions)} submissions and no canonical order")
            continue
        cid, version, canonical = stored.canonicals[key]
        problems.extend(
            _order_problems(
                key,
                submissions=submissions,
                cid=cid,
                version=version,
                canonical=canonical,
                events=stored.events.get(cid, []),
            )
        )
    invited = Counter(key for key, _ in stored.invitations)
    problems.extend(f"{key}: {n} invitations" for key, n in invited.items() if n != 1)
    problems.extend(f"{key}: no invitation" for key in stored.canonicals.keys() - invited.keys())
    canonical_ids = {cid for cid, _, _ in stored.canonicals.values()}
    problems.extend(
        f"{key}: invitation of another canonical" for key, c in stored.invitations if c not in canonical_ids
    )
    return problems


def _order_problems(  # noqa: PLR0913 - one order's rows, each checked against the others
    key: OrderKey,
    *,
    submissions: list[Submission],
    cid: str,
    version: int,
    canonical: merge.Canonical,
    events: list[tuple[str, int, dict[str, Any]]],
) -> list[str]:
    # The merge is a join: any order of the submissions gives the same result.
    expected = merge.fold(None, (s.submitted for s in submissions))
    assert expected is not None
    problems = []
    if canonical.document != expected.document:
        problems.append(f"{key}: document {canonical.document} is not the merge {expected.document}")
    if canonical.stamps != expected.stamps:
        problems.append(f"{key}: fields' stamps {canonical.stamps} are not the merge's {expected.stamps}")
    unprocessed = [s.id for s in submissions if s.state != "processed" or s.canonical_id != cid]
    if unprocessed:
        problems.append(f"{key}: submissions {unprocessed} not processed into canonical {cid}")
    if not 1 <= version <= len(submissions):
        problems.append(f"{key}: version {version} from {len(submissions)} submissions")
    if [v for _, v, _ in events] != list(range(1, version + 1)):
        problems.append(f"{key}: events of versions {[v for _, v, _ in events]} for version {version}")
    elif events[-1][2]["customer_order"] != canonical.document:
        problems.append(f"{key}: the last event's order is not the canonical order")
    return problems


def duplicated_request_ids(stored: Stored) -> dict[str, int]:
    """Request ids stored more than once (each request of a run carries its own)."""
    counts = Counter(s.request_id for s in stored.submissions)
    return {rid: n for rid, n in counts.items() if rid is not None and n > 1}
