"""Administrators' changes seen by callers, and the access log: one JSON line per request, nothing personal."""

import base64
import json
import secrets
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Tenants
from tests.e2e.exchanges import (
    ACCESS_DENIED,
    ORGANISATIONS,
    TRKREF,
    accepted_id,
    assert_answer,
    assert_unauthorized,
    basic,
    post_order,
    submission_path,
    submit_path,
    unique_ref,
)
from tests.support.cli import Credentials, cli_ok, create_key
from tests.support.factories import an_order
from tests.support.polling import wait_until
from tests.support.server import Server

WARNINGS = ["unknown field customer.cutomer_ref"]
REVOCATION_WINDOW = 5.0


def an_enabled_organisation(db_url: str) -> tuple[str, Credentials]:
    """A fresh organisation with the feature on, and a key for it."""
    trkref = unique_ref("ADM")
    cli_ok(db_url, "org", "add", trkref, "--name", "Admin Test Shop")
    cli_ok(db_url, "org", "enable", trkref)
    return trkref, create_key(db_url, "--trkref", trkref)


def test_a_new_organisation_has_the_feature_off_until_an_administrator_enables_it(
    client: httpx.Client, db_url: str
) -> None:
    """`org add` leaves customer orders off (403); `org enable` turns them on (202)."""
    trkref = unique_ref("NEW")
    cli_ok(db_url, "org", "add", trkref, "--name", "Brand New Shop")
    key = create_key(db_url, "--trkref", trkref)
    order = an_order(trkref=trkref)
    assert_answer(post_order(client, key.auth, order, trkref=trkref), 403, ACCESS_DENIED)
    cli_ok(db_url, "org", "enable", trkref)
    accepted_id(post_order(client, key.auth, order, trkref=trkref), WARNINGS)


def test_disabling_an_organisation_answers_403_until_it_is_enabled_again(client: httpx.Client, db_url: str) -> None:
    """`org disable` takes effect on the next request (auth cache off), `org enable` restores 202."""
    trkref, key = an_enabled_organisation(db_url)
    order = an_order(trkref=trkref)
    accepted_id(post_order(client, key.auth, order, trkref=trkref), WARNINGS)
    cli_ok(db_url, "org", "disable", trkref)
    try:
        assert_answer(post_order(client, key.auth, order, trkref=trkref), 403, ACCESS_DENIED)
    finally:
        cli_ok(db_url, "org", "enable", trkref)
    accepted_id(post_order(client, key.auth, order, trkref=trkref), WARNINGS)


def test_a_revoked_key_answers_401_on_the_next_request(client: httpx.Client, db_url: str) -> None:
    """`key revoke` takes effect at once on a server with the auth cache off, on every endpoint."""
    key = create_key(db_url, "--trkref", "TRKREF123")
    submission_id = accepted_id(post_order(client, key.auth), WARNINGS)
    cli_ok(db_url, "key", "revoke", key.username)
    assert_unauthorized(post_order(client, key.auth))
    assert_unauthorized(client.get(submission_path(submission_id), auth=key.auth))
    assert_unauthorized(client.get(ORGANISATIONS, auth=key.auth))


def test_revocation_takes_effect_within_5_seconds_with_the_default_auth_cache(
    db_url: str, tenants: Tenants, run_dir: Path
) -> None:
    """A server with the default auth cache refuses a revoked (and just-cached) key within 5 seconds."""
    del tenants  # the organisations must exist
    key = create_key(db_url, "--trkref", "TRKREF123")
    server = Server(db_url, run_dir / f"cache-{secrets.token_hex(3)}.log").start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as c:
            assert c.get(ORGANISATIONS, auth=key.auth).status_code == 200  # now cached
            accepted_id(post_order(c, key.auth), WARNINGS)
            cli_ok(db_url, "key", "revoke", key.username)
            deadline = time.monotonic() + REVOCATION_WINDOW

            def refused() -> httpx.Response | None:
                answer = post_order(c, key.auth)
                return answer if answer.status_code == 401 else None

            answer = wait_until(refused, deadline=deadline)
            assert answer is not None, "the revoked key was still accepted 5 seconds after revocation"
            assert_unauthorized(answer)
            assert_unauthorized(c.get(ORGANISATIONS, auth=key.auth))
    finally:
        server.stop()


