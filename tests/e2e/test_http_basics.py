"""Every answer: probes, 404 and 405, X-Request-Id, and the OpenAPI document matching real answers."""

import base64
import re
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Tenants
from tests.e2e.exchanges import (
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    ORGANISATIONS,
    SUBMIT,
    accepted_id,
    assert_answer,
    assert_json_headers,
    drop_database,
    encode,
    json_body,
    post_order,
    submission_path,
    submit_path,
)
from tests.e2e.json_schema import SchemaError, Validator
from tests.support.cli import cli_ok
from tests.support.databases import postgres_database
from tests.support.factories import REFERENCE_EXAMPLE, an_order
from tests.support.polling import wait_until
from tests.support.raw_http import everything_sent, request
from tests.support.server import Server

WARNINGS = ["unknown field customer.cutomer_ref"]
SINGLE_PATHS = {
    "/v4/organisations/{trkref}/customer_order": {"post"},
    "/v4/organisations/{trkref}/customer_order/{id}": {"get"},
    "/v4/organisations": {"get"},
    "/health": {"get"},
    "/ready": {"get"},
    "/openapi.json": {"get"},
}
DOCUMENTED_ANSWERS = {
    ("/v4/organisations/{trkref}/customer_order", "post"): {"202", "400", "401", "403", "409", "413", "422"},
    ("/v4/organisations/{trkref}/customer_order/{id}", "get"): {"200", "400", "401", "403", "404"},
    ("/v4/organisations", "get"): {"200", "401"},
    ("/health", "get"): {"200"},
    ("/ready", "get"): {"200"},
}


def test_health_answers_200_while_the_process_serves(client: httpx.Client) -> None:
    """GET /health: 200, JSON, no credentials needed."""
    answer = client.get("/health")
    assert (answer.status_code, json_body(answer)["status"]) == (200, 200)
    assert_json_headers(answer)


def test_ready_answers_200_while_the_database_answers(client: httpx.Client) -> None:
    """GET /ready: 200 with the database up, no credentials needed."""
    answer = client.get("/ready")
    assert (answer.status_code, json_body(answer)["status"]) == (200, 200)
    assert_json_headers(answer)


def test_ready_stops_answering_200_once_the_database_is_gone_while_health_stays_200(
    backend: str, run_dir: Path
) -> None:
    """With its database dropped, /ready stops answering 200 (with its documented status), /health stays 200."""
    if backend != "postgres":
        pytest.skip("an open SQLite file cannot be taken away from the server")
    with postgres_database("ready") as url:
        cli_ok(url, "db", "upgrade")
        server = Server(url, run_dir / f"ready-{secrets.token_hex(3)}.log").start()
        try:
            with httpx.Client(base_url=server.base_url, timeout=10) as c:
                assert c.get("/ready").status_code == 200
                drop_database(url)

                def not_ready() -> httpx.Response | None:
                    answer = c.get("/ready")
                    return answer if answer.status_code != 200 else None

                answer = wait_until(not_ready, deadline=time.monotonic() + 10)
                assert answer is not None, "/ready still answered 200 10 seconds after the database was dropped"
                documented = json_body(c.get("/openapi.json"))["paths"]["/ready"]["get"]["responses"]
                not_ready_statuses = {int(status) for status in documented if status != "200"}
                assert answer.status_code in not_ready_statuses, (answer.status_code, answer.text)
                assert json_body(answer)["status"] == answer.status_code
                assert_json_headers(answer)
                health = c.get("/health")
                assert (health.status_code, json_body(health)["status"]) == (200, 200)
        finally:
            server.stop()


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/nope",
        "/v3/organisations",
        "/v4",
        "/v4/organisations/TRKREF123",
        "/v4/organisations/TRKREF123/customer_order/1/extra",
        "/v4/organisations/TRKREF123/customer-order",
        "/V4/organisations",
        "/health/deep",
    ],
)
@pytest.mark.parametrize("authenticated", [False, True], ids=["anonymous", "authenticated"])
def test_an_unknown_path_answers_404_not_found(
    client: httpx.Client, tenants: Tenants, path: str, authenticated: bool
) -> None:
    """Unknown paths answer 404 Not found as JSON, with or without credentials, for any method."""
    auth = tenants.main.auth if authenticated else None
    for method in ("GET", "POST"):
        assert_answer(client.request(method, path, auth=auth), 404, NOT_FOUND)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", SUBMIT, "POST"),
        ("PUT", SUBMIT, "POST"),
        ("DELETE", SUBMIT, "POST"),
        ("POST", submission_path(str(uuid.uuid4())), "GET"),
        ("DELETE", submission_path(str(uuid.uuid4())), "GET"),
        ("PATCH", ORGANISATIONS, "GET"),
        ("POST", ORGANISATIONS, "GET"),
        ("POST", "/health", "GET"),
        ("POST", "/ready", "GET"),
        ("PUT", "/openapi.json", "GET"),
    ],
)
def test_a_wrong_method_answers_405_with_an_allow_header(
    client: httpx.Client, tenants: Tenants, method: str, path: str, allowed: str
) -> None:
    """A known path with a method it does not serve: 405 Method not allowed, and Allow names what it serves."""
    answer = client.request(method, path, auth=tenants.main.auth, content=encode(an_order()))
    assert_answer(answer, 405, METHOD_NOT_ALLOWED)
    allow = {m.strip() for m in answer.headers["allow"].split(",")}
    assert allowed in allow
    assert method not in allow


