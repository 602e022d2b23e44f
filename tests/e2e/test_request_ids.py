"""One request id ties an answer, its access-log line and the stored submission together."""

import json
import secrets
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import Tenants
from tests.e2e.exchanges import _query_one, json_body, post_order
from tests.support.factories import an_order
from tests.support.polling import wait_until
from tests.support.server import Server


def _logged(server: Server, request_id: str) -> dict[str, Any] | None:
    """The access-log line of this request id, once written."""
    for raw in server.log().splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict) and line.get("request_id") == request_id and "status" in line:
            return line
    return None


def _stored_request_id(db_url: str, submission_id: str) -> Any:
    return _query_one(db_url, "SELECT request_id FROM submissions WHERE id = ?", uuid.UUID(submission_id))


@pytest.mark.parametrize("sent", [True, False], ids=["caller-sent", "generated"])
def test_the_request_id_of_the_answer_is_in_the_access_log_and_stored_with_the_submission(
    client: httpx.Client, server: Server, tenants: Tenants, db_url: str, sent: bool
) -> None:
    """X-Request-Id (the caller's, or a generated one) is the same in the answer, the log line and the row."""
    headers = {"X-Request-Id": f"trace-{secrets.token_hex(8)}"} if sent else None
    answer = post_order(client, tenants.main.auth, an_order(), headers=headers)
    assert answer.status_code == 202, answer.text
    request_id = answer.headers["x-request-id"]
    if headers is not None:
        assert request_id == headers["X-Request-Id"]
    line = wait_until(lambda: _logged(server, request_id), deadline=time.monotonic() + 5)
    assert line is not None, "the request was not logged within 5 seconds"
    assert (line["status"], line["method"]) == (202, "POST")
    stored = _stored_request_id(db_url, json_body(answer)["id"])
    assert stored == request_id == line["request_id"]
