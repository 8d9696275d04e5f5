"""A timeout that never swallows a cancellation.

``asyncio.wait_for`` on Python 3.10 and 3.11 drops a ``cancel()`` that arrives
as the inner call finishes (CPython gh-86296): a task looping on a fast handler
could ignore every cancel. ``asyncio.timeout`` (3.11+) runs the call in the
caller's own task and tells its own cancellation from the caller's; on 3.10
the ``async-timeout`` package (a dependency of aiohttp there) does the same.
Both raise ``asyncio.TimeoutError`` when the time is up.
"""

from __future__ import annotations

import sys
from contextlib import AbstractAsyncContextManager

__all__ = ["timeout"]

if sys.version_info >= (3, 11):
    from asyncio import timeout as _timeout
else:  # pragma: no cover - exercised on Python 3.10 only
    from async_timeout import (  # type: ignore[import-not-found, unused-ignore]
        timeout as _timeout,
    )


def timeout(seconds: float | None) -> AbstractAsyncContextManager[object]:
    """A context manager raising ``asyncio.TimeoutError`` after ``seconds`` (``None``: never)."""
    manager: AbstractAsyncContextManager[object] = _timeout(seconds)
    return manager
