"""The tokens never appear in logs, reprs, exception texts or hook payloads."""

from __future__ import annotations

import itertools
import logging
import traceback

import pytest
from aiohttp import web

from sentry_members_async import APIError, Request, Response, SentryClient, TransportError
from sentry_members_async.retry import RetryPolicy

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
