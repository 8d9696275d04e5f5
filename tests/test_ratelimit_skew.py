"""The server's clock read from its answers (``ratelimit/skew.py``), with fake clocks.

Finding #8 of the 2026-12-03 review: the limiter, the retry policy and the
Redis limiter compared ``X-Sentry-Rate-Limit-Reset`` (the server's epoch) with
this host's clock. The integration test is ``tests/test_clock_skew.py``.
"""

from __future__ import annotations

import asyncio
import email.utils
import math

import pytest
from yarl import URL

from sentry_members_async.errors import RateLimitedError
from sentry_members_async.pipeline.classify import error_from_response
from sentry_members_async.ratelimit import RateLimiter
from sentry_members_async.ratelimit.skew import ServerClock
from sentry_members_async.retry import RetryPolicy
from sentry_members_async.transports.base import Headers, Request, Response
from sentry_members_async.waits import parse_http_date, requested_wait

EPOCH = 1_700_000_000.0


def http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


def test_parse_http_date() -> None:
    assert parse_http_date("Tue, 14 Nov 2023 22:13:20 GMT") == EPOCH
    assert parse_http_date(None) is None
    assert parse_http_date("") is None
    assert parse_http_date("yesterday") is None
    assert parse_http_date("Tue, 14 Nov 2023 22:13:20") is None  # no zone: not an HTTP date


def test_clocks_in_sync_are_trusted_as_they_are() -> None:
    clock = ServerClock()
    for i in range(50):
        local = EPOCH + i * 0.137
        clock.learn(
            received=local + 0.03,
            sent=local,
            date=http_date(math.floor(local + 0.01)),
            reset=math.floor(local + 0.01) + 1.0,
            window=1.0,
        )
    assert clock.offset == 0.0
    assert clock.low <= 0.0 <= clock.high


@pytest.mark.parametrize("skew", [600.0, -600.0, 5.25, -0.75])
def test_a_skew_is_bounded_from_below_and_closes_in(skew: float) -> None:
    clock = ServerClock()
    for i in range(200):
        local = EPOCH + i * 0.0731
        server = local + 0.01 + skew  # the server answers 10 ms after the send
        clock.learn(
            received=local + 0.02,
            sent=local,
            date=http_date(math.floor(server)),
            reset=math.floor(server) + 1.0,
            window=1.0,
        )
        # Once this host's clock is shown to be off (0 is out of bounds), never ahead
        # of the server's: a window's end is never placed before the server's.
        assert clock.low <= skew + 0.01 <= clock.high + 0.01
        assert clock.offset == 0.0 or clock.offset <= skew + 0.01
    assert skew - 0.02 <= clock.offset <= skew + 0.01
    assert clock.now(EPOCH) == EPOCH + clock.offset


def test_a_stepped_clock_starts_the_learning_over() -> None:
    clock = ServerClock()
    clock.learn(
        received=EPOCH + 0.02, sent=EPOCH, date=http_date(EPOCH + 600), reset=None, window=None
    )
    assert 599.0 <= clock.offset <= 600.0
    # This host's clock was stepped 600 s forward (NTP): the old bounds contradict.
    clock.learn(
        received=EPOCH + 600.5,
        sent=EPOCH + 600.4,
        date=http_date(EPOCH + 600),
        reset=None,
        window=None,
    )
    assert clock.low <= 0.0 <= clock.high
    assert clock.offset == 0.0


def test_an_answer_without_date_or_reset_teaches_nothing() -> None:
    clock = ServerClock()
    assert clock.learn(received=EPOCH, sent=None, date=None, reset=None, window=None) is False
    assert (clock.low, clock.high, clock.offset) == (-math.inf, math.inf, 0.0)


def test_the_wait_a_429_names_is_read_on_the_servers_clock() -> None:
    # The server's clock is 10 minutes ahead of ours: its reset is 2 s after its Date.
    headers = {"Date": http_date(EPOCH + 600), "X-Sentry-Rate-Limit-Reset": str(EPOCH + 602)}
    assert requested_wait(headers) == 2.0
    headers = {"Date": http_date(EPOCH - 600), "Retry-After": http_date(EPOCH - 597)}
    assert requested_wait(headers) == 3.0
    # An explicit now still wins (the limiter passes its reading of the server's clock).
    assert requested_wait(headers, now=EPOCH - 599) == 2.0


def test_the_retry_policy_waits_what_the_server_asked_whatever_our_clock() -> None:
    headers = {"Date": http_date(EPOCH + 600), "X-Sentry-Rate-Limit-Reset": str(EPOCH + 603)}
    policy = RetryPolicy(jitter=lambda low, high: low)
    decision = policy.decide(method="GET", attempt=1, elapsed=0.0, status=429, headers=headers)
    assert (decision.retry, decision.delay) == (True, 3.0)
    error = classify_error(headers)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 3.0


def classify_error(headers: dict[str, str]) -> Exception:
    request = Request("GET", URL("https://sentry.io/api/0/organizations/acme/members/"))
    response = Response(429, Headers(headers), b'{"detail": "too fast"}', request, 0.0)
    return error_from_response(response)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return EPOCH + self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


@pytest.mark.parametrize("skew", [-600.0, 400.0])
async def test_the_limiter_waits_for_the_servers_window_not_the_skew(skew: float) -> None:
    """40 per 1 s window, the server's clock ``skew`` s off ours; 120 requests."""
    fake = FakeTime()
    lim = RateLimiter(clock=fake.monotonic, wall_clock=fake.wall, sleep=fake.sleep)
    counted: dict[float, int] = {}
    start = fake.now

    async def one() -> None:
        async with lim.acquire():
            server = fake.wall() + skew + 0.005  # 5 ms on the way there
            reset = math.floor(server) + 1.0
            counted[reset] = counted.get(reset, 0) + 1
            fake.now += 0.01
            lim.observe(
                429 if counted[reset] > 40 else 200,
                {
                    "Date": http_date(math.floor(server)),
                    "X-Sentry-Rate-Limit-Limit": "40",
                    "X-Sentry-Rate-Limit-Remaining": str(max(0, 40 - counted[reset])),
                    "X-Sentry-Rate-Limit-Reset": str(reset),
                },
            )

    for _ in range(120):
        await one()
    assert max(counted.values()) == 40  # never over the server's limit: no 429
    assert lim.rate_limited == 0
    # 120 requests: three windows, plus at most one second the first answers left unknown.
    assert fake.now - start <= 4.0
