"""The ids made on the hot path are the UUIDs uuid.uuid4() would make of the same random bytes."""

import pickle
import uuid

from hypothesis import given
from hypothesis import strategies as st

from order_intake.domain import ids


@given(st.binary(min_size=16, max_size=16))
def test_an_id_is_the_version_4_uuid_of_its_random_bytes(random: bytes) -> None:
    """Equal, hashed, printed, parsed and pickled as the standard library's own."""
    made = ids.from_random(random)
    expected = uuid.UUID(bytes=random, version=4)
    assert made == expected
    assert made.int == expected.int
    assert hash(made) == hash(expected)
    assert str(made) == str(expected)
    assert uuid.UUID(str(made)) == made
    assert (made.version, made.variant) == (4, uuid.RFC_4122)
    assert made.is_safe is uuid.SafeUUID.unknown
    assert pickle.loads(pickle.dumps(made)) == made  # noqa: S301 - our own bytes


def test_new_ids_are_version_4_and_distinct() -> None:
    """Each new id is drawn afresh, with the version and variant bits set."""
    made = [ids.uuid4() for _ in range(1000)]
    assert len(set(made)) == len(made)
    assert {(u.version, u.variant) for u in made} == {(4, uuid.RFC_4122)}
