"""Hypothesis strategies: any JSON value, customer orders that must be accepted, mutations of them, review forms."""

import datetime as dt
import json
from decimal import Decimal
from typing import Any, Final

import pycountry
from hypothesis import strategies as st

from order_intake.domain.invitations import Purchase
from order_intake.domain.policy import Basis, Policy, Window
from order_intake.domain.reviews import MAX_TEXT, RATINGS, Item

TRKREF: Final = "TRKREF123"

ORDER_FIELDS: Final = (
    "trkref",
    "order_ref",
    "order_date",
    "fulfilment_date",
    "language",
    "locale",
    "customer",
    "order_items",
)
CUSTOMER_FIELDS: Final = ("email", "customer_ref", "title", "first_name", "surname", "postcode", "country")
ITEM_FIELDS: Final = ("sku", "price", "currency", "metadata")
UNKNOWN_FIELDS: Final = ("cutomer_ref", "notes", "Order_Ref", "x-extra", "")

LANGUAGES: Final = sorted(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))
COUNTRIES: Final = sorted(country.alpha_2 for country in pycountry.countries)
CURRENCIES: Final = sorted(currency.alpha_3 for currency in pycountry.currencies)

# Values a JSON decoder with float_hook=Decimal can return, including the awkward ones.
_AWKWARD_NUMBERS: Final = (
    Decimal("1E+999999999"),
    Decimal("1E-999999999"),
    Decimal("-0.0"),
    Decimal("0E+999"),
)
_ABSENT: Final = object()


def json_scalars() -> st.SearchStrategy[Any]:
    """Any JSON scalar: null, boolean, int (of any size), finite Decimal, string (U+0000 included)."""
    return (
        st.none()
        | st.booleans()
        | st.integers()
        | st.decimals(allow_nan=False, allow_infinity=False)
        | st.sampled_from(_AWKWARD_NUMBERS)
        # Built late: a strategy's repr shows its values, and str() refuses ints over 4300 digits.
        | st.sampled_from([400, 4301, 5000]).map(lambda digits: 10**digits)
        | st.sampled_from([400, 5000]).map(lambda digits: -(10**digits))
        | st.text()
    )


def any_json() -> st.SearchStrategy[Any]:
    """Any JSON value, with keys often the order's own field names."""
    keys = st.text(max_size=12) | st.sampled_from(ORDER_FIELDS + CUSTOMER_FIELDS + ITEM_FIELDS)
    return st.recursive(
        json_scalars(),
        lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=6),
        max_leaves=25,
    )


_SPACE: Final = st.sampled_from(["", "", " ", "\t", " \n"])
_BLANK: Final = st.sampled_from([_ABSENT, None, "", "  "])
_CHARACTERS: Final = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])


