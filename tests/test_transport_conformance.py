"""The transport conformance suite, for every transport of the package."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sentry_members_async.testing.conformance import (
    CHECKS,
    Check,
    memory_target,
    script_handler,
    script_server,
)
from sentry_members_async.transports import MemoryTransport, Transport
from sentry_members_async.transports.aiohttp import AiohttpTransport
from sentry_members_async.transports.httpx import HttpxTransport

FACTORIES: dict[str, Callable[[], Transport]] = {
    "aiohttp": lambda: AiohttpTransport(),
    "httpx": lambda: HttpxTransport(),
}


@pytest.mark.parametrize("name", list(FACTORIES))
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
async def test_socket_transports(name: str, check: Check) -> None:
    async with script_server() as target:
        await check(FACTORIES[name], target)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
async def test_memory_transport(check: Check) -> None:
    await check(lambda: MemoryTransport(script_handler), memory_target())


async def test_a_callers_httpx_client_is_not_closed() -> None:
    import httpx

    async with script_server() as target, httpx.AsyncClient() as own:
        transport = HttpxTransport(own)
        await transport.aclose()
        assert not own.is_closed
        response = await own.get(str(target.base_url) + "/status/200")
        assert response.status_code == 200
