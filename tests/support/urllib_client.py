"""Python's urllib as a client: it sends the whole body before it reads a byte of the answer."""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Heard:
    """The answer urllib read: status, headers (names lower-case) and JSON body."""

    status: int
    headers: dict[str, str]
    body: Any


def post_with_urllib(url: str, body: bytes, authorization: str) -> Heard:
    """POST `body` as JSON with this Authorization; raises as urllib does when no answer is heard."""
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 - the test's own server
    request.add_header("Authorization", authorization)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            return Heard(answer.status, {k.lower(): v for k, v in answer.headers.items()}, json.loads(answer.read()))
    except urllib.error.HTTPError as refused:
        with refused:
            return Heard(refused.code, {k.lower(): v for k, v in refused.headers.items()}, json.loads(refused.read()))
