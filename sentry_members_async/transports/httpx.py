"""A transport on httpx (extra ``httpx``), for services that already run it.

``HttpxTransport(client)`` uses a caller's ``httpx.AsyncClient`` (never closed
by us); without one it creates its own. Every httpx exception is mapped to the
SDK's typed transport failures, exactly as the aiohttp transport does.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from ..errors import ResponseTooLargeError, SentryError
from ._timeout import timeout as _timeout
from .base import (
    ConnectError,
    Headers,
    Request,
    RequestTimeoutError,
    Response,
    ResponseLostError,
)

__all__ = ["HttpxTransport"]


class HttpxTransport:
    """Sends requests with ``httpx.AsyncClient``.

    :param client: an existing client to use; the transport never closes it.
    :param timeout: default total seconds per request (a request's own wins).
    :param max_connections: pool size when the transport creates its client.
    """

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        timeout: float | None = 30.0,
        connect_timeout: float | None = 10.0,
        max_connections: int = 100,
    ) -> None:
        self._client = client
        self._owns_client = client is None
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._max_connections = max_connections
        self._closed = False

    def __repr__(self) -> str:
        owner = "own" if self._owns_client else "caller's"
        return f"HttpxTransport({owner} client, closed={self._closed})"

    @property
    def closed(self) -> bool:
        return self._closed

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                follow_redirects=False,
                trust_env=False,
                limits=httpx.Limits(max_connections=self._max_connections),
            )
        return self._client

    async def send(self, request: Request) -> Response:
        if self._closed:
            raise ConnectError("the transport is closed", request=request)
        client = self._get_client()
        total = request.timeout if request.timeout is not None else self._timeout
        timeout = httpx.Timeout(total, connect=self._connect_timeout)
        started = time.perf_counter()
        # A cancellation point even when httpx never suspends (a mock transport).
        await asyncio.sleep(0)
        try:
            # asyncio.wait_for could lose a cancel on Python < 3.12: see _timeout.
            async with _timeout(total):
                answer = await client.send(
                    client.build_request(
                        request.method,
                        str(request.url),
                        headers=list(request.headers.items()),
                        content=request.body,
                        timeout=timeout,
                    ),
                    stream=True,
                    follow_redirects=False,
                )
                try:
                    body = await _read(answer, request)
                finally:
                    await answer.aclose()
        except asyncio.CancelledError:
            raise
        except SentryError:
            raise
        except BaseException as exc:
            raise _map_exception(exc, request, total) from exc
        return Response(
            status=answer.status_code,
            headers=Headers(answer.headers.multi_items()),
            body=body,
            request=request,
            elapsed=time.perf_counter() - started,
        )

    async def aclose(self) -> None:
        self._closed = True
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


async def _read(answer: httpx.Response, request: Request) -> bytes:
    """The (decoded) body, read no further than ``request.max_response_size``."""
    limit = request.max_response_size
    if limit is None:
        return await answer.aread()
    length = answer.headers.get("Content-Length")
    if length is not None and length.isascii() and length.isdigit() and int(length) > limit:
        raise ResponseTooLargeError(limit, method=request.method, path=request.url.path)
    chunks: list[bytes] = []
    size = 0
    async for chunk in answer.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise ResponseTooLargeError(limit, method=request.method, path=request.url.path)
        chunks.append(chunk)
    return b"".join(chunks)


def _map_exception(exc: BaseException, request: Request, timeout: float | None) -> BaseException:
    if not isinstance(exc, Exception):
        return exc
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return RequestTimeoutError(
            f"no connection within the timeout ({text})",
            request=request,
            may_have_reached_server=False,
        )
    if isinstance(exc, httpx.TimeoutException | asyncio.TimeoutError):
        return RequestTimeoutError(f"no complete answer within {timeout} s", request=request)
    if isinstance(exc, httpx.ConnectError | httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ConnectError(f"could not connect ({text})", request=request)
    if isinstance(exc, httpx.HTTPError | OSError | ValueError):
        return ResponseLostError(f"the answer was lost ({text})", request=request)
    return exc
