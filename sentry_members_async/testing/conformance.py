"""A conformance suite every transport passes: write your own transport, run this.

::

    import pytest
    from sentry_members_async.testing.conformance import CHECKS, script_server

    @pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
    async def test_my_transport(check):
        async with script_server() as target:
            await check(lambda: MyTransport(), target)

Each check sends requests to a scripted server (echo, any status, a reset
before the answer, a body cut mid-way, a slow answer, a refused port) and
asserts what every transport must do: send headers, query and body as given,
return any status without raising or following redirects, and map each
failure to the same typed error. For the in-memory transport, ``script_handler``
plays the same script without sockets (``memory_target()``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from yarl import URL

from ..transports.base import (
    ConnectError,
    Request,
    RequestTimeoutError,
    Response,
    ResponseLostError,
    Transport,
)

__all__ = ["CHECKS", "Target", "memory_target", "script_handler", "script_server"]

TransportFactory = Callable[[], Transport]


@dataclass(frozen=True)
class Target:
    """Where a check sends requests: the scripted server and a refused address."""

    base_url: URL
    refused_url: URL


def _echo(method: str, raw_path: str, query: str, headers: dict[str, str], body: bytes) -> bytes:
    return json.dumps(
        {
            "method": method,
            "raw_path": raw_path,
            "query": query,
            "headers": {k.lower(): v for k, v in headers.items()},
            "body": base64.b64encode(body).decode(),
        }
    ).encode()


async def _handle(http: web.Request) -> web.StreamResponse:
    parts = http.path.strip("/").split("/")
    kind = parts[0] if parts else ""
    body = await http.read()
    if kind == "status":
        code = int(parts[1])
        headers = {"X-Case": "Mixed", "Content-Type": "application/json"}
        if code in (301, 302, 303, 307, 308):
            headers["Location"] = "/echo/redirected/"
        return web.Response(status=code, body=b"" if code == 204 else b'{"s":1}', headers=headers)
    if kind == "slow":
        await asyncio.sleep(float(parts[1]) if len(parts) > 1 else 2.0)
        return web.Response(body=b"late")
    if kind == "reset":
        assert http.transport is not None
        http.transport.abort()
        raise web.HTTPInternalServerError()
    if kind == "drop":
        response = web.StreamResponse(headers={"Content-Length": "1000"})
        await response.prepare(http)
        await response.write(b'{"partial": ')
        assert http.transport is not None
        http.transport.abort()
        return response
    raw = http.raw_path.split("?", 1)
    return web.Response(
        body=_echo(http.method, raw[0], raw[1] if len(raw) > 1 else "", dict(http.headers), body),
        content_type="application/json",
    )


@contextlib.asynccontextmanager
async def script_server() -> AsyncIterator[Target]:
    """The scripted server on 127.0.0.1, and a refused address."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        refused = sock.getsockname()[1]
    try:
        yield Target(
            URL(f"http://127.0.0.1:{runner.addresses[0][1]}"), URL(f"http://127.0.0.1:{refused}")
        )
    finally:
        await runner.cleanup()


async def script_handler(request: Request) -> Response:
    """The same script for the in-memory transport (no sockets)."""
    if request.url.port == 9:
        raise ConnectError("connection refused", request=request)
    parts = request.url.path.strip("/").split("/")
    kind = parts[0] if parts else ""
    if kind == "status":
        code = int(parts[1])
        headers = {"X-Case": "Mixed", "Content-Type": "application/json"}
        if code in (301, 302, 303, 307, 308):
            headers["Location"] = "/echo/redirected/"
        return Response(code, headers, b"" if code == 204 else b'{"s":1}', request)
    if kind == "slow":
        await asyncio.sleep(float(parts[1]) if len(parts) > 1 else 2.0)
        return Response(200, {}, b"late", request)
    if kind in ("reset", "drop"):
        raise ResponseLostError("connection reset", request=request)
    body = _echo(
        request.method,
        request.url.raw_path,
        request.url.raw_query_string,
        dict(request.headers),
        request.body or b"",
    )
    return Response(200, {"Content-Type": "application/json"}, body, request)


def memory_target() -> Target:
    """A target for ``MemoryTransport(script_handler)`` (port 9 plays the refused port)."""
    return Target(URL("http://127.0.0.1:8"), URL("http://127.0.0.1:9"))


