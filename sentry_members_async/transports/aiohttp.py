"""The default transport, on aiohttp.

One lazily created :class:`aiohttp.ClientSession` with a bounded connection
pool, or a session the caller passes in (which is then never closed by us).
The skeleton (timeouts, exception mapping, the size cap) is shared with the
httpx transport (:mod:`._skeleton`); this module keeps only what is aiohttp's,
and is the only module of the client that imports aiohttp.

aiohttp re-sends an idempotent request once, on a new connection, when a
pooled connection drops under it (RFC 9112 section 9.3.1.1). Retries belong
to the client's policy and limiter (counted, paced, logged), so the session we
create refuses that second connection: aiohttp has no public switch for the
re-send (its own test client sets the private ``ClientSession._retry_connection``),
but it asks its connector for the new connection through the public
:meth:`aiohttp.BaseConnector.connect`, and our connector gives each send one
connection only. A session the caller passes in keeps aiohttp's behaviour.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ClassVar

import aiohttp

from ._skeleton import BaseTransport, ErrorTable, read_capped
from .base import Headers, Request, check_body_size

if TYPE_CHECKING:
    from aiohttp.client_reqrep import ClientRequest
    from aiohttp.connector import Connection
    from aiohttp.tracing import Trace

__all__ = ["AiohttpTransport", "ResendRefused"]

#: Whether the current send already has its connection (one context per task).
_CONNECTED: ContextVar[bool] = ContextVar("sentry_members_async_connected", default=False)


class ResendRefused(Exception):
    """aiohttp asked for a second connection for one send, to re-send it: refused."""


class OneConnectionPerSend(aiohttp.TCPConnector):
    """A connector that gives each :meth:`AiohttpTransport.send` one connection, not two."""

    async def connect(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> Connection:
        if _CONNECTED.get():
            raise ResendRefused("the connection closed before the answer; not re-sent")
        _CONNECTED.set(True)
        return await super().connect(req, traces, timeout)


_CONNECTION_TIMEOUT: tuple[type[BaseException], ...] = tuple(
    # aiohttp >= 3.10 tells a connect timeout from a read timeout
    t
    for t in (getattr(aiohttp, "ConnectionTimeoutError", None),)
    if t is not None
)


class AiohttpTransport(BaseTransport):
    """Sends requests with aiohttp.

    :param session: an existing ``aiohttp.ClientSession`` to use; the transport
        never closes it.
    :param limit: maximum open connections in the pool (ignored with ``session``).
    :param limit_per_host: maximum open connections per host.
    :param timeout: default total seconds per request (a request's own
        ``timeout`` wins).
    :param connect_timeout: seconds allowed to get a connection.
    """

    errors: ClassVar[ErrorTable] = (
        (_CONNECTION_TIMEOUT, "connect_timeout"),
        ((aiohttp.ClientConnectorError, aiohttp.InvalidURL), "connect"),
        ((asyncio.TimeoutError, aiohttp.ServerTimeoutError), "timeout"),
        ((aiohttp.ClientError, OSError, ValueError, ResendRefused), "lost"),
    )
    library_object: ClassVar[str] = "session"

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        limit: int = 100,
        limit_per_host: int = 50,
        timeout: float | None = 30.0,
        connect_timeout: float | None = 10.0,
    ) -> None:
        super().__init__(owned=session is None, timeout=timeout, connect_timeout=connect_timeout)
        self._session = session
        self._limit = limit
        self._limit_per_host = limit_per_host

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = OneConnectionPerSend(
                limit=self._limit, limit_per_host=self._limit_per_host, enable_cleanup_closed=True
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self._timeout, connect=self._connect_timeout),
                auto_decompress=True,
                trust_env=False,
                # The client sets its own User-Agent; cookies are never kept.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def exchange(self, request: Request, timeout: float | None) -> tuple[int, Headers, bytes]:
        session = self._get_session()
        # The session's own timeout serves the common case (no object per request).
        options: dict[str, Any] = (
            {}
            if timeout == self._timeout
            else {"timeout": aiohttp.ClientTimeout(total=timeout, connect=self._connect_timeout)}
        )
        _CONNECTED.set(False)
        async with session.request(
            request.method,
            request.url,
            headers=request.headers.to_dict(),
            data=request.body,
            allow_redirects=False,
            **options,
        ) as resp:
            body = await _read(resp, request)
            return resp.status, Headers(resp.headers.items()), body

    async def release(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


async def _read(resp: aiohttp.ClientResponse, request: Request) -> bytes:
    """The (decompressed) body, read no further than ``request.max_response_size``."""
    limit = request.max_response_size
    if limit is None:
        return await resp.read()
    length = resp.content_length
    check_body_size(request, length, limit)
    if length is not None and resp.headers.get("Content-Encoding", "identity") == "identity":
        return await resp.read()  # exactly ``length`` bytes, within the limit
    return await read_capped(resp.content.iter_any(), request)
