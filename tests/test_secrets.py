"""The tokens never appear in logs, reprs, exception texts or hook payloads."""

from __future__ import annotations

import itertools
import logging
import traceback

import pytest
from aiohttp import web
from yarl import URL

from sentry_members_async import APIError, SentryClient, TransportError
from sentry_members_async.errors import SentryError
from sentry_members_async.retry import RetryPolicy
from sentry_members_async.transports import MemoryTransport, Request, Response

from .conftest import SCIM_TOKEN, TOKEN, RecordingServer


async def test_no_token_anywhere(
    server: RecordingServer, refused_url: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    captured: list[str] = []

    def on_request(request: Request) -> None:
        captured.extend(
            [repr(request), str(request), repr(request.headers), str(dict(request.headers))]
        )

    def on_response(response: Response) -> None:
        captured.extend([repr(response), str(dict(response.request.headers))])

    statuses = itertools.cycle([200, 401, 403, 429, 502])

    async def handler(request: web.Request) -> web.StreamResponse:
        status = next(statuses)
        # A hostile server echoing the credentials back must not make us leak them.
        echo = {"detail": "nope", "auth_len": len(request.headers.get("Authorization", ""))}
        return web.json_response(echo, status=status)

    server.handler = handler
    fast = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.05)
    retries: list[str] = []
    for scim in (False, True):
        async with SentryClient(
            TOKEN,
            scim_token=SCIM_TOKEN,
            base_url=server.url,
            on_request=on_request,
            on_response=on_response,
            on_retry=lambda event: retries.append(repr(event)),
            retry=fast,
        ) as client:
            captured.append(repr(client))
            for _ in range(5):
                try:
                    response = await client.request("GET", "/api/0/x/", scim=scim)
                    captured.append(repr(response))
                except APIError as exc:
                    captured.extend([str(exc), repr(exc), "".join(traceback.format_exception(exc))])
                    captured.append(repr(exc.headers))
        async with SentryClient(
            TOKEN,
            scim_token=SCIM_TOKEN,
            base_url=str(refused_url),
            on_request=on_request,
            on_retry=lambda event: retries.append(repr(event)),
            retry=fast,
        ) as client:
            try:
                await client.request("POST", "/api/0/y/", json={"a": 1}, scim=scim)
            except TransportError as exc:
                captured.extend(
                    [
                        str(exc),
                        repr(exc),
                        repr(exc.request),
                        "".join(traceback.format_exception(exc)),
                    ]
                )
    assert retries  # 429, 502 and the refused connection were retried once each
    captured.extend(retries)
    captured.extend(record.getMessage() for record in caplog.records)
    captured.extend(repr(record.args) for record in caplog.records)
    assert len(captured) > 20
    blob = "\n".join(captured)
    assert "Authorization" in blob  # the header is shown, masked
    assert TOKEN not in blob
    assert SCIM_TOKEN not in blob


async def test_a_token_echoed_by_a_proxy_is_masked_in_hook_payloads_and_reprs() -> None:
    """Finding #10 of the 2026-12-03 review: a proxy that reflects ``Authorization``
    (a header and a body echoing it) put the token in ``on_response`` payloads and
    in ``repr(Response)``; errors were masked, hooks were not."""

    async def reflecting(request: Request) -> Response:
        auth = request.headers.get("Authorization") or ""
        status = 502 if request.method == "GET" and "scim" not in request.url.path else 200
        return Response(
            status,
            {"Content-Type": "text/plain", "X-Debug-Request-Auth": auth},
            f"bad gateway; request had {auth}".encode(),
            request,
        )

    seen: list[Response] = []
    async with SentryClient(
        TOKEN,
        scim_token=SCIM_TOKEN,
        base_url="https://sentry.test",
        transport=MemoryTransport(reflecting),
        retry=RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0),
        on_response=seen.append,
    ) as client:
        with pytest.raises(SentryError) as caught:
            await client.org("acme").members.get("me")
        answer = await client.request("GET", "/api/0/organizations/acme/scim/v2/Users", scim=True)
    assert len(seen) == 3  # two attempts of the member GET, one SCIM GET
    texts = [repr(r) + str(r) + r.body.decode() + str(dict(r.headers)) for r in seen]
    texts += [repr(answer), answer.text(), str(dict(answer.headers))]
    texts += [str(caught.value), repr(caught.value)]
    for text in texts:
        assert TOKEN not in text
        assert SCIM_TOKEN not in text
    assert seen[0].headers["X-Debug-Request-Auth"] == "Bearer <redacted>"
    assert answer.text() == "bad gateway; request had Bearer <redacted>"


def test_repr_of_a_transports_response_masks_its_requests_credentials() -> None:
    """A transport's own answer (before the client) still holds the real request."""
    request = Request(
        "GET",
        URL("https://sentry.test/api/0/"),
        {"Authorization": f"Bearer {TOKEN}", "Cookie": "session=s3cr3t-cookie"},
    )
    response = Response(
        200,
        {"X-Echo": f"Bearer {TOKEN}", "X-Cookie": "session=s3cr3t-cookie"},
        f"you sent {TOKEN} and session=s3cr3t-cookie".encode(),
        request,
    )
    text = repr(response)
    assert TOKEN not in text
    assert "s3cr3t-cookie" not in text
    assert "status=200" in text
    # The values themselves are untouched: a transport's answer is what the server said.
    assert response.headers["X-Echo"] == f"Bearer {TOKEN}"


async def test_has_scim_token_says_whether_one_is_set_never_what_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SENTRY_SCIM_TOKEN", raising=False)
    async with SentryClient("tok", base_url="http://127.0.0.1:9") as without:
        assert without.has_scim_token is False
    async with SentryClient("tok", scim_token="sc1m", base_url="http://127.0.0.1:9") as with_:
        assert with_.has_scim_token is True
        assert "sc1m" not in repr(with_)
    monkeypatch.setenv("SENTRY_SCIM_TOKEN", "from-env")
    async with SentryClient("tok", base_url="http://127.0.0.1:9") as from_env:
        assert from_env.has_scim_token is True