def _url(target: Target, path: str) -> URL:
    return URL(str(target.base_url) + path, encoded=True)


async def check_request_is_sent_as_given(factory: TransportFactory, target: Target) -> None:
    transport = factory()
    try:
        url = _url(target, "/echo/a%2Fb%20c/?q=role%3Aowner+x&x=%C3%A9")
        request = Request(
            "POST",
            url,
            {"Authorization": "Bearer t", "X-Test": "yes", "Content-Type": "application/json"},
            b'{"k":"v"}',
            5.0,
        )
        response = await transport.send(request)
        echo = json.loads(response.body)
        assert response.status == 200
        assert echo["method"] == "POST"
        assert echo["raw_path"] == "/echo/a%2Fb%20c/"
        assert echo["query"] == "q=role%3Aowner+x&x=%C3%A9"
        assert echo["headers"]["authorization"] == "Bearer t"
        assert echo["headers"]["x-test"] == "yes"
        assert base64.b64decode(echo["body"]) == b'{"k":"v"}'
        assert response.request is request
        assert response.elapsed >= 0
    finally:
        await transport.aclose()


async def check_statuses_are_returned_not_raised(factory: TransportFactory, target: Target) -> None:
    transport = factory()
    try:
        for code in (200, 204, 302, 400, 404, 429, 500, 503):
            response = await transport.send(Request("GET", _url(target, f"/status/{code}"), {}))
            assert response.status == code
            assert response.headers["x-case"] == "Mixed"  # case-insensitive
            if code == 204:
                assert response.body == b""
            if code == 302:
                assert response.headers["location"] == "/echo/redirected/"  # not followed
    finally:
        await transport.aclose()


async def check_refused_is_connect_error(factory: TransportFactory, target: Target) -> None:
    transport = factory()
    try:
        url = URL(str(target.refused_url) + "/echo/")
        try:
            await transport.send(Request("GET", url, {}, None, 5.0))
        except ConnectError as exc:
            assert exc.may_have_reached_server is False
        else:
            raise AssertionError("a refused connection must raise ConnectError")
    finally:
        await transport.aclose()


async def check_lost_answers_are_response_lost(factory: TransportFactory, target: Target) -> None:
    transport = factory()
    try:
        for path in ("/reset/", "/drop/"):
            try:
                await transport.send(Request("GET", _url(target, path), {}, None, 5.0))
            except ResponseLostError as exc:
                assert exc.may_have_reached_server is True
            else:
                raise AssertionError(f"{path} must raise ResponseLostError")
    finally:
        await transport.aclose()


async def check_timeout(factory: TransportFactory, target: Target) -> None:
    transport = factory()
    try:
        try:
            await transport.send(Request("GET", _url(target, "/slow/1.0"), {}, None, 0.2))
        except RequestTimeoutError as exc:
            assert isinstance(exc, TimeoutError)
        else:
            raise AssertionError("a slow answer must raise RequestTimeoutError")
    finally:
        await transport.aclose()


async def check_cancellation(factory: TransportFactory, target: Target) -> None:
    transport = factory()
    try:
        task = asyncio.ensure_future(
            transport.send(Request("GET", _url(target, "/slow/1.0"), {}, None, 5.0))
        )
        await asyncio.sleep(0.05)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        else:
            raise AssertionError("cancelling a send must raise CancelledError")
        again = await transport.send(Request("GET", _url(target, "/status/200"), {}, None, 5.0))
        assert again.status == 200  # still usable
    finally:
        await transport.aclose()


async def check_close(factory: TransportFactory, target: Target) -> None:
    transport = factory()
    await transport.send(Request("GET", _url(target, "/status/200"), {}, None, 5.0))
    await transport.aclose()
    await transport.aclose()  # idempotent
    try:
        await transport.send(Request("GET", _url(target, "/status/200"), {}, None, 5.0))
    except ConnectError:
        pass
    else:
        raise AssertionError("a closed transport must refuse to send")


Check = Callable[[TransportFactory, Target], Awaitable[None]]
#: Every check, for ``pytest.mark.parametrize``.
CHECKS: list[Check] = [
    check_request_is_sent_as_given,
    check_statuses_are_returned_not_raised,
    check_refused_is_connect_error,
    check_lost_answers_are_response_lost,
    check_timeout,
    check_cancellation,
    check_close,
]