def _padded(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Surround with whitespace, which the validator strips."""
    return st.tuples(_SPACE, values, _SPACE).map("".join)


def _any_case(codes: list[str]) -> st.SearchStrategy[str]:
    cases = st.sampled_from([str.lower, str.upper, str.title])
    return st.tuples(st.sampled_from(codes), cases).map(lambda pair: pair[1](pair[0]))


def _optional(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Absent, null, blank (all treated as absent) or a value."""
    return _BLANK | values


def _text(maximum: int) -> st.SearchStrategy[str]:
    """Non-blank text without U+0000, at most `maximum` characters even before stripping."""
    return st.text(_CHARACTERS, min_size=1, max_size=maximum).filter(str.strip) | st.just("x" * maximum)


def _emails() -> st.SearchStrategy[str]:
    atom = st.text("abcXYZ0189!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=10)
    label = st.text("abcdefXYZ0123456789", min_size=1, max_size=12)
    local = st.lists(atom, min_size=1, max_size=3).map(".".join)
    tld = st.sampled_from(["com", "org", "Net", "UK", "io"])
    domain = st.tuples(st.lists(label, min_size=1, max_size=3), tld).map(lambda d: ".".join([*d[0], d[1]]))
    return _padded(st.tuples(local, domain).map("@".join))


def _price_texts() -> st.SearchStrategy[str]:
    """Digits, optionally with one "," or "." and more digits: 55,99 or 10 or 10.5."""
    parts = st.tuples(st.integers(0, 10**12), st.sampled_from(["", ".", ","]), st.integers(0, 10**6))
    return _padded(parts.map(lambda p: f"{p[0]}{p[1]}{p[2]}" if p[1] else str(p[0])))


_NAME: Final = _text(255) | st.integers(-(10**30), 10**30) | st.decimals(-(10**9), 10**9, places=3)
_PRICE: Final = (
    st.integers(0, 10**15)
    | st.decimals(0, 10**12, allow_nan=False, allow_infinity=False)
    | st.sampled_from([Decimal("1E+3"), Decimal("0.00"), Decimal("-0.0"), Decimal("1.5E-5")])
    | _price_texts()
)
_METADATA: Final = st.dictionaries(
    st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=20),
    st.none()
    | st.booleans()
    | st.integers(-(10**50), 10**50)
    | st.decimals(-(10**20), 10**20, allow_nan=False, allow_infinity=False)
    | st.text(_CHARACTERS, max_size=30)
    | st.just("v" * 1000),
    max_size=6,
)
# Ordinary values: the awkward ones are for any_json and mutated_orders.
_UNKNOWN: Final = st.dictionaries(
    st.sampled_from(UNKNOWN_FIELDS),
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.text(max_size=20),
    max_size=2,
)


def _draw_object(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]], *given: tuple[str, Any]) -> dict[str, Any]:
    """Draw each field (dropping the absent ones) and some unknown fields, in a drawn order."""
    pairs = [*given, *((name, value) for name, values in fields.items() if (value := draw(values)) is not _ABSENT)]
    pairs += draw(_UNKNOWN).items()
    return dict(draw(st.permutations(pairs)))


