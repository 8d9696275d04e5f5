"""The default transport, on aiohttp.

One lazily created :class:`aiohttp.ClientSession` with a bounded connection
pool, or a session the caller passes in (which is then never closed by us).
The skeleton (timeouts, exception mapping, the size cap) is shared with the
httpx transport (:mod:`._skeleton`); this module keeps only what is aiohttp's,
and is the only module of the client that imports aiohttp.

Kept-alive connections the server closed (uWSGI closes every one after the
answer): the session we create drops a pooled connection the server closed
before reusing it, and sends a request that failed on a reused connection
before any answer once more, on a new connection, when that cannot have had an
effect (:mod:`._stale` says when, and why that is safe for a POST).

aiohttp itself re-sends an idempotent request once, on a new connection, when
a pooled connection drops under it (RFC 9112 section 9.3.1.1), whether or not
the server may have received it: for a DELETE that turns our own first
delete into "it was already gone". So the session we create refuses aiohttp's
second connection: aiohttp has no public switch for the re-send (its own test
client sets the private ``ClientSession._retry_connection``), but it asks its
connector for the new connection through the public
:meth:`aiohttp.BaseConnector.connect`, and our connector gives aiohttp's send
one connection only; the send again of :mod:`._stale` is ours. A session the
caller passes in keeps aiohttp's behaviour.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ClassVar

import aiohttp

from ._skeleton import BaseTransport, ErrorTable, read_capped
from ._stale import (
    KEEPALIVE_EXPIRY,
    ConnectionWatch,
    SendAgain,
    peer_closed,
    send_once_more_if_stale,
)
from .base import Headers, Request, check_body_size

if TYPE_CHECKING:
    from aiohttp.client_reqrep import ClientRequest
    from aiohttp.connector import Connection
    from aiohttp.tracing import Trace

__all__ = ["AiohttpTransport", "ResendRefused"]

logger = logging.getLogger("sentry_members_async")


class ResendRefused(Exception):
    """aiohttp asked for a second connection for one send, to re-send it: refused."""


class _Send:
    """One send through the session: the connection it got, and how it may get one."""

    __slots__ = ("connected", "fresh", "method", "watch")

    def __init__(self, method: str, *, fresh: bool) -> None:
        self.method = method
        #: only a new connection will do (the send again after a stale one)
        self.fresh = fresh
        self.connected = False
        self.watch: ConnectionWatch | None = None


#: The send the current task is making (one context per task).
_SEND: ContextVar[_Send | None] = ContextVar("sentry_members_async_send", default=None)


class OneConnectionPerSend(aiohttp.TCPConnector):
    """A connector that gives each send one connection, never a dead pooled one.

    A pooled connection the server closed (:func:`._stale.peer_closed`) is
    dropped before it is handed out; so is every pooled one when the send needs
    a new connection. The connection handed out is watched
    (:class:`._stale.ConnectionWatch`) so that the transport can tell, after a
    failure, whether the request may go once more.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: the connections (their protocols) that have carried a request
        self._carried: weakref.WeakSet[object] = weakref.WeakSet()
        #: pooled connections dropped unused because the server had closed them
        self.dropped = 0

    async def connect(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> Connection:
        send = _SEND.get()
        if send is not None:
            if send.connected:
                raise ResendRefused("the connection closed before the answer; not re-sent")
            send.connected = True
        while True:
            conn = await super().connect(req, traces, timeout)
            protocol = conn.protocol
            reused = protocol in self._carried
            transport = conn.transport
            sock = transport.get_extra_info("socket") if transport is not None else None
            # (the watch first: it reads the counters before the check looks)
            watch = ConnectionWatch(send.method, sock, reused=reused) if send is not None else None
            if reused and ((send is not None and send.fresh) or peer_closed(sock)):
                if send is None or not send.fresh:
                    self.dropped += 1
                if watch is not None:
                    watch.close()
                conn.close()  # unused: nothing was sent on it
                continue
            if protocol is not None:
                self._carried.add(protocol)
            if send is not None:
                send.watch = watch
            return conn


#: What aiohttp raises when the connection closed (or was reset) before the answer.
_CLOSED_UNDER_US = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, ResendRefused)


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
                limit=self._limit,
                limit_per_host=self._limit_per_host,
                keepalive_timeout=KEEPALIVE_EXPIRY,
                enable_cleanup_closed=True,
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

    @property
    def stale_dropped(self) -> int:
        connector = self._session.connector if self._session is not None else None
        return connector.dropped if isinstance(connector, OneConnectionPerSend) else 0

    async def exchange(self, request: Request, timeout: float | None) -> tuple[int, Headers, bytes]:
        session = self._get_session()

        def resent() -> None:
            self.stale_resent += 1

        return await send_once_more_if_stale(
            request,
            timeout,
            lambda left, fresh: self._send_once(session, request, left, fresh=fresh),
            resent,
        )

    async def _send_once(
        self,
        session: aiohttp.ClientSession,
        request: Request,
        timeout: float | None,
        *,
        fresh: bool,
    ) -> tuple[int, Headers, bytes]:
        # The session's own timeout serves the common case (no object per request).
        options: dict[str, Any] = (
            {}
            if timeout == self._timeout
            else {"timeout": aiohttp.ClientTimeout(total=timeout, connect=self._connect_timeout)}
        )
        send = _Send(request.method, fresh=fresh)
        token = _SEND.set(send)
        answered = False
        try:
            async with session.request(
                request.method,
                request.url,
                headers=request.headers.to_dict(),
                data=request.body,
                allow_redirects=False,
                **options,
            ) as resp:
                answered = True
                body = await _read(resp, request)
                return resp.status, Headers(resp.headers.items()), body
        except _CLOSED_UNDER_US as exc:
            watch = send.watch
            if not fresh and not answered and watch is not None and watch.may_send_again():
                raise SendAgain from exc
            raise
        finally:
            _SEND.reset(token)
            if send.watch is not None:
                send.watch.close()

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
