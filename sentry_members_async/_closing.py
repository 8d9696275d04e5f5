"""``async with thing:`` for the SDK's closeable objects, written once.

The client, a paginator and a watcher each hold something to release (a
transport, fetches in flight, a poll); each says how in ``aclose()``, and this
base gives them the ``async with`` that calls it.
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import TypeVar

__all__ = ["AsyncClosing"]

_Self = TypeVar("_Self", bound="AsyncClosing")


class AsyncClosing(abc.ABC):
    """``async with x:`` yields ``x`` and awaits ``x.aclose()`` on the way out."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release what the object holds (each subclass says what). Idempotent."""

    async def __aenter__(self: _Self) -> _Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
