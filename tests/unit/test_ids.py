"""The ids made on the hot path: the UUIDs uuid.uuid4() would make of the same random bytes, never handed out twice."""

import os
import pickle
import uuid
from concurrent.futures import ThreadPoolExecutor

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


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    """The bytes drawn ahead of need stay with the parent: a child draws its own."""
    ids.uuid4()  # the parent now holds bytes for its next ids
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe and exits
        os.close(read)
        os.write(write, b"".join(ids.uuid4().bytes for _ in range(100)))
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        received = pipe.read()
    os.waitpid(child, 0)
    in_child = {uuid.UUID(bytes=received[i : i + 16]) for i in range(0, len(received), 16)}
    in_parent = {ids.uuid4() for _ in range(100)}
    assert len(in_child) == 100
    assert not in_child & in_parent


def test_threads_drawing_at_once_are_never_given_the_same_bytes() -> None:
    """Each 16 bytes go to one caller, however many threads draw at the same time."""
    each = 5000

    def draw(_: int) -> list[bytes]:
        return [ids.random_bytes() for _ in range(each)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        drawn = [b for part in pool.map(draw, range(8)) for b in part]
    assert {len(b) for b in drawn} == {16}
    assert len(set(drawn)) == 8 * each
