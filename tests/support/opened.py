"""A store opened for one scenario: the integration tests' way to run async code on a real store."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar


class Opening(Protocol):
    """A store with connections to open and close."""

    async def open(self) -> None: ...  # noqa: D102

    async def close(self) -> None: ...  # noqa: D102


S = TypeVar("S", bound=Opening)
T = TypeVar("T")


def run_opened(store: S, scenario: Callable[[S], Awaitable[T]]) -> T:
    """Open the store, run the scenario on it and close it again; what the scenario returned."""

    async def main() -> T:
        await store.open()
        try:
            return await scenario(store)
        finally:
            await store.close()

    return asyncio.run(main())