def test_head_answers_as_get_does_without_sending_the_body(client: httpx.Client, tenants: Tenants) -> None:
    """HEAD on any path GET serves: GET's status and length, and not one byte of body on the connection."""
    submission = accepted_id(post_order(client, tenants.main.auth, an_order()), WARNINGS)
    auth = tenants.main.auth
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    for path, authorised in [
        ("/health", False),
        ("/ready", False),
        ("/openapi.json", False),
        (ORGANISATIONS, True),
        (submission_path(submission), True),
        (submission_path(str(uuid.uuid4())), True),
        (ORGANISATIONS, False),
    ]:
        got = client.get(path, auth=auth if authorised else None)
        headers = [("host", "localhost"), ("connection", "close")]
        if authorised:
            headers.append(("authorization", f"Basic {token}"))
        answer = everything_sent(client.base_url.port or 80, request("HEAD", path, headers))
        head, _, rest = answer.partition(b"\r\n\r\n")
        status = int(head.split(b" ")[1])
        fields = dict(line.lower().split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:])
        assert (status, rest) == (got.status_code, b""), (path, answer)
        assert int(fields["content-length"]) == len(got.content), path
        assert fields["content-type"] == got.headers["content-type"], path


def test_a_sent_x_request_id_is_echoed_on_every_answer(client: httpx.Client, tenants: Tenants) -> None:
    """202, 4xx, 404 and 405 alike carry back the caller's X-Request-Id."""
    calls = [
        ("POST", SUBMIT, tenants.main.auth, encode(an_order()), 202),
        ("POST", SUBMIT, None, encode(an_order()), 401),
        ("POST", submit_path("NO-SUCH-ORG"), tenants.main.auth, encode(an_order()), 400),
        ("POST", SUBMIT, tenants.no_permission.auth, encode(an_order()), 403),
        ("POST", SUBMIT, tenants.main.auth, b"{", 400),
        ("POST", SUBMIT, tenants.main.auth, b"{}", 422),
        ("GET", submission_path(str(uuid.uuid4())), tenants.main.auth, None, 404),
        ("GET", ORGANISATIONS, tenants.main.auth, None, 200),
        ("GET", "/nope", None, None, 404),
        ("GET", SUBMIT, None, None, 405),
        ("GET", "/health", None, None, 200),
        ("GET", "/openapi.json", None, None, 200),
    ]
    for method, path, auth, body, status in calls:
        request_id = "e2e-" + secrets.token_hex(8)
        answer = client.request(method, path, auth=auth, content=body, headers={"X-Request-Id": request_id})
        assert (answer.status_code, answer.headers.get("x-request-id")) == (status, request_id), (method, path)
        assert answer.headers["content-type"] == "application/json"


def test_an_x_request_id_is_generated_when_none_is_sent(client: httpx.Client, tenants: Tenants) -> None:
    """Without X-Request-Id, each answer carries a fresh one."""
    first = post_order(client, tenants.main.auth)
    second = client.get("/nope")
    ids = {first.headers.get("x-request-id"), second.headers.get("x-request-id")}
    assert None not in ids
    assert "" not in ids
    assert len(ids) == 2


@pytest.fixture
def openapi(client: httpx.Client) -> dict[str, Any]:
    """The served OpenAPI document."""
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    assert_json_headers(answer)
    document: dict[str, Any] = json_body(answer)
    return document


def test_the_openapi_document_is_openapi_3_1_with_every_single_submission_endpoint(openapi: dict[str, Any]) -> None:
    """Every path of this contract, with its methods, is documented."""
    assert re.fullmatch(r"3\.1\.\d+", openapi["openapi"])
    assert {"title", "version"} <= set(openapi["info"])
    for path, methods in SINGLE_PATHS.items():
        assert path in openapi["paths"], path
        assert methods <= set(openapi["paths"][path]), path


def test_the_openapi_document_describes_each_answer_with_a_schema(openapi: dict[str, Any]) -> None:
    """Each endpoint documents its statuses, each with a JSON schema that resolves."""
    validator = Validator(openapi)
    for (path, method), statuses in DOCUMENTED_ANSWERS.items():
        responses = openapi["paths"][path][method]["responses"]
        assert statuses <= set(responses), (path, method, set(responses))
        for status in statuses:
            schema = validator.resolve(responses[status]["content"]["application/json"]["schema"])
            assert schema.get("type") == "object", (path, method, status)
            assert "status" in schema.get("required", []), (path, method, status)
    submit = openapi["paths"]["/v4/organisations/{trkref}/customer_order"]["post"]["responses"]
    assert "Location" in submit["202"]["headers"]
    assert "WWW-Authenticate" in submit["401"]["headers"]


