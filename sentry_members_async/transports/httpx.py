"""A transport on httpx (extra ``httpx``), for services that already run it.

``HttpxTransport(client)`` uses a caller's ``httpx.AsyncClient`` (never closed
by us); without one it creates its own. The skeleton (timeouts, exception
mapping, the size cap) is shared with the aiohttp transport (:mod:`._skeleton`);
this module keeps only what is httpx's.

Kept-alive connections the server closed (:mod:`._stale`): httpcore drops a
pooled connection the server closed before reusing it; a request that failed
on a reused connection before any answer goes once more, on a new connection,
when that cannot have had an effect. The client we create watches its
connections through a network backend of its own (httpcore's public
``network_backend``), so a POST is sent again only with the proof that the
server never received it; with a caller's client only a safe request (GET) is,
its reuse read from httpcore's ``trace`` events.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from contextvars import ContextVar
from typing import Any, ClassVar

import httpcore
import httpx

from ._skeleton import BaseTransport, ErrorTable, read_capped
from ._stale import (
    KEEPALIVE_EXPIRY,
    SAFE_METHODS,
    ConnectionWatch,
    SendAgain,
    peer_closed,
    send_once_more_if_stale,
)
from ._timeout import timeout as _timeout
from .base import Headers, Request, check_body_size

__all__ = ["HttpxTransport"]

logger = logging.getLogger("sentry_members_async")

#: What httpx raises when the connection closed (or was reset) before the answer.
_CLOSED_UNDER_US = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class _Send:
    """One send: the connection (stream) it went on, and what that one had carried."""

    __slots__ = ("fresh", "method", "received", "reused", "stream", "unsent", "watch")

    def __init__(self, method: str, *, fresh: bool = False) -> None:
        self.method = method
        #: only a connection no request went on will do (the send again after a stale one)
        self.fresh = fresh
        self.stream: _Stream | None = None
        self.reused = False
        self.received = 0  # the stream's bytes read before this send
        #: the server had closed the connection before a byte was written: nothing went
        self.unsent = False
        self.watch: ConnectionWatch | None = None

    def attach(self, stream: _Stream) -> None:
        self.close()  # (a send moved to another connection before writing a byte)
        self.stream = stream
        self.reused = stream.requests > 0
        stream.requests += 1
        self.received = stream.received
        self.watch = ConnectionWatch(
            self.method, stream.get_extra_info("socket"), reused=self.reused
        )

    def close(self) -> None:
        if self.watch is not None:
            self.watch.close()


#: The send the current task is making (httpcore writes in the sending task).
_SEND: ContextVar[_Send | None] = ContextVar("sentry_members_async_httpx_send", default=None)


class _Stream(httpcore.AsyncNetworkStream):
    """A connection's stream that counts the requests it carried and the bytes it read."""

    def __init__(self, inner: httpcore.AsyncNetworkStream, backend: _Backend) -> None:
        self._inner = inner
        self._backend = backend
        self.requests = 0
        self.received = 0
        #: to be closed by the pool instead of reused (see _Backend.retire)
        self.retired = False
        backend.streams.add(self)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = await self._inner.read(max_bytes, timeout)
        self.received += len(data)
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        send = _SEND.get()
        if send is not None and send.stream is not self:
            # The first bytes of this send: the pool picked this connection.
            if send.fresh and self.requests > 0:
                # The send again wants a new connection; this one carried a request
                # (opened by another task since retire(): as likely to be closing as
                # the first). Nothing written: the pool closes it and picks another,
                # or opens one.
                raise httpcore.ConnectionNotAvailable()
            # A close that arrived after httpcore's own check is seen here, or
            # counted by the watch (made first), before anything is written.
            send.attach(self)
            if send.reused and peer_closed(self.get_extra_info("socket")):
                send.unsent = True
                self._backend.dropped += 1
                raise httpcore.WriteError("the server closed the connection before the request")
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        inner = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        return _Stream(inner, self._backend)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # httpcore asks this of an idle connection before reusing it.
            readable = self.retired or bool(self._inner.get_extra_info(info))
            if readable and not self.retired:
                self._backend.dropped += 1
            return readable
        return self._inner.get_extra_info(info)


