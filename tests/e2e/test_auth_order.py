"""The order of checks: 401, then 400 (trkref), then 403, then the body; the first failing check answers."""

import base64
import uuid
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import Tenants
from tests.e2e.exchanges import (
    ACCESS_DENIED,
    INVALID_TRKREF,
    ONE_MIB,
    ORGANISATIONS,
    assert_answer,
    assert_unauthorized,
    basic,
    encode,
    submission_path,
    submit_path,
)
from tests.support.factories import an_order

HUGE = b'{"padding": "' + b"x" * (ONE_MIB + 10) + b'"}'
MALFORMED = b'{"trkref": "TRKREF123", '

# Each way of presenting bad credentials, as the Authorization header it sends (None: no header).
BAD_CREDENTIALS: dict[str, Callable[[Tenants], str | None]] = {
    "missing header": lambda _: None,
    "scheme without credentials": lambda _: "Basic",
    "credentials that are not base64": lambda _: "Basic !!!not-base64!!!",
    "credentials without a colon": lambda t: "Basic " + base64.b64encode(t.main.username.encode()).decode(),
    "credentials that are not UTF-8": lambda _: "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
    "bearer scheme": lambda t: f"Bearer {t.main.password}",
    "unknown key": lambda t: basic("key_0123456789abcdef", t.main.password),
    "empty username": lambda t: basic("", t.main.password),
    "wrong secret": lambda t: basic(t.main.username, "not-the-secret"),
    "empty secret": lambda t: basic(t.main.username, ""),
    "secret of another key": lambda t: basic(t.main.username, t.other.password),
    "secret with a suffix after a second colon": lambda t: basic(t.main.username, t.main.password + ":x"),
    "truncated secret": lambda t: basic(t.main.username, t.main.password[:-1]),
    "revoked key": lambda t: basic(t.revoked.username, t.revoked.password),
}

ENDPOINTS = {
    "submit": ("POST", submit_path(), encode(an_order())),
    "read a submission": ("GET", submission_path(str(uuid.uuid4())), None),
    "list organisations": ("GET", ORGANISATIONS, None),
}


def answer_headers(response: httpx.Response) -> dict[str, str]:
    """The headers that make the answer, without per-request and per-connection ones."""
    ignored = {"x-request-id", "date", "connection", "keep-alive"}
    return {k: v for k, v in response.headers.items() if k not in ignored}


def _call(client: httpx.Client, endpoint: str, authorization: str | None, path: str | None = None) -> httpx.Response:
    method, default_path, body = ENDPOINTS[endpoint]
    headers = {} if authorization is None else {"Authorization": authorization}
    return client.request(method, path or default_path, content=body, headers=headers)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("credentials", BAD_CREDENTIALS)
def test_missing_malformed_or_wrong_credentials_answer_401_with_a_basic_challenge(
    client: httpx.Client, tenants: Tenants, endpoint: str, credentials: str
) -> None:
    """Missing, malformed, unknown, wrong or revoked Basic credentials answer 401 Unauthorized."""
    assert_unauthorized(_call(client, endpoint, BAD_CREDENTIALS[credentials](tenants)))


def test_the_401_does_not_reveal_whether_the_key_exists(client: httpx.Client, tenants: Tenants) -> None:
    """An unknown key and a known key with a wrong secret get byte-identical answers."""
    unknown = _call(client, "submit", basic("key_0123456789abcdef", "guess"))
    wrong = _call(client, "submit", basic(tenants.main.username, "guess"))
    revoked = _call(client, "submit", basic(tenants.revoked.username, tenants.revoked.password))
    for answer in (wrong, revoked):
        assert (answer.status_code, answer.content) == (unknown.status_code, unknown.content)
        assert answer_headers(answer) == answer_headers(unknown)


@pytest.mark.parametrize("endpoint", ["submit", "read a submission"])
@pytest.mark.parametrize("trkref", ["NO-SUCH-ORG", "OTHER-ORG", "trkref123", "TRKREF1234", "TRKREF12"])
def test_an_unknown_trkref_or_one_not_linked_to_the_key_answers_400_invalid_trkref(
    client: httpx.Client, tenants: Tenants, endpoint: str, trkref: str
) -> None:
    """Unknown trkrefs, trkrefs of other tenants and near misses (paths compare exactly) answer 400."""
    path = submit_path(trkref) if endpoint == "submit" else submission_path(str(uuid.uuid4()), trkref)
    assert_answer(_call(client, endpoint, basic(*tenants.main.auth), path), 400, INVALID_TRKREF)


