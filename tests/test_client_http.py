"""The request pipeline against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping

import pytest
from aiohttp import web

from sentry_members_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ConnectError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RequestTimeoutError,
    ResponseLostError,
    SentryClient,
    ServerError,
    ValidationError,
    __version__,
)
from sentry_members_async.errors import RedirectError
from sentry_members_async.retry import RetryPolicy
from sentry_members_async.transports import Request, Response
from sentry_members_async.transports.aiohttp import AiohttpTransport

from .conftest import SCIM_TOKEN, TOKEN, RecordingServer, ServerHandler

MEMBERS = "/api/0/organizations/{org}/members/"
MEMBER = "/api/0/organizations/{org}/members/{member_id}/"


@pytest.fixture
async def client(server: RecordingServer) -> AsyncIterator[SentryClient]:
    # One attempt: these tests look at what a single exchange gives.
    async with SentryClient(
        TOKEN, base_url=server.url, scim_token=SCIM_TOKEN, retry=RetryPolicy(max_attempts=1)
    ) as c:
        yield c


def answer(
    status: int, body: object = None, *, headers: dict[str, str] | None = None
) -> ServerHandler:
    async def handler(request: web.Request) -> web.StreamResponse:
        if isinstance(body, str | bytes):
            return web.Response(status=status, body=body, headers=headers)
        if body is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(body, status=status, headers=headers)

    return handler


async def test_exact_get_request(client: SentryClient, server: RecordingServer) -> None:
    response = await client.request(
        "GET",
        MEMBERS,
        path_params={"org": "acme"},
        params={"query": "email:a@b.c role:owner", "per_page": 100, "expand": ["a", "b"]},
    )
    assert response.status == 200
    assert response.json() == {"ok": True}
    [seen] = server.seen
    assert seen.method == "GET"
    assert seen.raw_path == "/api/0/organizations/acme/members/"
    assert seen.query == [
        ("query", "email:a@b.c role:owner"),
        ("per_page", "100"),
        ("expand", "a"),
        ("expand", "b"),
    ]
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["User-Agent"] == f"sentry-members-async/{__version__}"
    assert seen.headers["Accept"] == "application/json"
    assert "Content-Type" not in seen.headers
    assert seen.body == b""


async def test_exact_post_request_with_json_body(
    client: SentryClient, server: RecordingServer
) -> None:
    server.handler = answer(201, {"id": "7"})
    response = await client.request(
        "POST", MEMBERS, path_params={"org": "acme"}, json={"email": "é@x.io", "orgRole": "member"}
    )
    assert response.status == 201
    [seen] = server.seen
    assert seen.method == "POST"
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.body == '{"email":"é@x.io","orgRole":"member"}'.encode()


async def test_path_params_are_quoted_as_one_segment(
    client: SentryClient, server: RecordingServer
) -> None:
    await client.request(
        "DELETE", MEMBER, path_params={"org": "ac me", "member_id": "1/../../teams"}
    )
    [seen] = server.seen
    assert seen.raw_path == "/api/0/organizations/ac%20me/members/1%2F..%2F..%2Fteams/"
    assert seen.method == "DELETE"


@pytest.mark.parametrize("bad", ["", ".", ".."])
async def test_unsafe_path_params_are_refused_before_sending(
    client: SentryClient, server: RecordingServer, bad: str
) -> None:
    with pytest.raises(ValidationError):
        await client.request("GET", MEMBER, path_params={"org": "acme", "member_id": bad})
    assert server.seen == []


async def test_scim_requests_use_the_scim_token(
    client: SentryClient, server: RecordingServer
) -> None:
    await client.request(
        "GET", "/api/0/organizations/{org}/scim/v2/Users", path_params={"org": "acme"}, scim=True
    )
    assert server.seen[0].headers["Authorization"] == f"Bearer {SCIM_TOKEN}"
    assert server.seen[0].raw_path == "/api/0/organizations/acme/scim/v2/Users"


async def test_self_hosted_path_prefix(server: RecordingServer) -> None:
    async with SentryClient(TOKEN, base_url=server.url / "sentry" / "") as client:
        await client.request("GET", MEMBERS, path_params={"org": "acme"})
    assert server.seen[0].raw_path == "/sentry/api/0/organizations/acme/members/"


async def test_user_agent_prefix(server: RecordingServer) -> None:
    async with SentryClient(TOKEN, base_url=server.url, user_agent="offboard-bot/2") as client:
        await client.request("GET", "/api/0/")
    assert (
        server.seen[0].headers["User-Agent"] == f"offboard-bot/2 sentry-members-async/{__version__}"
    )


# -- typed errors -----------------------------------------------------------


async def test_400_field_errors(client: SentryClient, server: RecordingServer) -> None:
    server.handler = answer(400, {"email": ["The user a@b.c is already a member"]})
    with pytest.raises(BadRequestError) as info:
        await client.request("POST", MEMBERS, path_params={"org": "acme"}, json={"email": "a@b.c"})
    err = info.value
    assert err.status == 400
    assert err.method == "POST"
    assert err.path == "/api/0/organizations/acme/members/"
    assert err.field_errors == {"email": ["The user a@b.c is already a member"]}
    assert err.detail == "email: The user a@b.c is already a member"
    assert str(err) == (
        "400 POST /api/0/organizations/acme/members/: email: The user a@b.c is already a member"
    )


async def test_401(client: SentryClient, server: RecordingServer) -> None:
    server.handler = answer(
        401, {"detail": "Invalid token"}, headers={"WWW-Authenticate": 'xBasic realm="api"'}
    )
    with pytest.raises(AuthenticationError) as info:
        await client.request("GET", MEMBERS, path_params={"org": "acme"})
    assert info.value.status == 401
    assert info.value.detail == "Invalid token"
    assert info.value.body == {"detail": "Invalid token"}


async def test_403_names_the_required_scopes(client: SentryClient, server: RecordingServer) -> None:
    server.handler = answer(403, {"detail": "You do not have permission to perform this action."})
    with pytest.raises(PermissionDeniedError) as info:
        await client.request(
            "GET",
            MEMBERS,
            path_params={"org": "acme"},
            required_scopes=("member:read", "member:write", "member:admin"),
        )
    err = info.value
    assert err.required_scopes == ("member:read", "member:write", "member:admin")
    assert err.detail == "You do not have permission to perform this action."
    assert "needs one of the scopes: member:read, member:write, member:admin" in str(err)


async def test_a_403_of_a_sentry_rule_names_no_scope(
    client: SentryClient, server: RecordingServer
) -> None:
    rule = "You cannot remove the only remaining owner of the organization."
    server.handler = answer(403, {"detail": rule})
    with pytest.raises(PermissionDeniedError) as info:
        await client.request(
            "GET",
            MEMBERS,
            path_params={"org": "acme"},
            required_scopes=("member:read", "member:write", "member:admin"),
        )
    assert info.value.is_scope_refusal is False
    assert str(info.value) == f"403 GET /api/0/organizations/acme/members/: {rule}"


async def test_404(client: SentryClient, server: RecordingServer) -> None:
    server.handler = answer(404, {"detail": "The requested resource does not exist"})
    with pytest.raises(NotFoundError) as info:
        await client.request("GET", MEMBER, path_params={"org": "acme", "member_id": 42})
    assert info.value.detail == "The requested resource does not exist"
    assert info.value.path == "/api/0/organizations/acme/members/42/"


async def test_409(client: SentryClient, server: RecordingServer) -> None:
    body = {
        "non_field_errors": ["A team with this slug already exists."],
        "detail": "A team with this slug already exists.",
    }
    server.handler = answer(409, body)
    with pytest.raises(ConflictError) as info:
        await client.request("POST", "/api/0/organizations/{org}/teams/", path_params={"org": "a"})
    assert info.value.detail == "A team with this slug already exists."


async def test_409_scim_error_body(client: SentryClient, server: RecordingServer) -> None:
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "detail": "User already exists in the database.",
    }
    server.handler = answer(409, body)
    with pytest.raises(ConflictError) as info:
        await client.request(
            "POST", "/api/0/organizations/{org}/scim/v2/Users", path_params={"org": "a"}, scim=True
        )
    assert info.value.detail == "User already exists in the database."


async def test_429_with_retry_after_seconds(client: SentryClient, server: RecordingServer) -> None:
    body = (
        "You are attempting to use this endpoint too frequently. Limit is 40 requests in 1 seconds"
    )
    server.handler = answer(
        429, json.dumps(body), headers={"Retry-After": "7", "Content-Type": "application/json"}
    )
    with pytest.raises(RateLimitedError) as info:
        await client.request("GET", MEMBERS, path_params={"org": "acme"})
    assert info.value.retry_after == 7.0
    assert info.value.detail == body


async def test_429_with_retry_after_http_date(
    client: SentryClient, server: RecordingServer
) -> None:
    server.handler = answer(
        429, {"detail": "slow down"}, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    )
    with pytest.raises(RateLimitedError) as info:
        await client.request("GET", MEMBERS, path_params={"org": "acme"})
    # A date in the past names no wait (errors.requested_wait): never a negative
    # one, and never "0 s", which a skewed clock would turn into instant retries.
    assert info.value.retry_after is None


async def test_429_without_retry_after_uses_the_reset_header(
    client: SentryClient, server: RecordingServer
) -> None:
    import time

    reset = int(time.time()) + 30
    server.handler = answer(
        429, '"too frequently"', headers={"X-Sentry-Rate-Limit-Reset": str(reset)}
    )
    with pytest.raises(RateLimitedError) as info:
        await client.request("GET", MEMBERS, path_params={"org": "acme"})
    assert info.value.retry_after is not None
    assert 25.0 <= info.value.retry_after <= 30.0


async def test_500(client: SentryClient, server: RecordingServer) -> None:
    server.handler = answer(500, {"detail": "Internal Error", "errorId": "abc"})
    with pytest.raises(ServerError) as info:
        await client.request("GET", MEMBERS, path_params={"org": "acme"})
    assert info.value.status == 500
    assert info.value.detail == "Internal Error"


async def test_502_with_an_html_body(client: SentryClient, server: RecordingServer) -> None:
    html = (
        "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
        "</h1></center><hr><center>nginx</center>" + "<p>padding</p>" * 500 + "</body></html>"
    )
    server.handler = answer(502, html, headers={"Content-Type": "text/html"})
    with pytest.raises(ServerError) as info:
        await client.request("GET", MEMBERS, path_params={"org": "acme"})
    assert info.value.status == 502
    assert info.value.detail == "502 Bad Gateway"
    assert len(str(info.value)) < 200


async def test_error_types_are_one_hierarchy(client: SentryClient, server: RecordingServer) -> None:
    server.handler = answer(418, {"detail": "teapot"})
    with pytest.raises(APIError) as info:
        await client.request("GET", MEMBERS, path_params={"org": "acme"})
    assert type(info.value) is APIError
    assert info.value.status == 418


# -- transport failures ------------------------------------------------------


async def test_connection_refused_is_a_connect_error(refused_url: object) -> None:
    once = RetryPolicy(max_attempts=1)
    async with SentryClient(TOKEN, base_url=str(refused_url), retry=once) as client:
        with pytest.raises(ConnectError) as info:
            await client.request("POST", MEMBERS, path_params={"org": "acme"}, json={})
    assert info.value.may_have_reached_server is False
    assert info.value.method == "POST"
    assert TOKEN not in repr(info.value.request)


async def test_connection_dropped_mid_response(
    client: SentryClient, server: RecordingServer
) -> None:
    async def drop(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b'[{"id": "1", ')
        assert request.transport is not None
        request.transport.close()
        return response

    server.handler = drop
    with pytest.raises(ResponseLostError) as info:
        await client.request("GET", MEMBERS, path_params={"org": "acme"})
    assert info.value.may_have_reached_server is True
    assert len(server.seen) == 1


async def test_server_too_slow_is_a_timeout(client: SentryClient, server: RecordingServer) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(1)
        return web.json_response({})

    server.handler = slow
    with pytest.raises(RequestTimeoutError) as info:
        await client.request("GET", MEMBERS, path_params={"org": "acme"}, timeout=0.2)
    assert isinstance(info.value, TimeoutError)
    assert info.value.may_have_reached_server is True


# -- redirects, hooks, logging -----------------------------------------------


async def test_a_get_redirected_to_another_host_is_refused(
    client: SentryClient, server: RecordingServer
) -> None:
    """Finding #17 of the 2026-12-03 review: the other origin's answer was taken
    for Sentry's (a member id it named was then deleted on Sentry)."""
    other = server.url.with_host("localhost")

    async def redirect(request: web.Request) -> web.StreamResponse:
        if request.host.startswith("127.0.0.1"):
            raise web.HTTPFound(str(other.with_path("/moved/")))
        return web.json_response({"moved": True})

    server.handler = redirect
    with pytest.raises(RedirectError) as info:
        await client.request("GET", MEMBERS, path_params={"org": "acme"})
    assert [s.raw_path for s in server.seen] == ["/api/0/organizations/acme/members/"]
    assert info.value.status == 302
    assert info.value.location == str(other.with_path("/moved/"))
    assert "changes origin" in str(info.value)
    assert str(other.origin()) in str(info.value)