class _Backend(httpcore.AsyncNetworkBackend):
    """httpcore's AnyIO backend, with every connection's stream watched."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()
        self.streams: weakref.WeakSet[_Stream] = weakref.WeakSet()
        #: idle connections dropped unused because the server had closed them
        self.dropped = 0

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        inner = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(inner, self)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover - the client never uses one
        return await self._inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:  # pragma: no cover - retries=0
        await self._inner.sleep(seconds)

    def retire(self) -> None:
        """Let no connection open now be reused: the send again wants a new one.

        (A connection opened after this by another task is refused to the send
        again when it first writes: see :meth:`_Stream.write`.)"""
        for stream in self.streams:
            stream.retired = True


class _Trace:
    """httpcore's ``trace`` events of one send: whether it reused a connection, and
    whether the answer's head came (for a caller's client, whose streams we do not see)."""

    __slots__ = ("connected", "head", "sending")

    def __init__(self) -> None:
        self.connected = self.sending = self.head = False

    async def __call__(self, name: str, info: dict[str, Any]) -> None:
        if name.startswith("connection.connect_tcp."):
            self.connected = True
        elif name == "http11.send_request_headers.started":
            self.sending = True
        elif name == "http11.receive_response_headers.complete":
            self.head = True


class HttpxTransport(BaseTransport):
    """Sends requests with ``httpx.AsyncClient``.

    :param client: an existing client to use; the transport never closes it.
    :param timeout: default total seconds per request (a request's own wins).
    :param max_connections: pool size when the transport creates its client.
    """

    errors: ClassVar[ErrorTable] = (
        ((httpx.ConnectTimeout, httpx.PoolTimeout), "connect_timeout"),
        ((httpx.TimeoutException, asyncio.TimeoutError), "timeout"),
        ((httpx.ConnectError, httpx.UnsupportedProtocol, httpx.InvalidURL), "connect"),
        ((httpx.HTTPError, OSError, ValueError), "lost"),
    )
    library_object: ClassVar[str] = "client"

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        timeout: float | None = 30.0,
        connect_timeout: float | None = 10.0,
        max_connections: int = 100,
    ) -> None:
        super().__init__(owned=client is None, timeout=timeout, connect_timeout=connect_timeout)
        self._client = client
        self._max_connections = max_connections
        self._backend: _Backend | None = None

    @property
    def stale_dropped(self) -> int:
        return self._backend.dropped if self._backend is not None else 0

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._backend = _Backend()
            self._client = httpx.AsyncClient(
                transport=_watched_transport(self._max_connections, self._backend),
                follow_redirects=False,
                trust_env=False,
            )
        return self._client

    async def exchange(self, request: Request, timeout: float | None) -> tuple[int, Headers, bytes]:
        client = self._get_client()
        # A cancellation point even when httpx never suspends (a mock transport).
        await asyncio.sleep(0)

        def resent() -> None:
            self.stale_resent += 1
            if self._backend is not None:
                self._backend.retire()

        return await send_once_more_if_stale(
            request,
            timeout,
            lambda left, fresh: self._send_once(client, request, left, fresh=fresh),
            resent,
        )

    async def _send_once(
        self, client: httpx.AsyncClient, request: Request, timeout: float | None, *, fresh: bool
    ) -> tuple[int, Headers, bytes]:
        send = _Send(request.method, fresh=fresh and self._backend is not None)
        token = _SEND.set(send)
        trace = None if self._backend is not None else _Trace()
        try:
            # asyncio.wait_for could lose a cancel on Python < 3.12: see _timeout.
            async with _timeout(timeout):
                try:
                    answer = await client.send(
                        client.build_request(
                            request.method,
                            str(request.url),
                            headers=list(request.headers.items()),
                            content=request.body,
                            timeout=httpx.Timeout(timeout, connect=self._connect_timeout),
                            extensions={} if trace is None else {"trace": trace},
                        ),
                        stream=True,
                        follow_redirects=False,
                    )
                except _CLOSED_UNDER_US as exc:
                    if not fresh and _may_send_again(send, trace):
                        raise SendAgain from exc
                    raise
                try:
                    if send.unsent and not fresh:
                        # what the server sent before it closed (a 408?) answers no request of ours
                        raise SendAgain
                    body = await _read(answer, request)
                finally:
                    await answer.aclose()
            return answer.status_code, Headers(answer.headers.multi_items()), body
        finally:
            _SEND.reset(token)
            send.close()

    async def release(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


def _may_send_again(send: _Send, trace: _Trace | None) -> bool:
    """After a failure before the answer: whether the request goes once more (:mod:`._stale`)."""
    if trace is not None:  # a caller's client: its reuse from the trace, safe requests only
        return (
            trace.sending and not trace.connected and not trace.head and send.method in SAFE_METHODS
        )
    stream, watch = send.stream, send.watch
    if stream is None or watch is None or not send.reused:
        return False
    if send.unsent:
        return True  # nothing was written
    if stream.received != send.received:
        return False  # a byte of an answer came: the server saw the request
    return watch.may_send_again()


def _watched_transport(max_connections: int, backend: _Backend) -> httpx.AsyncHTTPTransport:
    """httpx's transport on a pool whose connections ``backend`` watches.

    httpx's ``AsyncHTTPTransport`` takes no network backend, so its pool (the
    ``_pool`` it sends through, in every httpx since 0.18) is replaced by the
    same httpcore pool with ``network_backend``; tests/test_transport_httpx.py
    fails if httpx stops sending through ``_pool``.
    """
    transport = httpx.AsyncHTTPTransport(
        trust_env=False,
        limits=httpx.Limits(max_connections=max_connections, keepalive_expiry=KEEPALIVE_EXPIRY),
    )
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=max_connections,
        keepalive_expiry=KEEPALIVE_EXPIRY,
        network_backend=backend,
    )
    return transport


async def _read(answer: httpx.Response, request: Request) -> bytes:
    """The (decoded) body, read no further than ``request.max_response_size``."""
    limit = request.max_response_size
    if limit is None:
        return await answer.aread()
    length = answer.headers.get("Content-Length")
    if length is not None and length.isascii() and length.isdigit():
        check_body_size(request, int(length), limit)
    return await read_capped(answer.aiter_bytes(), request)
