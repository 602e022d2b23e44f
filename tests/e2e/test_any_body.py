"""Open-ended bodies: whatever JSON arrives, the answer is one the contract describes, never a 500."""

import copy
import re
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Tenants
from tests.e2e.exchanges import UUID4, assert_json_headers, encode, json_body, post_order
from tests.e2e.json_schema import Validator
from tests.support.factories import REFERENCE_EXAMPLE
from tests.support.server import Server

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


class Documented:
    """The answers the served OpenAPI document gives POST /v4/organisations/{trkref}/customer_order."""

    def __init__(self, document: dict[str, Any]) -> None:
        self._validator = Validator(document)
        self._responses = document["paths"]["/v4/organisations/{trkref}/customer_order"]["post"]["responses"]

    def check(self, answer: httpx.Response) -> None:
        """The status is documented and the body matches the schema documented for it."""
        documented = self._responses.get(str(answer.status_code))
        assert documented is not None, f"undocumented status {answer.status_code}: {answer.text}"
        self._validator.validate(json_body(answer), documented["content"]["application/json"]["schema"])


@pytest.fixture(scope="session")
def documented(server: Server) -> Documented:
    """The served document's answers of the single submission endpoint."""
    answer = httpx.get(f"{server.base_url}/openapi.json", timeout=10)
    assert answer.status_code == 200
    return Documented(json_body(answer))


def assert_contract_answer(answer: httpx.Response, documented: Documented) -> None:
    """202 with an id and warnings, or 422 whose every error is a message of the contract's table.

    Either way, the answer matches the schema the OpenAPI document gives that status.
    """
    body = json_body(answer)
    assert_json_headers(answer)
    assert answer.status_code in {202, 422}, answer.text
    documented.check(answer)
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
    client: httpx.Client, tenants: Tenants, documented: Documented, order: dict[str, Any]
) -> None:
    """Fields replaced by any JSON value, removed or added: 202 or 422 with contract messages, never 500."""
    assert_contract_answer(post_order(client, tenants.main.auth, order), documented)


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values)
def test_any_json_value_gets_a_contract_answer(
    client: httpx.Client, tenants: Tenants, documented: Documented, value: Any
) -> None:
    """Any JSON document at all: 202 or 422 with contract messages, never 500."""
    assert_contract_answer(post_order(client, tenants.main.auth, content=encode(value)), documented)