@st.composite
def _objects(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    return _draw_object(draw, fields)


_CUSTOMER: Final = _objects(
    {
        "email": _emails(),
        **{name: _optional(_NAME) for name in ("customer_ref", "title", "first_name", "surname", "postcode")},
        "country": _optional(_padded(_any_case(COUNTRIES))),
    }
)
_ITEM: Final = _objects(
    {
        "sku": _text(255) | st.integers(0, 10**20),
        "price": _optional(_PRICE),
        "currency": _optional(_padded(_any_case(CURRENCIES))),
        "metadata": _optional(_METADATA),
    }
)
_LOCALE: Final = st.tuples(_any_case(LANGUAGES), st.sampled_from("-_"), _any_case(COUNTRIES)).map("".join)
_ORDER: Final = {
    "order_ref": _text(255),
    "language": _optional(_padded(_any_case(LANGUAGES))),
    "locale": _optional(_padded(_LOCALE)),
    "customer": _CUSTOMER,
    "order_items": st.lists(_ITEM, min_size=1, max_size=4),
}


def _date_text(day: dt.date) -> st.SearchStrategy[str]:
    return _padded(st.just(f"{day.day:02}-{day.month:02}-{day.year:04}"))


@st.composite
def _date_fields(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """order_date and fulfilment_date: at least one, and never fulfilled before ordered."""
    first, second = sorted(draw(st.lists(st.dates(dt.date(1, 1, 1)), min_size=2, max_size=2)))
    which = draw(st.sampled_from(["both", "order", "fulfilment"]))
    order_date = draw(_date_text(first) if which != "fulfilment" else _BLANK)
    fulfilment_date = draw(_date_text(second) if which != "order" else _BLANK)
    pairs = [("order_date", order_date), ("fulfilment_date", fulfilment_date)]
    return [(name, value) for name, value in pairs if value is not _ABSENT]


@st.composite
def valid_orders(draw: st.DrawFn, trkref: str = TRKREF) -> dict[str, Any]:
    """Draw a raw body (as decoded JSON) that validate_order must accept for `trkref`."""
    return _draw_object(draw, _ORDER, ("trkref", trkref), *draw(_date_fields()))


@st.composite
def mutated_orders(draw: st.DrawFn, trkref: str = TRKREF) -> dict[str, Any]:
    """Draw a valid order with one field (known or not, at any level) replaced by any JSON value."""
    order = draw(valid_orders(trkref))
    targets: list[dict[str, Any]] = [order, order["customer"], *order["order_items"]]
    targets += [item["metadata"] for item in order["order_items"] if isinstance(item.get("metadata"), dict)]
    target = draw(st.sampled_from(targets))
    name = draw(st.sampled_from([*target, *ORDER_FIELDS, *CUSTOMER_FIELDS, *ITEM_FIELDS]))
    target[name] = draw(any_json())
    return order


# Rate limits: token buckets and the instants (in microseconds) at which requests reach them.
@st.composite
def rate_limits(draw: st.DrawFn) -> tuple[float, int]:
    """Draw a storable (rate, burst) with rate above 0: slow, fast, and awkward fractional rates."""
    rate = draw(
        st.one_of(
            st.sampled_from([0.001, 0.5, 1.0, 3.0, 7.0, 100.0, 1e6, 3e6]),
            st.floats(min_value=0.001, max_value=5e6, allow_nan=False, allow_infinity=False),
        )
    )
    return rate, draw(st.integers(min_value=1, max_value=50))


def request_gaps(interval: int) -> st.SearchStrategy[list[int]]:
    """Draw the microseconds between successive requests: many together, some about one token apart."""
    gap = st.one_of(
        st.just(0),
        st.integers(min_value=0, max_value=3 * interval),
        st.sampled_from([interval - 1, interval, interval + 1]),
    )
    return st.lists(gap, min_size=1, max_size=120)


@st.composite
def address_and_case_variant(draw: st.DrawFn) -> tuple[str, str]:
    """An address (LIKE's own characters and letters beyond ASCII included) and it with letters' case changed."""
    local = draw(st.text("aZq._%\\+-üÜßéÉøØİıǅ", min_size=1, max_size=12))
    domain = draw(st.text("abcXYZäÄ-", min_size=1, max_size=10))
    address = f"{local}@{domain}.example"
    flips = draw(st.lists(st.booleans(), min_size=len(address), max_size=len(address)))
    variant = "".join(c.upper() if flip else c.lower() for c, flip in zip(address, flips, strict=True))
    return address, variant


# Review invitations: a customer's orders, the policy, the present.
_DAYS_2020_2030: Final = (dt.date(2020, 1, 1), dt.date(2030, 12, 31))


def purchases(days: tuple[dt.date, dt.date] = _DAYS_2020_2030) -> st.SearchStrategy[Any]:
    """One canonical order as planning sees it: dates (at least one) within `days`, a country or none."""
    dates = st.dates(*days)
    return st.builds(
        Purchase,
        order_ref=st.text("ABC123", min_size=1, max_size=4),
        order_date=st.none() | dates,
        fulfilment_date=st.none() | dates,
        country=st.none() | st.sampled_from(["GB", "JP", "US", "AU", "NZ", "IN", "NP", "BR", "FR"]),
    ).filter(lambda p: p.order_date is not None or p.fulfilment_date is not None)


def policies(most_days: int = 60) -> st.SearchStrategy[Any]:
    """A policy with any delay (up to `most_days`), age limit, cooldown, window, fallback zone and reminder."""
    windows = st.tuples(st.integers(0, 1439), st.integers(1, 1440)).filter(lambda w: w[0] < w[1])
    return st.builds(
        Policy,
        basis=st.sampled_from(list(Basis)),
        delay_days=st.integers(0, most_days),
        max_age_days=st.integers(0, 800),
        cooldown_days=st.integers(0, 90),
        reminder_days=st.integers(0, most_days),
        window=windows.map(lambda w: Window(*w)),
        timezone=st.sampled_from(["Europe/London", "America/New_York", "Asia/Kathmandu", "Pacific/Chatham", "UTC"]),
    )


def instants() -> st.SearchStrategy[dt.datetime]:
    """A moment between 2020 and 2030, in UTC."""
    bounds = (dt.datetime(2020, 1, 1, tzinfo=dt.UTC), dt.datetime(2030, 12, 31, tzinfo=dt.UTC))
    return st.datetimes(*(b.replace(tzinfo=None) for b in bounds)).map(lambda t: t.replace(tzinfo=dt.UTC))


# JSON texts whose objects may name a member twice, spelled alike or not.
class _Members(tuple[tuple[str, Any], ...]):
    """An object as the (name, value) pairs sent, in order; a name may come more than once."""

    __slots__ = ()


_NAMES: Final = st.sampled_from(
    ["email", "customer", "a", "", ":", "a:b", '"', '":"', "\\", "\\u0061", "é", "\U0001f600"]
)
_TEXT_CHARACTERS: Final = st.characters(exclude_categories=["Cs"])
_STRING_VALUES: Final = st.sampled_from(["x:y", 'q"', '":{"a":', "\\", "\\\\", ""]) | st.text(
    _TEXT_CHARACTERS, max_size=5
)
_SCALARS: Final = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | _STRING_VALUES
_SHORT_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "/": "\\/",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def _json_trees() -> st.SearchStrategy[Any]:
    """Scalars, lists and _Members, names drawn from a few so that an object often repeats one."""
    names = _NAMES | st.text(_TEXT_CHARACTERS, max_size=3)
    return st.recursive(
        _SCALARS,
        lambda children: (
            st.lists(children, max_size=4) | st.lists(st.tuples(names, children), max_size=4).map(_Members)
        ),
        max_leaves=20,
    )


def _escaped(character: str) -> str:
    r"""The character as \u escapes (a pair of them beyond the BMP)."""
    code = ord(character)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04x}"


def _render_string(draw: st.DrawFn, text: str) -> str:
    """A JSON string of `text`, each character as itself (escaped only where JSON requires) or escaped."""
    out = []
    for character in text:
        if draw(st.booleans()):
            out.append(
                _escaped(character) if draw(st.booleans()) else _SHORT_ESCAPES.get(character, _escaped(character))
            )
        elif character in '"\\' or ord(character) < 0x20:
            out.append(_SHORT_ESCAPES.get(character, _escaped(character)))
        else:
            out.append(character)
    return '"' + "".join(out) + '"'


def _render(draw: st.DrawFn, tree: Any) -> str:
    space = _SPACE
    if isinstance(tree, _Members):
        members = [
            f"{draw(space)}{_render_string(draw, name)}{draw(space)}:{draw(space)}{_render(draw, value)}"
            for name, value in tree
        ]
        return "{" + ",".join(members) + draw(space) + "}"
    if isinstance(tree, list):
        return "[" + ",".join(draw(space) + _render(draw, value) for value in tree) + draw(space) + "]"
    if isinstance(tree, str):
        return _render_string(draw, tree)
    return json.dumps(tree)


@st.composite
def json_texts(draw: st.DrawFn) -> str:
    r"""Draw a JSON text whose objects may repeat a member name, spelled alike or through escapes (`"em\u0061il"`).

    Strings (names and values) often hold colons, quotes and backslashes, escaped or not.
    """
    return _render(draw, draw(_json_trees()))


# The customer's review form (domain/reviews.py): an order's items and what a customer may answer for each.
_REVIEW_TEXT_CHARACTERS = st.characters(exclude_categories=("Cs", "Cc")) | st.sampled_from("\n\t")


def review_items() -> st.SearchStrategy[tuple[Item, ...]]:
    """An order's items as the form asks about them: one to six distinct skus of any text an order can carry."""
    characters = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
    skus = st.lists(st.text(characters, min_size=1, max_size=30), min_size=1, max_size=6)
    return skus.map(lambda found: tuple(Item(sku) for sku in dict.fromkeys(found)))


def review_texts() -> st.SearchStrategy[str]:
    """A comment as it is stored: line breaks as LF, no other control character, no surrounding space; at times long."""
    short = st.text(_REVIEW_TEXT_CHARACTERS, max_size=80).map(str.strip)
    return short | st.sampled_from([MAX_TEXT, MAX_TEXT + 1]).map(lambda n: "é" * n)


@st.composite
def review_answers(draw: st.DrawFn) -> tuple[tuple[Item, ...], dict[str, tuple[int | None, str]]]:
    """Items and, for each, a rating (or none) and a comment (possibly empty)."""
    items = draw(review_items())
    ratings = st.none() | st.sampled_from(RATINGS)
    return items, {item.sku: (draw(ratings), draw(review_texts())) for item in items}