def test_the_openapi_request_schema_describes_the_customer_order(openapi: dict[str, Any]) -> None:
    """The request body schema names every field of the reference table and the mandatory ones."""
    validator = Validator(openapi)
    post = openapi["paths"]["/v4/organisations/{trkref}/customer_order"]["post"]
    schema = validator.resolve(post["requestBody"]["content"]["application/json"]["schema"])
    assert set(schema["properties"]) >= {
        "trkref",
        "order_ref",
        "order_date",
        "fulfilment_date",
        "language",
        "locale",
        "customer",
        "order_items",
    }
    assert set(schema["required"]) >= {"trkref", "order_ref", "customer", "order_items"}
    customer = validator.resolve(schema["properties"]["customer"])
    assert set(customer["properties"]) >= {
        "email",
        "customer_ref",
        "title",
        "first_name",
        "surname",
        "postcode",
        "country",
    }
    assert "email" in customer["required"]
    items = validator.resolve(schema["properties"]["order_items"])
    item = validator.resolve(items["items"])
    assert set(item["properties"]) >= {"sku", "price", "currency", "metadata"}
    assert "sku" in item["required"]


def test_the_reference_example_conforms_to_the_documented_request_schema(openapi: dict[str, Any]) -> None:
    """The page's own example (with its unknown field) is a valid request by the document's schema."""
    post = openapi["paths"]["/v4/organisations/{trkref}/customer_order"]["post"]
    Validator(openapi).validate(REFERENCE_EXAMPLE, post["requestBody"]["content"]["application/json"]["schema"])


def test_real_answers_conform_to_their_documented_schemas(
    client: httpx.Client, tenants: Tenants, openapi: dict[str, Any]
) -> None:
    """Each status really answered matches the schema the document gives it."""
    validator = Validator(openapi)
    submitted = post_order(client, tenants.main.auth)
    submission_id = accepted_id(submitted, WARNINGS)
    clean = an_order(customer={"email": "a@example.com"})
    real: list[tuple[str, str, httpx.Response]] = [
        ("/v4/organisations/{trkref}/customer_order", "post", submitted),
        ("/v4/organisations/{trkref}/customer_order", "post", post_order(client, tenants.main.auth, clean)),
        ("/v4/organisations/{trkref}/customer_order", "post", post_order(client, None)),
        ("/v4/organisations/{trkref}/customer_order", "post", post_order(client, tenants.main.auth, trkref="NOPE")),
        ("/v4/organisations/{trkref}/customer_order", "post", post_order(client, tenants.no_permission.auth)),
        ("/v4/organisations/{trkref}/customer_order", "post", post_order(client, tenants.main.auth, content=b"{")),
        ("/v4/organisations/{trkref}/customer_order", "post", post_order(client, tenants.main.auth, content=b"{}")),
        ("/v4/organisations/{trkref}/customer_order", "post", post_order(client, tenants.main.auth, [])),
        (
            "/v4/organisations/{trkref}/customer_order",
            "post",
            post_order(client, tenants.main.auth, content=b" " * (1024 * 1024 + 1)),
        ),
        (
            "/v4/organisations/{trkref}/customer_order",
            "post",
            post_order(client, tenants.main.auth, headers={"Idempotency-Key": "k" * 256}),
        ),
        (
            "/v4/organisations/{trkref}/customer_order/{id}",
            "get",
            client.get(submission_path(submission_id), auth=tenants.main.auth),
        ),
        (
            "/v4/organisations/{trkref}/customer_order/{id}",
            "get",
            client.get(submission_path(str(uuid.uuid4())), auth=tenants.main.auth),
        ),
        ("/v4/organisations/{trkref}/customer_order/{id}", "get", client.get(submission_path(submission_id))),
        (
            "/v4/organisations/{trkref}/customer_order/{id}",
            "get",
            client.get(submission_path(submission_id, "DISABLED-ORG"), auth=tenants.main.auth),
        ),
        (
            "/v4/organisations/{trkref}/customer_order/{id}",
            "get",
            client.get(submission_path(submission_id, "OTHER-ORG"), auth=tenants.main.auth),
        ),
        ("/v4/organisations", "get", client.get(ORGANISATIONS, auth=tenants.main.auth)),
        ("/v4/organisations", "get", client.get(ORGANISATIONS)),
        ("/health", "get", client.get("/health")),
        ("/ready", "get", client.get("/ready")),
    ]
    seen, mismatches = set(), []
    for path, method, answer in real:
        status = str(answer.status_code)
        seen.add((path, method, status))
        documented = openapi["paths"][path][method]["responses"]
        assert status in documented, (path, method, status)
        schema = documented[status]["content"]["application/json"]["schema"]
        try:
            validator.validate(json_body(answer), schema)
        except SchemaError as exc:
            mismatches.append(f"{method.upper()} {path} {status}: {exc}")
    assert not mismatches, "\n".join(mismatches)
    assert {(p, m, s) for (p, m), statuses in DOCUMENTED_ANSWERS.items() for s in statuses} - seen == {
        ("/v4/organisations/{trkref}/customer_order", "post", "409"),
    }
