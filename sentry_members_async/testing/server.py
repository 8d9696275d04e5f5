"""The emulator over real HTTP: an aiohttp web app on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from aiohttp import web
from yarl import URL

from ..transports.base import Headers, Request, ResponseLostError

if TYPE_CHECKING:
    from .emulator import SentryEmulator

__all__ = ["make_app", "serve"]


def make_app(emulator: SentryEmulator) -> web.Application:
    """An aiohttp application that answers every path with ``emulator.handle``."""

    async def handler(http: web.Request) -> web.StreamResponse:
        body = await http.read()
        request = Request(
            method=http.method,
            url=http.url,
            headers=Headers(http.headers.items()),
            body=body or None,
        )
        try:
            response = await emulator.handle(request)
        except ResponseLostError:
            # Drop the connection without an answer, like a reset.
            if http.transport is not None:
                http.transport.abort()
            raise web.HTTPInternalServerError() from None  # never reaches the client
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return web.Response(status=response.status, body=response.body, headers=headers)

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


@contextlib.asynccontextmanager
async def serve(
    emulator: SentryEmulator, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Run the app on ``host:port`` (0: a free port); yields the base URL."""
    runner = web.AppRunner(make_app(emulator), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    bound = runner.addresses[0]
    try:
        yield str(URL.build(scheme="http", host=bound[0], port=bound[1]))
    finally:
        await runner.cleanup()
