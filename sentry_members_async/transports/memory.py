"""An in-process transport: hands each request to an async handler, no sockets.

``MemoryTransport(handler)`` where ``handler`` is ``async (Request) -> Response``.
The emulator's ``emu.transport()`` plugs in here; tests can pass any handler.
A handler may raise :class:`ConnectError`, :class:`ResponseLostError` or
:class:`RequestTimeoutError` to simulate network failures; anything else it
raises goes through unchanged. The skeleton (closed check, timeout, timing)
is the one the socket transports share (:mod:`._skeleton`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import ClassVar

from ._skeleton import BaseTransport, ErrorTable
from ._timeout import timeout as _timeout
from .base import Headers, Request, Response, check_body_size

__all__ = ["Handler", "MemoryTransport"]

Handler = Callable[[Request], Awaitable[Response]]


class MemoryTransport(BaseTransport):
    """Calls ``handler(request)`` for each request; applies the request's timeout.

    The handler runs in the caller's task, so cancelling the caller always
    reaches it (``asyncio.wait_for`` could lose that cancel on Python < 3.12).
    The request's ``max_response_size`` is checked on the body it returns.
    """

    errors: ClassVar[ErrorTable] = (((asyncio.TimeoutError,), "timeout"),)
    library_object: ClassVar[str] = "handler"

    def __init__(self, handler: Handler, *, timeout: float | None = 30.0) -> None:
        super().__init__(owned=True, timeout=timeout, connect_timeout=None)
        self._handler = handler

    def __repr__(self) -> str:
        return f"MemoryTransport(handler={self._handler!r}, closed={self.closed})"

    async def exchange(self, request: Request, timeout: float | None) -> tuple[int, Headers, bytes]:
        # Yield once, as a socket would: a loop over an instant handler must not
        # starve the event loop (and a cancel lands here at the latest).
        await asyncio.sleep(0)
        async with _timeout(timeout):
            response = await self._handler(request)
        check_body_size(request, len(response.body), request.max_response_size)
        return response.status, response.headers, response.body

    async def release(self) -> None:
        return None
