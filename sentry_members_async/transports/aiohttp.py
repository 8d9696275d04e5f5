"""The default transport, on aiohttp.

One lazily created :class:`aiohttp.ClientSession` with a bounded connection
pool, or a session the caller passes in (which is then never closed by us).
Every aiohttp exception is mapped to the SDK's typed transport failures. This
is the only module of the client that imports aiohttp.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from ..errors import ResponseTooLargeError, SentryError
from .base import (
    ConnectError,
    Headers,
    Request,
    RequestTimeoutError,
    Response,
    ResponseLostError,
)

__all__ = ["AiohttpTransport"]


class AiohttpTransport:
    """Sends requests with aiohttp.

    :param session: an existing ``aiohttp.ClientSession`` to use; the transport
        never closes it.
    :param limit: maximum open connections in the pool (ignored with ``session``).
    :param limit_per_host: maximum open connections per host.
    :param timeout: default total seconds per request (a request's own
        ``timeout`` wins).
    :param connect_timeout: seconds allowed to get a connection.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        limit: int = 100,
        limit_per_host: int = 50,
        timeout: float | None = 30.0,
        connect_timeout: float | None = 10.0,
    ) -> None:
        self._session = session
        self._owns_session = session is None
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._closed = False

    def __repr__(self) -> str:
        owner = "own" if self._owns_session else "caller's"
        return f"AiohttpTransport({owner} session, closed={self._closed})"

    @property
    def closed(self) -> bool:
        return self._closed

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
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
            if hasattr(self._session, "_retry_connection"):
                # aiohttp silently re-sends an idempotent request once when a pooled
                # connection drops; retries belong to the client's policy and limiter.
                self._session._retry_connection = False
        return self._session

    async def send(self, request: Request) -> Response:
        if self._closed:
            raise ConnectError("the transport is closed", request=request)
        session = self._get_session()
        total = request.timeout if request.timeout is not None else self._timeout
        # The session's own timeout serves the common case (no object per request).
        options: dict[str, Any] = (
            {}
            if total == self._timeout
            else {"timeout": aiohttp.ClientTimeout(total=total, connect=self._connect_timeout)}
        )
        started = time.perf_counter()
        try:
            async with session.request(
                request.method,
                request.url,
                headers=request.headers.to_dict(),
                data=request.body,
                allow_redirects=False,
                **options,
            ) as resp:
                body = await _read(resp, request)
                headers = Headers(resp.headers.items())
                status = resp.status
        except asyncio.CancelledError:
            raise
        except SentryError:
            raise
        except BaseException as exc:
            raise _map_exception(exc, request, total) from exc
        return Response(
            status=status,
            headers=headers,
            body=body,
            request=request,
            elapsed=time.perf_counter() - started,
        )

    async def aclose(self) -> None:
        self._closed = True
        if self._owns_session and self._session is not None:
            session, self._session = self._session, None
            await session.close()


async def _read(resp: aiohttp.ClientResponse, request: Request) -> bytes:
    """The (decompressed) body, read no further than ``request.max_response_size``.

    Past the limit reading stops; leaving the response closes the connection.
    """
    limit = request.max_response_size
    if limit is None:
        return await resp.read()
    length = resp.content_length
    if length is not None and length > limit:
        raise ResponseTooLargeError(limit, method=request.method, path=request.url.path)
    if length is not None and resp.headers.get("Content-Encoding", "identity") == "identity":
        return await resp.read()  # exactly ``length`` bytes, within the limit
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise ResponseTooLargeError(limit, method=request.method, path=request.url.path)
        chunks.append(chunk)
    return b"".join(chunks)


def _map_exception(exc: BaseException, request: Request, timeout: float | None) -> BaseException:
    """The typed transport failure for an aiohttp (or socket) exception."""
    if not isinstance(exc, Exception):
        return exc  # KeyboardInterrupt, SystemExit: let them through unchanged
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    connection_timeout = getattr(aiohttp, "ConnectionTimeoutError", None)
    if connection_timeout is not None and isinstance(exc, connection_timeout):
        return RequestTimeoutError(
            f"no connection within the timeout ({text})",
            request=request,
            may_have_reached_server=False,
        )
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.InvalidURL):
        return ConnectError(f"could not connect ({text})", request=request)
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return RequestTimeoutError(f"no complete answer within {timeout} s", request=request)
    if isinstance(exc, aiohttp.ClientError | OSError | ValueError):
        # Disconnects, payload errors, resets, malformed answers: the request
        # went out, the answer did not come back whole.
        return ResponseLostError(f"the answer was lost ({text})", request=request)
    return exc