async def test_redirect_on_the_same_host_keeps_credentials(
    client: SentryClient, server: RecordingServer
) -> None:
    async def redirect(request: web.Request) -> web.StreamResponse:
        if request.path != "/final/":
            raise web.HTTPPermanentRedirect("/final/")
        return web.json_response([])

    server.handler = redirect
    await client.request("PUT", MEMBER, path_params={"org": "a", "member_id": 1}, json={"x": 1})
    assert [s.method for s in server.seen] == ["PUT", "PUT"]
    assert server.seen[1].headers["Authorization"] == f"Bearer {TOKEN}"
    assert server.seen[1].body == b'{"x":1}'


async def test_event_hooks_get_redacted_payloads(server: RecordingServer) -> None:
    requests: list[Request] = []
    responses: list[Response] = []

    async def on_response(response: Response) -> None:
        responses.append(response)

    async with SentryClient(
        TOKEN, base_url=server.url, on_request=requests.append, on_response=[on_response]
    ) as client:
        await client.request("GET", MEMBERS, path_params={"org": "acme"})
    assert [r.url.path for r in requests] == ["/api/0/organizations/acme/members/"]
    assert requests[0].headers["Authorization"] == "<redacted>"
    assert [r.status for r in responses] == [200]
    assert responses[0].request.headers["Authorization"] == "<redacted>"