def test_with_the_auth_cache_on_a_key_that_just_passed_still_refuses_a_wrong_secret(
    db_url: str, tenants: Tenants, run_dir: Path
) -> None:
    """The cache remembers credentials that passed, not the key: any other secret for it is refused."""
    del tenants  # the organisations must exist
    key = create_key(db_url, "--trkref", "TRKREF123")
    other = create_key(db_url, "--trkref", "TRKREF123")
    server = Server(db_url, run_dir / f"cache-{secrets.token_hex(3)}.log").start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as c:
            accepted_id(post_order(c, key.auth), WARNINGS)
            accepted_id(post_order(c, key.auth), WARNINGS)  # now remembered
            for secret in ("", key.password[:-1], key.password + "x", key.password + ":x", other.password):
                assert_unauthorized(post_order(c, (key.username, secret)))
            accepted_id(post_order(c, key.auth), WARNINGS)
            accepted_id(post_order(c, other.auth), WARNINGS)
    finally:
        server.stop()


def _request_lines(log: str, request_ids: set[str]) -> list[dict[str, Any]] | None:
    lines = []
    for raw in log.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict) and line.get("request_id") in request_ids and "status" in line:
            lines.append(line)
    return lines if {line["request_id"] for line in lines} == request_ids else None


def test_each_request_is_logged_as_one_json_line_without_personal_data_or_secrets(
    client: httpx.Client, server: Server, tenants: Tenants
) -> None:
    """method, route, status, latency_ms, request_id, trkref per request; never an email, header or password.

    The route is the endpoint's template: a path's parameters may be e-mail addresses, so no path is logged.
    """
    email = f"private.person.{secrets.token_hex(4)}@example.com"
    wrong_secret = "wrong-" + secrets.token_hex(8)
    marker = secrets.token_hex(4)
    order = an_order(customer={"email": email, "first_name": f"Name{marker}", "postcode": f"PC{marker}"})
    sent = {
        "accepted": ("POST", submit_path(), tenants.main.auth, order, 202, "TRKREF123"),
        "rejected": (
            "POST",
            submit_path(),
            tenants.main.auth,
            an_order(customer={"email": email + " x"}),
            422,
            "TRKREF123",
        ),
        "wrong secret": ("POST", submit_path(), (tenants.main.username, wrong_secret), order, 401, "TRKREF123"),
        "unknown trkref": ("POST", submit_path("NO-SUCH-ORG"), tenants.main.auth, order, 400, "NO-SUCH-ORG"),
        "list": ("GET", ORGANISATIONS, tenants.main.auth, None, 200, None),
        "not found": ("GET", "/nope", None, None, 404, None),
        "e-mail in the path": ("GET", f"/v4/organisations/TRKREF123/customer_orders/{email}", None, None, 401, TRKREF),
        "e-mail as trkref": ("GET", f"/v4/organisations/{email}/customer_orders/1", tenants.main.auth, None, 400, None),
    }
    routes = {
        "accepted": "/v4/organisations/{trkref}/customer_order",
        "rejected": "/v4/organisations/{trkref}/customer_order",
        "wrong secret": "/v4/organisations/{trkref}/customer_order",
        "unknown trkref": "/v4/organisations/{trkref}/customer_order",
        "list": "/v4/organisations",
        "not found": "other",
        "e-mail in the path": "/v4/organisations/{trkref}/customer_orders/{order_ref}",
        "e-mail as trkref": "/v4/organisations/{trkref}/customer_orders/{order_ref}",
    }
    ids = {name: f"log-{name.replace(' ', '-')}-{secrets.token_hex(6)}" for name in sent}
    for name, (method, path, auth, body, status, _) in sent.items():
        answer = client.request(
            method,
            path,
            auth=auth,
            json=body,
            headers={"X-Request-Id": ids[name]},
        )
        assert answer.status_code == status, (name, answer.text)

    lines = wait_until(lambda: _request_lines(server.log(), set(ids.values())), deadline=time.monotonic() + 5)
    assert lines is not None, "not every request was logged within 5 seconds"
    assert len(lines) == len(sent), lines
    by_id = {line["request_id"]: line for line in lines}
    for name, (method, _, _, _, status, trkref) in sent.items():
        line = by_id[ids[name]]
        assert "path" not in line
        logged = (line["method"], line["route"], line["status"], line.get("trkref"))
        assert logged == (method, routes[name], status, trkref)
        assert isinstance(line["latency_ms"], int | float)
        assert line["latency_ms"] >= 0

    log = server.log()
    main = tenants.main
    for secret in (
        email,
        email.split("@", maxsplit=1)[0],
        f"Name{marker}",
        f"PC{marker}",
        wrong_secret,
        main.password,
        basic(*main.auth),
        base64.b64encode(f"{main.username}:{main.password}".encode()).decode(),
    ):
        assert secret not in log, f"{secret!r} appears in the server log"
