"""Hypothesis strategies: any JSON value, customer orders that must be accepted, and mutations of them."""

import datetime as dt
from decimal import Decimal
from typing import Any, Final

import pycountry
from hypothesis import strategies as st

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


def _padded(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Surround with whitespace, which the validator strips."""
    space = st.sampled_from(["", "", " ", "\t", " \n"])
    return st.tuples(space, values, space).map("".join)


def _any_case(codes: list[str]) -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(codes), st.sampled_from([str.lower, str.upper, str.title])).map(
        lambda pair: pair[1](pair[0])
    )


def _optional(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Absent, null, blank (all treated as absent) or a value."""
    return st.sampled_from([_ABSENT, None, "", "  "]) | values


def _text(maximum: int) -> st.SearchStrategy[str]:
    """Non-blank text without U+0000, at most `maximum` characters even before stripping."""
    alphabet = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])
    return st.text(alphabet, min_size=1, max_size=maximum).filter(str.strip)


def _names() -> st.SearchStrategy[Any]:
    """customer_ref, title, names, postcode: text or a number."""
    return _text(255) | st.integers(-(10**30), 10**30) | st.decimals(-(10**9), 10**9, places=3)


def _emails() -> st.SearchStrategy[str]:
    atom = st.from_regex(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,10}", fullmatch=True)
    label = st.from_regex(r"[A-Za-z0-9]{1,12}", fullmatch=True)
    local = st.lists(atom, min_size=1, max_size=3).map(".".join)
    domain = st.tuples(st.lists(label, min_size=1, max_size=3), st.sampled_from(["com", "org", "Net", "UK", "io"]))
    return _padded(st.tuples(local, domain.map(lambda d: ".".join([*d[0], d[1]]))).map("@".join))


def _prices() -> st.SearchStrategy[Any]:
    return (
        st.integers(0, 10**15)
        | st.decimals(0, 10**12, allow_nan=False, allow_infinity=False)
        | st.sampled_from([Decimal("1E+3"), Decimal("0.00"), Decimal("-0.0"), Decimal("1.5E-5")])
        | _padded(st.from_regex(r"[0-9]{1,12}([.,][0-9]{1,6})?", fullmatch=True))
    )


def _metadata() -> st.SearchStrategy[dict[str, Any]]:
    key = st.from_regex(r"[a-z0-9_]{1,20}", fullmatch=True)
    value = (
        st.none()
        | st.booleans()
        | st.integers(-(10**50), 10**50)
        | st.decimals(-(10**20), 10**20, allow_nan=False, allow_infinity=False)
        | st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=1000)
    )
    return st.dictionaries(key, value, max_size=6)


def _unknown_fields() -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(UNKNOWN_FIELDS), json_scalars(), max_size=2)


@st.composite
def _objects(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    """Draw each field (dropping the absent ones) and some unknown fields, in a drawn order."""
    pairs = [(name, value) for name, strategy in fields.items() if (value := draw(strategy)) is not _ABSENT]
    pairs += draw(_unknown_fields()).items()
    return dict(draw(st.permutations(pairs)))


def _date_pair(draw: st.DrawFn) -> tuple[Any, Any]:
    """order_date and fulfilment_date: at least one, and never fulfilled before ordered."""
    first, second = sorted(draw(st.lists(st.dates(dt.date(1, 1, 1)), min_size=2, max_size=2)))
    text = [_padded(st.just(f"{day.day:02}-{day.month:02}-{day.year:04}")) for day in (first, second)]
    blank = st.sampled_from([_ABSENT, None, "", " "])
    which = draw(st.sampled_from(["both", "order", "fulfilment"]))
    return (
        draw(text[0] if which != "fulfilment" else blank),
        draw(text[1] if which != "order" else blank),
    )


@st.composite
def valid_orders(draw: st.DrawFn, trkref: str = TRKREF) -> dict[str, Any]:
    """Draw a raw body (as decoded JSON) that validate_order must accept for `trkref`."""
    order_date, fulfilment_date = _date_pair(draw)
    customer = {
        "email": _emails(),
        **{name: _optional(_names()) for name in ("customer_ref", "title", "first_name", "surname", "postcode")},
        "country": _optional(_padded(_any_case(COUNTRIES))),
    }
    item = {
        "sku": _text(255) | st.integers(0, 10**20),
        "price": _optional(_prices()),
        "currency": _optional(_padded(_any_case(CURRENCIES))),
        "metadata": _optional(_metadata()),
    }
    locale = st.tuples(_any_case(LANGUAGES), st.sampled_from("-_"), _any_case(COUNTRIES)).map("".join)
    return draw(
        _objects(
            {
                "trkref": st.just(trkref),
                "order_ref": _text(255),
                "order_date": st.just(order_date),
                "fulfilment_date": st.just(fulfilment_date),
                "language": _optional(_padded(_any_case(LANGUAGES))),
                "locale": _optional(_padded(locale)),
                "customer": _objects(customer),
                "order_items": st.lists(_objects(item), min_size=1, max_size=4),
            }
        )
    )


@st.composite
def mutated_orders(draw: st.DrawFn, trkref: str = TRKREF) -> dict[str, Any]:
    """Draw a valid order with one field (known or not, at any level) replaced by any JSON value."""
    order = draw(valid_orders(trkref))
    targets: list[dict[str, Any]] = [order]
    if isinstance(order.get("customer"), dict):
        targets.append(order["customer"])
    targets += order["order_items"]
    targets += [item["metadata"] for item in order["order_items"] if isinstance(item.get("metadata"), dict)]
    target = draw(st.sampled_from(targets))
    names = [*target, *ORDER_FIELDS, *CUSTOMER_FIELDS, *ITEM_FIELDS]
    name = draw(st.sampled_from(names))
    target[name] = draw(any_json())
    return order
