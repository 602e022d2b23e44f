"""What granian hands the app over RSGI, as much as the app uses (only exchange.py reads it)."""

from typing import Protocol

__all__ = ["RequestHeaders", "RsgiProtocol", "Scope"]


class RequestHeaders(Protocol):
    """The request headers as granian gives them (names lower-case)."""

    def get(self, key: str, default: str | None = None) -> str | None: ...  # noqa: D102

    def get_all(self, key: str) -> list[str]: ...  # noqa: D102

    def __contains__(self, key: str) -> bool: ...


class Scope(Protocol):
    """The parts of an RSGI scope the app reads."""

    @property
    def method(self) -> str: ...  # noqa: D102

    @property
    def path(self) -> str: ...  # noqa: D102

    @property
    def http_version(self) -> str: ...  # noqa: D102

    @property
    def headers(self) -> RequestHeaders: ...  # noqa: D102

    @property
    def query_string(self) -> str: ...  # noqa: D102


class RsgiProtocol(Protocol):
    """The RSGI HTTP protocol object: the body in, the answer out."""

    async def __call__(self) -> bytes: ...  # noqa: D102

    def __aiter__(self) -> "RsgiProtocol": ...

    async def __anext__(self) -> bytes: ...

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None: ...  # noqa: D102
