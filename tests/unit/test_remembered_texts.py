"""Dates, prices and metadata keys are remembered once checked; what is remembered stays bounded."""

from decimal import Decimal

from order_intake.domain import formats, metadata
from order_intake.domain.catalogue import invalid
from order_intake.domain.fields import REMEMBERED
from tests.support.factories import an_order
from tests.unit.orders import accepted, errors_of


def _with_item(**fields: object) -> dict[str, object]:
    order = an_order()
    order["order_items"] = [{"sku": "S1", **fields}]
    return order


def test_a_remembered_answer_is_the_same_answer_the_second_time() -> None:
    """Valid and invalid texts alike: the second order is judged as the first was."""
    for _ in range(2):
        item = accepted(_with_item(price="12,50", metadata={"colour": "red"})).order.order_items[0]
        assert (item.price, item.metadata) == (Decimal("12.50"), {"colour": "red"})
        assert errors_of(_with_item(price="12,5,0")) == (invalid("order_items[0].price"),)
        assert errors_of(_with_item(metadata={"Colour": "red"})) == (invalid("order_items[0].metadata.Colour"),)
        assert errors_of(an_order(order_date="31-02-2024")) == (invalid("order_date"),)


def test_long_texts_are_checked_but_not_remembered() -> None:
    """A client sending ever new long keys or prices cannot fill memory: only short texts are kept."""
    keys_before = metadata._valid_key.cache_info().currsize
    prices_before = formats._price_from_text.cache_info().currsize
    for n in range(50):
        long_key = "k" * 65 + str(n)
        long_price = "1" * 40 + f".{n:02d}"
        item = accepted(_with_item(price=long_price, metadata={long_key: 1})).order.order_items[0]
        assert (item.price, item.metadata) == (Decimal(long_price), {long_key: 1})
        assert errors_of(_with_item(metadata={long_key.upper(): 1})) == (
            invalid(f"order_items[0].metadata.{long_key.upper()}"),
        )
    assert metadata._valid_key.cache_info().currsize == keys_before
    assert formats._price_from_text.cache_info().currsize == prices_before


def test_at_most_4096_short_texts_are_remembered() -> None:
    """Past the bound the oldest go: a flood of distinct short keys keeps the same memory."""
    for n in range(5000):
        accepted(_with_item(metadata={f"key_{n}": n}))
    assert metadata._valid_key.cache_info().currsize == REMEMBERED == 4096
