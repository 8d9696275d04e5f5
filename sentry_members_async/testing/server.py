"""Any request handler over real HTTP: an aiohttp web app on loopback.

It knows only the transport values: it turns each HTTP request into a
``Request``, awaits the handler (``SentryEmulator.handle``) and writes the
``Response`` back; a ``ResponseLostError`` drops the connection unanswered.

``close_after``: close every connection that many seconds after its answer
is written (0: at once), with no ``Connection: close`` header, as the uWSGI
that ``sentry run web`` starts does (measured on 23.7.1: the FIN follows the
answer by 0 to 5 ms). A request sent on such a connection before it closes is
never read nor answered: the client sees the connection drop, as on that
server. ``None`` (the default) keeps connections alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import socket
import struct
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

from aiohttp import web
from yarl import URL

from ..transports.base import Headers, Request, Response, ResponseLostError

__all__ = ["Handler", "make_app", "serve", "serve_in_thread"]

#: What the server calls for each request (the in-memory transport's handler, too).
Handler = Callable[[Request], Awaitable[Response]]


def make_app(handle: Handler, *, close_after: float | None = None) -> web.Application:
    """An aiohttp application that answers every path with ``handle``."""
    #: Connections that were answered once (with ``close_after``): closing.
    answered: weakref.WeakSet[asyncio.BaseTransport] = weakref.WeakSet()

    async def handler(http: web.Request) -> web.StreamResponse:
        transport = http.transport
        if transport is None or transport.is_closing() or transport in answered:
            # A request on a connection that is closing (or already closed, when
            # aiohttp dispatches it late): never read nor acted on, and reset, as
            # the real server's kernel resets a request that reaches a socket
            # closed (or closing with it unread).
            if transport is not None:
                _reset(transport)
            raise web.HTTPInternalServerError()  # never reaches the client
        body = await http.read()
        request = Request(
            method=http.method,
            url=http.url,
            headers=Headers(http.headers.items()),
            body=body or None,
        )
        try:
            response = await handle(request)
        except ResponseLostError:
            # Drop the connection without an answer, like a reset.
            if http.transport is not None:
                http.transport.abort()
            raise web.HTTPInternalServerError() from None  # never reaches the client
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        answer = web.Response(status=response.status, body=response.body, headers=headers)
        if close_after is not None and http.transport is not None:
            # Write the whole answer, then close: no header announces it.
            transport = http.transport
            await answer.prepare(http)
            await answer.write_eof()
            answered.add(transport)
            if close_after <= 0:
                transport.close()
            else:
                asyncio.get_running_loop().call_later(close_after, transport.close)
        return answer

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


def _reset(transport: asyncio.BaseTransport) -> None:
    """Close with a TCP reset (RST), not a FIN.

    asyncio has read the request out of the kernel already, so a plain close
    would send a FIN; a real server that never read the request leaves it in
    the kernel, whose close then resets the connection (measured on the uWSGI
    of 23.7.1: 20 of 20 such requests reset). SO_LINGER with a zero timeout
    makes the close a reset.
    """
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if isinstance(transport, asyncio.WriteTransport):
        transport.abort()
    else:
        transport.close()


@contextlib.asynccontextmanager
async def serve(
    handle: Handler, host: str = "127.0.0.1", port: int = 0, *, close_after: float | None = None
) -> AsyncIterator[str]:
    """Run the app on ``host:port`` (0: a free port); yields the base URL."""
    app = make_app(handle, close_after=close_after)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    bound = runner.addresses[0]
    try:
        yield str(URL.build(scheme="http", host=bound[0], port=bound[1]))
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def serve_in_thread(
    handle: Handler, host: str = "127.0.0.1", port: int = 0, *, close_after: float | None = None
) -> Iterator[str]:
    """Serve from a background thread with its own event loop; yields the base URL.

    For synchronous fixtures and code that has no running loop of its own.
    """
    ready: queue.Queue[str | BaseException] = queue.Queue()
    stop: asyncio.Event | None = None
    loop = asyncio.new_event_loop()

    async def main() -> None:
        nonlocal stop
        stop = asyncio.Event()
        try:
            async with serve(handle, host, port, close_after=close_after) as url:
                ready.put(url)
                await stop.wait()
        except BaseException as exc:  # report start-up failures to the caller
            ready.put(exc)
            raise

    thread = threading.Thread(
        target=lambda: loop.run_until_complete(main()), name="sentry-emulator", daemon=True
    )
    thread.start()
    first = ready.get(timeout=30)
    if isinstance(first, BaseException):
        thread.join()
        loop.close()
        raise first
    try:
        yield first
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        loop.close()
