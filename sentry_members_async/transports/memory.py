"""An in-process transport: hands each request to an async handler, no sockets.

``MemoryTransport(handler)`` where ``handler`` is ``async (Request) -> Response``.
The emulator's ``emu.transport()`` plugs in here; tests can pass any handler.
A handler may raise :class:`ConnectError`, :class:`ResponseLostError` or
:class:`RequestTimeoutError` to simulate network failures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from ._timeout import timeout as _timeout
from .base import ConnectError, Request, RequestTimeoutError, Response, check_body_size

__all__ = ["Handler", "MemoryTransport"]

Handler = Callable[[Request], Awaitable[Response]]


class MemoryTransport:
    """Calls ``handler(request)`` for each request; applies the request's timeout.

    The handler runs in the caller's task, so cancelling the caller always
    reaches it (``asyncio.wait_for`` could lose that cancel on Python < 3.12).
    The request's ``max_response_size`` is checked on the body it returns.
    """

    def __init__(self, handler: Handler, *, timeout: float | None = 30.0) -> None:
        self._handler = handler
        self._timeout = timeout
        self._closed = False

    def __repr__(self) -> str:
        return f"MemoryTransport(handler={self._handler!r}, closed={self._closed})"

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, request: Request) -> Response:
        if self._closed:
            raise ConnectError("the transport is closed", request=request)
        timeout = request.timeout if request.timeout is not None else self._timeout
        started = time.perf_counter()
        # Yield once, as a socket would: a loop over an instant handler must not
        # starve the event loop (and a cancel lands here at the latest).
        await asyncio.sleep(0)
        try:
            async with _timeout(timeout):
                response = await self._handler(request)
        except RequestTimeoutError:
            raise
        except asyncio.TimeoutError as exc:
            raise RequestTimeoutError(f"no answer within {timeout:g} s", request=request) from exc
        check_body_size(request, len(response.body), request.max_response_size)
        # (a constructor call, not attrs.evolve: this runs once per request)
        return Response(
            response.status,
            response.headers,
            response.body,
            request,
            time.perf_counter() - started,
            response.attempts,
        )

    async def aclose(self) -> None:
        self._closed = True
