"""Headers, Request, Response and the in-memory transport."""

from __future__ import annotations

import asyncio

import attrs
import pytest
from yarl import URL

from sentry_members_async import ConnectError, RequestTimeoutError, ResponseLostError
from sentry_members_async.transports import Headers, MemoryTransport, Request, Response, Transport

from .conftest import TOKEN


def test_headers_are_case_insensitive_and_immutable() -> None:
    headers = Headers({"Content-Type": "application/json", "X-Sentry-Rate-Limit-Limit": "40"})
    assert headers["content-type"] == "application/json"
    assert "x-sentry-rate-limit-limit" in headers
    assert list(headers) == ["Content-Type", "X-Sentry-Rate-Limit-Limit"]
    assert headers == {"CONTENT-TYPE": "application/json", "x-sentry-rate-limit-limit": "40"}
    with pytest.raises(AttributeError):
        setattr(headers, "x", 1)  # noqa: B010
    assert headers.set("content-type", "text/html")["Content-Type"] == "text/html"
    assert "Content-Type" not in headers.drop("CONTENT-TYPE")


def test_headers_get_ignores_case_and_takes_a_default() -> None:
    headers = Headers({"Retry-After": "3", "Empty": ""})
    assert headers.get("retry-after") == "3"
    assert headers.get("RETRY-AFTER", "0") == "3"
    assert headers.get("Empty", "x") == ""  # a present empty value is not the default
    assert headers.get("X-Missing") is None
    assert headers.get("X-Missing", "default") == "default"
    assert headers.get(1, "default") == "default"  # type: ignore[call-overload]  # as `1 in headers`


def test_repeated_headers_fold() -> None:
    assert Headers([("Link", "<a>"), ("link", "<b>")])["LINK"] == "<a>, <b>"


def test_request_repr_masks_credentials() -> None:
    request = Request("get", URL("https://sentry.io/"), {"Authorization": f"Bearer {TOKEN}"})
    assert request.method == "GET"
    assert TOKEN not in repr(request)
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.redacted().headers["Authorization"] == "<redacted>"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        request.method = "POST"  # type: ignore[misc]


def ok(request: Request) -> Response:
    return Response(200, {"Content-Type": "application/json"}, b'{"a": 1}', request)


async def test_memory_transport_calls_the_handler() -> None:
    seen: list[Request] = []

    async def handler(request: Request) -> Response:
        seen.append(request)
        return ok(request)

    transport = MemoryTransport(handler)
    assert isinstance(transport, Transport)
    request = Request("GET", URL("http://emulator/api/0/"))
    response = await transport.send(request)
    assert seen == [request]
    assert response.json() == {"a": 1}
    assert response.request is request
    assert response.elapsed >= 0.0
    await transport.aclose()
    with pytest.raises(ConnectError):
        await transport.send(request)


async def test_memory_transport_timeout() -> None:
    async def slow(request: Request) -> Response:
        await asyncio.sleep(5)
        return ok(request)

    transport = MemoryTransport(slow)
    with pytest.raises(RequestTimeoutError) as info:
        await transport.send(Request("GET", URL("http://e/"), timeout=0.05))
    assert info.value.may_have_reached_server is True


@pytest.mark.parametrize("exc", [ConnectError, ResponseLostError])
async def test_memory_transport_passes_handler_failures_through(
    exc: type[ConnectError | ResponseLostError],
) -> None:
    async def failing(request: Request) -> Response:
        raise exc("boom", request=request)

    with pytest.raises(exc):
        await MemoryTransport(failing).send(Request("GET", URL("http://e/")))
