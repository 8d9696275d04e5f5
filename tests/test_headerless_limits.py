"""Rate limits as Sentry 23.7 answers them: no Retry-After, odd bodies, odd headers, or none.

Measured on a real 23.7.1 server: no API 429 carries ``Retry-After``; the
generic limiter's 429 is ``text/html`` whose body is a JSON string
(``json.dumps`` of its message), with ``X-Sentry-Rate-Limit-ConcurrentRemaining:
None`` literally; a self-hosted install (``SENTRY_SELF_HOSTED``, the default)
sends no rate-limit header at all. And a path without its trailing slash is a
404 with a ``text/plain`` body, no redirect.
"""

from __future__ import annotations

import ast
import email.utils
import json
import pathlib
import time

import pytest
from aiohttp import web
from yarl import URL

from sentry_members_async import InviteQuotaError, RateLimitedError, SentryClient
from sentry_members_async.errors import requested_wait
from sentry_members_async.pipeline import error_from_response
from sentry_members_async.pipeline.observer import RetryEvent
from sentry_members_async.ratelimit import NoLimiter
from sentry_members_async.retry import RetryPolicy
from sentry_members_async.transports import Request, Response

from .conftest import TOKEN, RecordingServer
from .test_ratelimit import EPOCH, FakeTime, limiter

REQ = Request("GET", URL("https://sentry.example/api/0/organizations/acme/members/"))
GENERIC = "You are attempting to use this endpoint too frequently. Limit is 5 requests in 1 seconds"
#: The generic limiter's headers on its 429 (23.7.1, SENTRY_SELF_HOSTED=False).
SENTRY_23_7_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "X-Sentry-Rate-Limit-Remaining": "0",
    "X-Sentry-Rate-Limit-Limit": "5",
    "X-Sentry-Rate-Limit-Reset": str(int(EPOCH) + 1),
    "X-Sentry-Rate-Limit-ConcurrentRemaining": "None",
    "X-Sentry-Rate-Limit-ConcurrentLimit": "None",
}


