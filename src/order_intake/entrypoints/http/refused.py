"""Refused, PageRefused: a check that stops a request raises one with the answer to send; the app sends it.

Kept out of the compiled modules (setup.py): an exception class is plain Python's business.
"""

from order_intake.entrypoints.http.exchange import Headers


class Refused(Exception):  # noqa: N818 - named for what happened to the request
    """The request is answered here: `status`, the answer value (domain.answers) and extra headers."""

    def __init__(self, status: int, answer: object, headers: Headers | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.answer = answer
        self.headers = headers


# The customer's pages answer in HTML, errors included.
HTML = "text/html; charset=utf-8"


class PageRefused(Exception):  # noqa: N818 - named for what happened to the request
    """A customer's page is answered here with an HTML page: `status`, the page's bytes and its headers."""

    def __init__(self, status: int, body: bytes, headers: Headers) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers
