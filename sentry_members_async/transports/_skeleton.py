"""The skeleton every transport of the package shares (aiohttp, httpx, memory).

:class:`BaseTransport` does what does not depend on the library: refuse to
send once closed, pick the request's timeout, time the exchange, let a
cancellation through, and map the library's exceptions to the SDK's typed
transport failures through the subclass's :attr:`~BaseTransport.errors`
table (first match wins; an exception the table does not name goes through
unchanged). :func:`read_capped` reads a body no further than the request's
``max_response_size``. A subclass keeps only the exchange itself
(:meth:`~BaseTransport.exchange`) and the closing of what it created.
"""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import AsyncIterable
from typing import ClassVar, Literal, TypeAlias

from ..errors import SentryError
from .base import (
    ConnectError,
    Headers,
    Request,
    RequestTimeoutError,
    Response,
    ResponseLostError,
    TransportError,
    check_body_size,
)

__all__ = ["ErrorTable", "Failure", "BaseTransport", "map_error", "read_capped"]

#: What a library exception says about the exchange:
#: ``connect_timeout`` (no connection in time: surely not sent), ``connect`` (no
#: connection: surely not sent), ``timeout`` (no whole answer in time), ``lost``
#: (sent, the answer did not come back whole).
Failure: TypeAlias = Literal["connect_timeout", "connect", "timeout", "lost"]
ErrorTable: TypeAlias = tuple[tuple[tuple[type[BaseException], ...], Failure], ...]


def map_error(
    exc: Exception, table: ErrorTable, request: Request, timeout: float | None
) -> TransportError | None:
    """The typed failure for ``exc`` by the first row of ``table`` naming it, else ``None``."""
    failure = next((failure for types, failure in table if isinstance(exc, types)), None)
    if failure is None:
        return None
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if failure == "connect_timeout":
        return RequestTimeoutError(
            f"no connection within the timeout ({text})",
            request=request,
            may_have_reached_server=False,
        )
    if failure == "connect":
        return ConnectError(f"could not connect ({text})", request=request)
    if failure == "timeout":
        return RequestTimeoutError(f"no complete answer within {timeout} s", request=request)
    # Disconnects, payload errors, resets, malformed answers: the request went
    # out, the answer did not come back whole.
    return ResponseLostError(f"the answer was lost ({text})", request=request)


async def read_capped(chunks: AsyncIterable[bytes], request: Request) -> bytes:
    """The body from ``chunks``, read no further than ``request.max_response_size``.

    Past the limit reading stops with ``ResponseTooLargeError`` (leaving the
    response then closes its connection).
    """
    limit = request.max_response_size
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        check_body_size(request, size, limit)
        parts.append(chunk)
    return b"".join(parts)


class BaseTransport(abc.ABC):
    """The shared skeleton of a transport on a library (or, in memory, a handler).

    :param owned: whether the transport created the library's client or
        session (and so closes it).
    :param timeout: default total seconds per request (a request's own wins).
    :param connect_timeout: seconds allowed to get a connection.
    """

    #: The library's exceptions, in the order they are tried, and what each says.
    errors: ClassVar[ErrorTable]
    #: What the library's object is called in the ``repr`` ("session", "client").
    library_object: ClassVar[str]

    def __init__(
        self, *, owned: bool, timeout: float | None, connect_timeout: float | None
    ) -> None:
        self._owned = owned
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._closed = False
        #: Requests sent once more, on a new connection, because the kept-alive
        #: connection they went on had been closed by the server before it
        #: received them (:mod:`._stale`); never counted as retries.
        self.stale_resent = 0

    def __repr__(self) -> str:
        owner = "own" if self._owned else "caller's"
        return f"{type(self).__name__}({owner} {self.library_object}, closed={self._closed})"

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def stale_dropped(self) -> int:
        """Pooled connections dropped unused because the server had closed them."""
        return 0

    async def send(self, request: Request) -> Response:
        if self._closed:
            raise ConnectError("the transport is closed", request=request)
        total = request.timeout if request.timeout is not None else self._timeout
        started = time.perf_counter()
        try:
            status, headers, body = await self.exchange(request, total)
        except (asyncio.CancelledError, SentryError):
            raise
        except Exception as exc:
            failure = map_error(exc, self.errors, request, total)
            if failure is None:
                raise
            raise failure from exc
        return Response(status, headers, body, request, time.perf_counter() - started)

    async def aclose(self) -> None:
        self._closed = True
        if self._owned:
            await self.release()

    @abc.abstractmethod
    async def exchange(self, request: Request, timeout: float | None) -> tuple[int, Headers, bytes]:
        """Send ``request`` with the library; the status, headers and whole body.

        Raises the library's exceptions (mapped by :attr:`errors`) or a
        ``ResponseTooLargeError``; never follows redirects.
        """

    @abc.abstractmethod
    async def release(self) -> None:
        """Close the library object the transport created (called once, on close)."""
