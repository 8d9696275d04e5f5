"""RedisLimiter with the server's clock 10 minutes off (finding #8 of the 2026-12-03
review, the Redis half): the window's end is written on Redis's clock as the time
left until the reset, never the reset epoch compared with Redis's clock."""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest

from sentry_members_async import SentryClient
from sentry_members_async.ratelimit_redis import RedisLimiter
from sentry_members_async.testing import RateLimit, SentryEmulator

from .test_ratelimit_redis import REDIS, _serve, redis_server

pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed")
__all__ = ["redis_server"]  # the fixture, shared with test_ratelimit_redis


@pytest.mark.parametrize(
    "skew", [pytest.param(600.0, id="behind"), pytest.param(-600.0, id="ahead")]
)
async def test_a_skewed_client_shares_the_servers_windows_through_redis(
    redis_server: tuple[str, subprocess.Popen[bytes]], skew: float
) -> None:
    redis_url, _ = redis_server
    limit = RateLimit(limit=20, window=1.0)
    emu = _serve(
        SentryEmulator(
            seed=3, rate_limit=limit, retry_after=False, clock=lambda: time.time() + skew
        )
    )
    token = emu.add_token("acme")
    limiter = RedisLimiter.for_token(redis_url, token)
    async with SentryClient(
        token, base_url="https://sentry.test", transport=emu.transport(), limiter=limiter
    ) as client:
        acme = client.org("acme")
        results = await asyncio.gather(
            *(acme.members.get("me") for _ in range(60)), return_exceptions=True
        )
    await limiter.aclose()
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert emu.stats()["rate_limited"] == 0
    assert [r.status for r in emu.requests] == [200] * 60
    assert limiter.fallback is None
