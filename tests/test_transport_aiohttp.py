"""What is aiohttp's own in the aiohttp transport: no blind re-send of a request.

aiohttp re-sends an idempotent request once, on a new connection, when a
pooled connection drops under it, whether or not the server may have received
it. The transport's session refuses that second connection (through the
public ``BaseConnector.connect``): the only send again is the transport's own,
for a request that cannot have had an effect (``transports/_stale.py``);
every other re-send is the retry policy's, counted and paced by the limiter.
These tests fail if aiohttp changes how it re-sends (or stops asking the
connector).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from yarl import URL

from sentry_members_async import ResponseLostError
from sentry_members_async.transports import Request
from sentry_members_async.transports.aiohttp import AiohttpTransport, OneConnectionPerSend

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"


@asynccontextmanager
async def dropping_server(requests: list[str]) -> AsyncIterator[URL]:
    """Answers the first request of each connection, then closes it at the next one
    (after reading it, as a server restarting under a kept-alive connection does)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for answered in (True, False):
                head = await reader.readuntil(b"\r\n\r\n")
                requests.append(head.split(b" ", 2)[1].decode())
                if not answered:
                    break
                writer.write(ANSWER)
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield URL(f"http://127.0.0.1:{port}")
    finally:
        server.close()
        await server.wait_closed()


async def test_a_dropped_pooled_connection_re_sends_only_what_cannot_have_an_effect() -> None:
    requests: list[str] = []
    transport = AiohttpTransport()
    try:
        async with dropping_server(requests) as url:
            first = await transport.send(Request("GET", url / "one"))
            assert first.status == 200
            # The kept-alive connection is reused and dropped under the second
            # GET, after the server read it: a GET has no effect, so it goes once
            # more, on a new connection (ours; aiohttp's own re-send is refused).
            second = await transport.send(Request("GET", url / "two"))
            assert second.status == 200
            assert requests == ["/one", "/two", "/two"]
            assert transport.stale_resent == 1
            # A POST the server read may have had its effect: not re-sent.
            with pytest.raises(ResponseLostError) as info:
                await transport.send(Request("POST", url / "three", body=b"{}"))
            assert info.value.may_have_reached_server is True
            assert requests == ["/one", "/two", "/two", "/three"]
            third = await transport.send(Request("GET", url / "four"))
            assert third.status == 200
            assert requests == ["/one", "/two", "/two", "/three", "/four"]
    finally:
        await transport.aclose()


async def test_aiohttp_itself_re_sends_on_a_dropped_pooled_connection() -> None:
    """The behaviour the connector guards against (if aiohttp stops re-sending,
    the guard can go)."""
    requests: list[str] = []
    async with dropping_server(requests) as url, aiohttp.ClientSession() as session:
        async with session.get(url / "one") as resp:
            await resp.read()
        async with session.get(url / "two") as resp:
            assert resp.status == 200
    assert requests == ["/one", "/two", "/two"]


def test_the_guard_overrides_the_connectors_public_connect() -> None:
    # Fails when aiohttp renames or reshapes the method the guard overrides.
    assert "connect" in vars(aiohttp.BaseConnector)
    theirs = inspect.signature(aiohttp.BaseConnector.connect).parameters
    ours = inspect.signature(OneConnectionPerSend.connect).parameters
    assert list(theirs) == list(ours) == ["self", "req", "traces", "timeout"]