@pytest.mark.parametrize("endpoint", ["submit", "read a submission"])
def test_unknown_trkref_and_another_tenants_trkref_get_identical_answers(
    client: httpx.Client, tenants: Tenants, endpoint: str
) -> None:
    """No caller can tell an existing organisation it is not linked to from one that does not exist."""
    answers = []
    for trkref in ("NO-SUCH-ORG", "OTHER-ORG"):
        path = submit_path(trkref) if endpoint == "submit" else submission_path(str(uuid.uuid4()), trkref)
        answers.append(_call(client, endpoint, basic(*tenants.main.auth), path))
    unknown, other = answers
    assert_answer(unknown, 400, INVALID_TRKREF)
    assert (other.status_code, other.content) == (unknown.status_code, unknown.content)
    assert answer_headers(unknown) == answer_headers(other)


@pytest.mark.parametrize("endpoint", ["submit", "read a submission"])
def test_an_organisation_without_the_feature_answers_403_access_denied(
    client: httpx.Client, tenants: Tenants, endpoint: str
) -> None:
    """A key linked to an organisation whose customer-order feature is off gets 403."""
    path = submit_path("DISABLED-ORG") if endpoint == "submit" else submission_path(str(uuid.uuid4()), "DISABLED-ORG")
    body = encode(an_order(trkref="DISABLED-ORG")) if endpoint == "submit" else None
    method = ENDPOINTS[endpoint][0]
    answer = client.request(method, path, content=body, auth=tenants.main.auth)
    assert_answer(answer, 403, ACCESS_DENIED)


@pytest.mark.parametrize("endpoint", ["submit", "read a submission"])
def test_a_key_without_the_customer_order_permission_answers_403_access_denied(
    client: httpx.Client, tenants: Tenants, endpoint: str
) -> None:
    """A key linked to an enabled organisation but lacking the customer_order permission gets 403."""
    assert_answer(_call(client, endpoint, basic(*tenants.no_permission.auth)), 403, ACCESS_DENIED)


@pytest.mark.parametrize(
    ("trkref", "body"),
    [("TRKREF123", MALFORMED), ("TRKREF123", HUGE), ("NO-SUCH-ORG", MALFORMED), ("DISABLED-ORG", HUGE)],
    ids=["malformed body", "huge body", "unknown trkref", "feature off and huge body"],
)
def test_bad_credentials_win_over_every_later_check(
    client: httpx.Client, tenants: Tenants, trkref: str, body: bytes
) -> None:
    """401 answers first, whatever else is wrong with the request."""
    answer = client.post(submit_path(trkref), content=body, auth=(tenants.main.username, "wrong"))
    assert_unauthorized(answer)


def test_bad_credentials_win_over_an_invalid_idempotency_key(client: httpx.Client) -> None:
    """401 answers before the Idempotency-Key is looked at."""
    answer = client.post(submit_path(), content=encode(an_order()), headers={"Idempotency-Key": "k" * 300})
    assert_unauthorized(answer)


@pytest.mark.parametrize(("trkref", "body"), [("NO-SUCH-ORG", MALFORMED), ("OTHER-ORG", HUGE), ("NO-SUCH-ORG", b"")])
def test_an_invalid_trkref_wins_over_body_checks(
    client: httpx.Client, tenants: Tenants, trkref: str, body: bytes
) -> None:
    """400 Invalid TRKREF answers before 413, malformed JSON and 422."""
    assert_answer(client.post(submit_path(trkref), content=body, auth=tenants.main.auth), 400, INVALID_TRKREF)


def test_an_invalid_trkref_wins_over_an_invalid_idempotency_key(client: httpx.Client, tenants: Tenants) -> None:
    """400 Invalid TRKREF, not 400 Invalid Idempotency-Key, when both are wrong."""
    answer = client.post(
        submit_path("NO-SUCH-ORG"),
        content=encode(an_order()),
        auth=tenants.main.auth,
        headers={"Idempotency-Key": "k" * 300},
    )
    assert_answer(answer, 400, INVALID_TRKREF)


@pytest.mark.parametrize(
    "body",
    [HUGE, MALFORMED, b"", b"[]", encode(an_order(order_ref=""))],
    ids=["huge", "malformed", "empty", "array", "invalid order"],
)
@pytest.mark.parametrize("who", ["feature off", "no permission"])
def test_access_denied_wins_over_body_checks(client: httpx.Client, tenants: Tenants, who: str, body: bytes) -> None:
    """403 answers before 413, malformed JSON and 422."""
    feature_off = who == "feature off"
    trkref = "DISABLED-ORG" if feature_off else "TRKREF123"
    auth = tenants.main.auth if feature_off else tenants.no_permission.auth
    assert_answer(client.post(submit_path(trkref), content=body, auth=auth), 403, ACCESS_DENIED)


def test_access_denied_wins_over_an_invalid_idempotency_key(client: httpx.Client, tenants: Tenants) -> None:
    """403, not 400 Invalid Idempotency-Key, when both apply."""
    answer = client.post(
        submit_path("DISABLED-ORG"),
        content=encode(an_order(trkref="DISABLED-ORG")),
        auth=tenants.main.auth,
        headers={"Idempotency-Key": "k" * 300},
    )
    assert_answer(answer, 403, ACCESS_DENIED)
