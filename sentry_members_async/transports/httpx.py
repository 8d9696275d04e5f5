"""A transport on httpx (extra ``httpx``), for services that already run it.

``HttpxTransport(client)`` uses a caller's ``httpx.AsyncClient`` (never closed
by us); without one it creates its own. The skeleton (timeouts, exception
mapping, the size cap) is shared with the aiohttp transport (:mod:`._skeleton`);
this module keeps only what is httpx's.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

import httpx

from ._skeleton import BaseTransport, ErrorTable, read_capped
from ._timeout import timeout as _timeout
from .base import Headers, Request, check_body_size

__all__ = ["HttpxTransport"]


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

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                follow_redirects=False,
                trust_env=False,
                limits=httpx.Limits(max_connections=self._max_connections),
            )
        return self._client

    async def exchange(self, request: Request, timeout: float | None) -> tuple[int, Headers, bytes]:
        client = self._get_client()
        # A cancellation point even when httpx never suspends (a mock transport).
        await asyncio.sleep(0)
        # asyncio.wait_for could lose a cancel on Python < 3.12: see _timeout.
        async with _timeout(timeout):
            answer = await client.send(
                client.build_request(
                    request.method,
                    str(request.url),
                    headers=list(request.headers.items()),
                    content=request.body,
                    timeout=httpx.Timeout(timeout, connect=self._connect_timeout),
                ),
                stream=True,
                follow_redirects=False,
            )
            try:
                body = await _read(answer, request)
            finally:
                await answer.aclose()
        return answer.status_code, Headers(answer.headers.multi_items()), body

    async def release(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


async def _read(answer: httpx.Response, request: Request) -> bytes:
    """The (decoded) body, read no further than ``request.max_response_size``."""
    limit = request.max_response_size
    if limit is None:
        return await answer.aread()
    length = answer.headers.get("Content-Length")
    if length is not None and length.isascii() and length.isdigit():
        check_body_size(request, int(length), limit)
    return await read_capped(answer.aiter_bytes(), request)
