"""Schema-driven fuzzing: schemathesis sends what the served OpenAPI document allows, and what it forbids.

Every operation of `/openapi.json` gets generated requests, valid and invalid (negative data), with a
real API key, on both backends; every default check runs on each answer (no 5xx, statuses, headers
and bodies as documented, invalid data refused, valid data accepted, auth not ignored, ...).
"""

import httpx
import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from order_intake.entrypoints.http.openapi import document
from tests.conftest import Tenants
from tests.support.server import Server

# Enough to find what a mistake in the document or the server shows at once, small enough for CI:
# each operation's coverage phase (schema edges, each required part missing, ...) comes on top.
EXAMPLES = 60
TRKREF = "TRKREF123"  # the organisation tests.conftest links the main key to

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"mode": "all", "max-examples": EXAMPLES},
        "operations": [
            {
                # An order can have the schema's form and still break a rule of the contract that no
                # JSON Schema states: CONTRACT.md asks for "a real calendar date (`31-02-2014` is
                # invalid)", a language, country or currency code "that exists (`en`, `fr`; not
                # `xx`...)", "a syntactically valid address", "fulfilment_date cannot be before
                # order_date". Such a valid-looking order is answered 422 with those messages (a batch
                # of them 422 "Batch is invalid"), so 422 counts as an acceptable answer to positive
                # data here; every other check, and every other status, still applies.
                # A batch that breaks maxItems can also be over 16 MiB (schemathesis made one of
                # 38 MB): that is refused 413 Payload too large before it is read, a rejection too.
                "include-method": "POST",
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429", "5xx"]
                    },
                    "negative_data_rejection": {
                        "expected-statuses": [
                            *("400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"),
                            "5xx",
                        ]
                    },
                },
            },
            {
                # format: email admits addresses the contract does not ("a syntactically valid
                # address" as the validator judges it: no special-use domain such as .test), and a
                # purchaser's address that no order could carry is 422 Invalid purchaser (a
                # suppression's, 422 Invalid suppression). A list's `after` is a cursor this API
                # gave: any other string of the pattern's form is 422 Invalid query.
                "include-operation-id": [
                    "listPurchases",
                    "getSuppression",
                    "putSuppression",
                    "deleteSuppression",
                    "listSuppressions",
                ],
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429", "5xx"]
                    }
                },
            },
        ],
    }
)
# The document the server serves (the first test checks they are the same bytes). It is built here
# rather than fetched: operations become test items at collection, before any server runs, and
# schemathesis.pytest.from_fixture (which would fetch it) relies on `Node._nodeid`, gone in pytest 9.2.
schema = schemathesis.openapi.from_dict(msgspec.json.decode(document()), config=CONFIG)


def test_the_fuzzed_document_is_the_one_the_server_serves(client: httpx.Client) -> None:
    """GET /openapi.json answers exactly the document the operations below are generated from."""
    assert client.get("/openapi.json").content == document()


@pytest.fixture
def real_key(tenants: Tenants) -> None:
    """The main key of this backend's tenants, as schemathesis's own HTTP Basic credentials.

    Configured rather than passed to each call, so that schemathesis knows them: it leaves them out
    on purpose where it tests a missing Authorization header, and tries wrong ones (ignored_auth).
    """
    schema.config.update(basic_auth=tenants.main.auth)


@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
@pytest.mark.usefixtures("real_key")
def test_every_operation_answers_as_its_openapi_document_says(case: schemathesis.Case, server: Server) -> None:
    """Whatever schemathesis sends, with a real key, every default check holds."""
    _name_the_keys_organisation(case)
    case.call_and_validate(base_url=server.base_url, timeout=10)


def _name_the_keys_organisation(case: schemathesis.Case) -> None:
    """Valid cases name the organisation of the key, in the path and in each order.

    A trkref of the right form that the key is not linked to answers 400 by design (CONTRACT.md,
    "the {trkref} in the path is unknown, or belongs to an organisation this API key is not linked
    to (one answer for both, so that no caller can discover other tenants)"), and an order's trkref
    must equal the path's ("trkref | mandatory string, equal to the path's trkref"): neither is
    something a schema can say. Invalid cases keep whatever schemathesis drew.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if "trkref" in case.path_parameters:
        case.path_parameters["trkref"] = TRKREF
    orders = case.body if isinstance(case.body, list) else [case.body]
    for order in orders:
        if isinstance(order, dict) and "trkref" in order:
            order["trkref"] = TRKREF