def answer(body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(429, headers or {"Content-Type": "text/html; charset=utf-8"}, body, REQ)


# -- the error -------------------------------------------------------------


def test_the_generic_limiters_json_string_body_is_the_detail() -> None:
    error = error_from_response(answer(json.dumps(GENERIC).encode(), SENTRY_23_7_HEADERS))
    assert type(error) is RateLimitedError
    assert error.detail == GENERIC
    assert error.body == GENERIC
    assert GENERIC in str(error)


def test_a_json_string_holding_json_is_read_for_its_detail() -> None:
    inner = json.dumps({"detail": "You are being rate limited."})
    error = error_from_response(answer(json.dumps(inner).encode()))
    assert type(error) is RateLimitedError
    assert error.detail == "You are being rate limited."
    assert error.body == {"detail": "You are being rate limited."}


def test_the_invite_quota_is_known_in_a_json_string_too() -> None:
    inner = json.dumps({"detail": "You are being rate limited for too many invitations."})
    error = error_from_response(answer(json.dumps(inner).encode()))
    assert isinstance(error, InviteQuotaError)


def test_a_string_that_only_looks_like_json_stays_text() -> None:
    error = error_from_response(answer(json.dumps("{not json").encode()))
    assert error.detail == "{not json"


def test_no_retry_after_no_headers_means_no_wait_named() -> None:
    error = error_from_response(answer(json.dumps(GENERIC).encode()))
    assert isinstance(error, RateLimitedError)
    assert error.retry_after is None


# -- the retry policy ----------------------------------------------------------


def policy() -> RetryPolicy:
    return RetryPolicy(base_delay=1.0, max_delay=60.0, jitter=lambda low, high: high)


def test_without_retry_after_the_wait_is_until_the_windows_reset() -> None:
    headers = {"X-Sentry-Rate-Limit-Reset": str(int(time.time()) + 30)}
    decision = policy().decide(method="GET", attempt=1, elapsed=0, status=429, headers=headers)
    assert decision.retry
    assert 28.0 <= decision.delay <= 31.0


def test_without_any_header_the_wait_is_exponential_backoff() -> None:
    delays = [
        policy().decide(method="GET", attempt=n, elapsed=0, status=429, headers={}).delay
        for n in range(1, 5)
    ]
    assert delays == [1.0, 2.0, 4.0, 8.0]


def test_a_reset_already_past_falls_back_to_backoff() -> None:
    # (clock skew: the server's window ended by our clock): not a storm of instant retries
    headers = {"X-Sentry-Rate-Limit-Reset": "1000"}
    delays = [
        policy().decide(method="GET", attempt=n, elapsed=0, status=429, headers=headers).delay
        for n in range(1, 4)
    ]
    assert delays == [1.0, 2.0, 4.0]


def test_the_literal_none_headers_are_no_numbers() -> None:
    decision = policy().decide(
        method="GET",
        attempt=2,
        elapsed=0,
        status=429,
        headers={**SENTRY_23_7_HEADERS, "X-Sentry-Rate-Limit-Reset": "None"},
    )
    assert decision.retry
    assert decision.delay == 2.0


# -- the limiter -----------------------------------------------------------------


async def test_the_23_7_headers_are_learned_and_none_is_ignored() -> None:
    fake = FakeTime()
    lim = limiter(fake, max_concurrency=25)
    async with lim.acquire():
        lim.observe(429, SENTRY_23_7_HEADERS)
    assert lim._slots.size == 25  # "None" is no concurrent limit
    assert (lim.limit, lim.rate_limited) == (5, 1)
    async with lim.acquire():
        pass
    assert fake.now == pytest.approx(1.0)  # until the window's reset


async def test_a_headerless_429_pauses_with_growing_jittered_backoff() -> None:
    fake = FakeTime()
    lim = limiter(fake, jitter=lambda low, high: high)
    async with lim.acquire():
        lim.observe(200, {})  # a self-hosted server: no limit announced
    pauses = []
    for _ in range(4):
        started = fake.now
        async with lim.acquire():
            lim.observe(429, {"Content-Type": "text/html"})
        async with lim.acquire():
            pauses.append(fake.now - started)
    assert pauses == [1.0, 2.0, 4.0, 8.0]
    # an answer that is not a 429 starts the backoff over
    async with lim.acquire():
        lim.observe(200, {})
    started = fake.now
    async with lim.acquire():
        lim.observe(429, {})
    async with lim.acquire():
        assert fake.now - started == 1.0


async def test_429s_of_one_burst_count_as_one_step() -> None:
    fake = FakeTime()
    lim = limiter(fake, adaptive=False, jitter=lambda low, high: high)
    for _ in range(10):  # ten requests in flight, all answered 429 at once
        lim.observe(429, {})
    async with lim.acquire():
        assert fake.now == 1.0


async def test_the_jitter_never_makes_the_pause_vanish() -> None:
    fake = FakeTime()
    lim = limiter(fake, adaptive=False, jitter=lambda low, high: low)
    lim.observe(429, {})
    async with lim.acquire():
        assert fake.now == 0.5  # half the step at least


# -- end to end: a 23.7-like server ----------------------------------------------------


async def test_the_client_rides_out_23_7_429s_without_retry_after(server: RecordingServer) -> None:
    calls = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls <= 2:
            return web.Response(
                status=429,
                body=json.dumps(GENERIC).encode(),
                headers={
                    "Content-Type": "text/html; charset=utf-8",
                    "X-Sentry-Rate-Limit-ConcurrentRemaining": "None",
                },
            )
        return web.json_response([])

    server.handler = handler
    retries: list[RetryEvent] = []
    async with SentryClient(
        TOKEN,
        base_url=server.url,
        allow_insecure_http=True,
        limiter=NoLimiter(),
        retry=RetryPolicy(base_delay=0.01),
        on_retry=retries.append,
    ) as client:
        response = await client.request(
            "GET", "/api/0/organizations/{org}/members/", path_params={"org": "acme"}
        )
    assert response.status == 200
    assert response.attempts == 3
    assert [event.status for event in retries] == [429, 429]
    assert all(event.delay <= 0.04 for event in retries)  # backoff, not a guessed pause


# -- trailing slashes ----------------------------------------------------------------


async def test_a_rest_path_without_its_trailing_slash_gets_one(server: RecordingServer) -> None:
    async with SentryClient(TOKEN, base_url=server.url, allow_insecure_http=True) as client:
        request = client.build_request(
            "GET",
            "/api/0/organizations/{org}/members",
            path_params={"org": "acme"},
            params={"q": "x"},
        )
        assert request.url.path == "/api/0/organizations/acme/members/"
        assert request.url.query_string == "q=x"
        await client.request("GET", "/api/0/organizations/acme/teams")
    assert [seen.raw_path for seen in server.seen] == ["/api/0/organizations/acme/teams/"]


def test_scim_paths_keep_theirs_without() -> None:
    client = SentryClient(TOKEN, base_url="https://sentry.example", scim_token="s")
    users = client.build_request(
        "GET", "/api/0/organizations/{org}/scim/v2/Users", path_params={"org": "acme"}, scim=True
    )
    assert users.url.path == "/api/0/organizations/acme/scim/v2/Users"
    user = client.build_request("GET", "/api/0/organizations/acme/scim/v2/Users/7")
    assert user.url.path == "/api/0/organizations/acme/scim/v2/Users/7"


def test_every_rest_path_the_package_names_ends_with_a_slash() -> None:
    package = pathlib.Path(__file__).parent.parent / "sentry_members_async"
    paths = set()
    for source in package.rglob("*.py"):
        if "testing" in source.parts:
            continue  # the emulator's routes
        for node in ast.walk(ast.parse(source.read_text())):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and text.startswith("/api/0/"):
                paths.add(text)
    assert paths
    missing = sorted(p for p in paths if "/scim/v2/" not in p and not p.endswith("/"))
    assert missing == []


# -- one wait, read in one place --------------------------------------------------

#: 429s and the wait each names (seconds after EPOCH), or None: it names none.
NAMED_WAITS: list[tuple[dict[str, str], float | None]] = [
    ({}, None),
    ({"Retry-After": "7"}, 7.0),
    ({"Retry-After": "0"}, 0.0),  # "come back now" is a wait that is named
    ({"Retry-After": "soon"}, None),
    ({"Retry-After": email.utils.formatdate(EPOCH + 20, usegmt=True)}, 20.0),
    ({"Retry-After": email.utils.formatdate(EPOCH - 20, usegmt=True)}, None),  # past date
    ({"X-Sentry-Rate-Limit-Reset": str(EPOCH + 12)}, 12.0),
    ({"X-Sentry-Rate-Limit-Reset": str(EPOCH - 12)}, None),  # past reset: skewed clock
    ({"X-Sentry-Rate-Limit-Reset": "None"}, None),
    # a past Retry-After date names nothing: the window's reset, if ahead, does
    (
        {
            "Retry-After": email.utils.formatdate(EPOCH - 20, usegmt=True),
            "X-Sentry-Rate-Limit-Reset": str(EPOCH + 5),
        },
        5.0,
    ),
    ({"Retry-After": "3", "X-Sentry-Rate-Limit-Reset": str(EPOCH + 30)}, 3.0),
]


@pytest.mark.parametrize(("headers", "named"), NAMED_WAITS)
def test_requested_wait_is_the_wait_a_429_names(
    headers: dict[str, str], named: float | None
) -> None:
    assert requested_wait(headers, now=EPOCH) == (
        None if named is None else pytest.approx(named, abs=1e-6)
    )


@pytest.mark.parametrize(("headers", "named"), NAMED_WAITS)
def test_the_error_the_policy_and_the_limiter_agree_on_the_wait(
    headers: dict[str, str], named: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "time", lambda: EPOCH)  # the error's and the policy's wall clock
    error = error_from_response(
        Response(429, {"Content-Type": "text/html", **headers}, json.dumps(GENERIC).encode(), REQ)
    )
    assert isinstance(error, RateLimitedError)
    decision = policy().decide(method="GET", attempt=3, elapsed=0, status=429, headers=headers)
    fake = FakeTime()  # wall clock at EPOCH
    lim = limiter(fake, adaptive=False, jitter=lambda low, high: high)
    lim.observe(429, headers)
    paused = lim._paused_until - fake.now
    if named is None:
        assert error.retry_after is None
        assert "retry after" not in str(error)
        assert decision.delay == 4.0  # the policy's backoff (attempt 3)
        assert paused == 1.0  # the limiter's first backoff step
    else:
        assert error.retry_after == pytest.approx(named, abs=1e-6)
        assert f"(retry after {error.retry_after:g} s)" in str(error)
        assert decision.delay == pytest.approx(named + 0.25, abs=1e-6)  # + its jitter
        assert paused == pytest.approx(named, abs=1e-6)


def test_a_past_reset_is_no_retry_after_of_zero() -> None:
    # the reviewer's case: the retry backed off, the error said "(retry after 0 s)"
    error = error_from_response(
        answer(
            json.dumps(GENERIC).encode(),
            {**SENTRY_23_7_HEADERS, "X-Sentry-Rate-Limit-Reset": "1000"},
        )
    )
    assert isinstance(error, RateLimitedError)
    assert error.retry_after is None
    assert "retry after 0 s" not in str(error)