async def test_one_debug_line_per_request(
    client: SentryClient, server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="sentry_members_async")
    await client.request("GET", MEMBERS, path_params={"org": "acme"})
    records = [r for r in caplog.records if r.name == "sentry_members_async"]
    assert len(records) == 1
    assert records[0].getMessage().startswith("GET /api/0/organizations/acme/members/ -> 200 in ")


async def test_a_callers_session_is_never_closed(server: RecordingServer) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        transport = AiohttpTransport(session)
        async with SentryClient(TOKEN, base_url=server.url, transport=transport) as client:
            await client.request("GET", "/api/0/")
        await transport.aclose()
        assert not session.closed
        async with session.get(server.url / "still-open") as resp:
            assert resp.status == 200


# -- with_limiter --------------------------------------------------------------


class CountingLimiter:
    """A limiter that counts what goes through it and what it observes."""

    def __init__(self) -> None:
        self.acquired = 0
        self.observed: list[int] = []

    def acquire(self) -> contextlib.AbstractAsyncContextManager[None]:
        self.acquired += 1
        return contextlib.nullcontext()

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        self.observed.append(status)


async def test_with_limiter_shares_all_but_the_limiter(server: RecordingServer) -> None:
    seen: list[str] = []
    own, other = CountingLimiter(), CountingLimiter()
    async with SentryClient(
        TOKEN,
        base_url=server.url,
        limiter=own,
        on_request=lambda request: seen.append(request.url.path),
    ) as client:
        view = client.with_limiter(other)
        assert type(view) is SentryClient
        assert view.limiter is other
        assert client.limiter is own
        assert view.transport is client.transport
        assert view.stats is client.stats
        assert view.retry_policy is client.retry_policy
        await view.request("GET", "/api/0/a/")
        await client.request("GET", "/api/0/b/")
        assert (own.acquired, other.acquired) == (1, 1)
        assert (own.observed, other.observed) == ([200], [200])
        assert client.stats.requests == 2
        assert seen == ["/api/0/a/", "/api/0/b/"]
        assert server.seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
        # The view does not own the transport: closing it leaves the client working.
        await view.aclose()
        assert view.closed
        assert not client.closed
        assert not client.transport.closed  # type: ignore[attr-defined]
        await client.request("GET", "/api/0/c/")
    assert client.transport.closed  # type: ignore[attr-defined]
    assert [s.path for s in server.seen] == ["/api/0/a/", "/api/0/b/", "/api/0/c/"]


async def test_a_final_failure_is_one_more_debug_line(
    client: SentryClient, server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="sentry_members_async")
    server.handler = answer(404, {"detail": "gone"})
    with pytest.raises(NotFoundError):
        await client.request("GET", MEMBERS, path_params={"org": "acme"})
    lines = [r.getMessage() for r in caplog.records if r.name == "sentry_members_async"]
    assert len(lines) == 2
    assert lines[0].startswith("GET /api/0/organizations/acme/members/ -> 404 in ")
    assert lines[1] == (
        "GET /api/0/organizations/acme/members/ failed after 1 attempt(s): "
        "NotFoundError (gave up after 1 attempts)"
    )
