"""The fast path for everyday addresses agrees with email-validator wherever it answers."""

from typing import Final

from hypothesis import example, given, settings
from hypothesis import strategies as st

from order_intake.domain.formats import library_email, plain_email

_ATOM: Final = st.text(alphabet="abcXYZ019_+-.", min_size=1, max_size=70)
_LABEL: Final = st.text(alphabet="abcxyzQ019-", min_size=1, max_size=66)
_TLD: Final = st.sampled_from(["com", "co", "uk", "DE", "museum", "test", "local", "onion", "c1", "x", "xn--p1ai"])


@st.composite
def near_plain_addresses(draw: st.DrawFn) -> str:
    """Addresses shaped like the fast path's, with the edge cases it must get right."""
    labels = draw(st.lists(_LABEL, min_size=1, max_size=4))
    return f"{draw(_ATOM)}@{'.'.join([*labels, draw(_TLD)])}"


@settings(max_examples=3000, deadline=None)
@given(st.one_of(near_plain_addresses(), st.text(max_size=80)))
@example("Jane.Doe+tag@Example.CO.UK")
@example("a@b--c.com")
@example("a@x.local")
@example("a." + "b" * 70 + "@x.com")
@example("a@" + "b" * 64 + ".com")
def test_fast_path_accepts_only_what_the_library_accepts_and_normalises_alike(address: str) -> None:
    """Whenever plain_email answers, email-validator accepts the address and gives the same normal form."""
    fast = plain_email(address)
    if fast is not None:
        assert library_email(address) == fast


def test_fast_path_takes_the_everyday_address() -> None:
    """An ordinary address is answered without the library, domain lowercased."""
    assert plain_email("Jane.Doe+tag@Example.COM") == "Jane.Doe+tag@example.com"


def test_fast_path_leaves_unusual_addresses_to_the_library() -> None:
    """International, quoted, special-use and IDNA addresses are not the fast path's."""
    for address in ("jöe@example.com", '"a b"@example.com', "a@x.test", "a@xn--p1ai.com", "a@b.c"):
        assert plain_email(address) is None
