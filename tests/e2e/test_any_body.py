"""Open-ended bodies: whatever JSON arrives, the answer is one the contract describes, never a 500."""

import copy
import re
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Tenants
from tests.e2e.exchanges import UUID4, assert_json_headers, encode, json_body, post_order
from tests.support.factories import REFERENCE_EXAMPLE

FIELDS = "trkref|order_ref|order_date|fulfilment_date|language|locale|customer|order_items"
PATH = rf"(?:{FIELDS})(?:[\[.][\s\S]*)?"
# The contract's message table: every error is exactly one of these.
MESSAGES = re.compile(
    rf"{PATH} cannot be blank|invalid {PATH}|{PATH} is too long \(maximum \d+ characters\)"
    r"|order_date or fulfilment_date must be present|fulfilment_date cannot be before order_date"
    r"|trkref does not match the organisation in the URL|order_items cannot be empty"
    r"|order_items has too many items \(maximum 1000\)|body must be a JSON object"
)
WARNING = re.compile(r"unknown field [\s\S]*")

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=12
)
field_values = scalars | st.sampled_from(["", " ", "GB", "gbp", "en-GB", "10-12-2014", "55,99", "-1", "x" * 256])


@st.composite
def mutated_examples(draw: st.DrawFn) -> dict[str, Any]:
    """The reference example with a few fields, at any level, replaced, removed or added."""
    order = copy.deepcopy(REFERENCE_EXAMPLE)
    for _ in range(draw(st.integers(1, 4))):
        containers: list[dict[str, Any]] = [order]
        if isinstance(order.get("customer"), dict):
            containers.append(order["customer"])
        items = order.get("order_items")
        if isinstance(items, list):
            containers += [item for item in items if isinstance(item, dict)]
            containers += [
                item["metadata"] for item in items if isinstance(item, dict) and isinstance(item.get("metadata"), dict)
            ]
        target = draw(st.sampled_from(containers))
        name = draw(st.sampled_from(sorted(target)) | st.text(max_size=8)) if target else draw(st.text(max_size=8))
        if draw(st.booleans()) and name in target:
            del target[name]
        else:
            target[name] = draw(field_values | json_values)
    return order


def assert_contract_answer(answer: httpx.Response) -> None:
    """202 with an id and warnings, or 422 whose every error is a message of the contract's table."""
    body = json_body(answer)
    assert_json_headers(answer)
    assert answer.status_code in {202, 422}, answer.text
    if answer.status_code == 202:
        assert set(body) <= {"status", "id", "message", "warnings"}
        assert (body["status"], body["message"]) == (202, "Customer order accepted")
        assert UUID4.fullmatch(body["id"])
        assert all(WARNING.fullmatch(w) for w in body.get("warnings", ["unknown field x"])), body
        assert body.get("warnings", ["x"]) != []
    else:
        assert set(body) == {"status", "message", "errors"}
        assert (body["status"], body["message"] in {"Invalid customer order", "No data provided"}) == (422, True)
        assert body["errors"]
        unknown = [e for e in body["errors"] if not (isinstance(e, str) and MESSAGES.fullmatch(e))]
        assert not unknown, body
        assert len(body["errors"]) == len(set(body["errors"])), body


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=mutated_examples())
def test_any_mutation_of_the_reference_example_gets_a_contract_answer(
    client: httpx.Client, tenants: Tenants, order: dict[str, Any]
) -> None:
    """Fields replaced by any JSON value, removed or added: 202 or 422 with contract messages, never 500."""
    assert_contract_answer(post_order(client, tenants.main.auth, order))


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values)
def test_any_json_value_gets_a_contract_answer(client: httpx.Client, tenants: Tenants, value: Any) -> None:
    """Any JSON document at all: 202 or 422 with contract messages, never 500."""
    assert_contract_answer(post_order(client, tenants.main.auth, content=encode(value)))
