"""A Redis that stalls (SIGSTOP), then answers again (SIGCONT): findings #9 and #15
of the 2026-12-03 review, with a real redis-server (skipped without the binary).

#9: on the user's own ``redis.asyncio.Redis`` client without socket timeouts,
every request waited behind a stalled Redis for good. #15: after one stall the
limiter stayed local for the rest of its life, so a fleet that shares a token
stopped sharing its limit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis

from sentry_members_async import SentryClient
from sentry_members_async.ratelimit_redis import RedisLimiter
from sentry_members_async.testing import RateLimit, SentryEmulator

from .test_ratelimit_redis import LIMIT, REDIS, _serve, redis_server

pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed")
__all__ = ["redis_server"]  # the fixture, shared with test_ratelimit_redis

#: A bound for a request that must not hang (the failure mode is forever).
HANG = 30.0


@pytest.fixture
def stalled() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes SIGSTOPped by a test: always continued at the end."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        os.kill(proc.pid, signal.SIGCONT)


def stall(proc: subprocess.Popen[bytes], stalled: list[subprocess.Popen[bytes]]) -> None:
    stalled.append(proc)
    os.kill(proc.pid, signal.SIGSTOP)


def shared(limiter: RedisLimiter) -> bool:
    """Whether the limiter uses Redis (not its local fallback)."""
    return limiter.fallback is None


async def test_a_stalled_redis_on_the_users_client_without_timeouts_does_not_hang(
    redis_server: tuple[str, subprocess.Popen[bytes]],
    stalled: list[subprocess.Popen[bytes]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    redis_url, proc = redis_server
    emu = _serve(SentryEmulator(seed=7, rate_limit=LIMIT, retry_after=False))
    token = emu.add_token("acme")
    # The user's own client: no socket timeout at all (redis-py 5's default).
    own = aioredis.Redis.from_url(redis_url, socket_timeout=None, socket_connect_timeout=None)
    limiter = RedisLimiter.for_token(own, token, socket_timeout=0.5)
    try:
        async with SentryClient(
            token, base_url="https://sentry.test", transport=emu.transport(), limiter=limiter
        ) as client:
            acme = client.org("acme")
            await acme.members.get("me")
            assert shared(limiter)
            stall(proc, stalled)
            member = await asyncio.wait_for(acme.members.get("me"), HANG)
        assert member.email is not None
        assert not shared(limiter)
        assert [r.status for r in emu.requests] == [200, 200]
        assert "Redis is unreachable (TimeoutError)" in caplog.text
        os.kill(proc.pid, signal.SIGCONT)
        await asyncio.wait_for(limiter.aclose(), HANG)
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        await own.aclose()


async def test_the_limiter_goes_back_to_redis_when_it_answers_again(
    redis_server: tuple[str, subprocess.Popen[bytes]],
    stalled: list[subprocess.Popen[bytes]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    redis_url, proc = redis_server
    caplog.set_level(logging.INFO, logger="sentry_members_async")
    emu = _serve(SentryEmulator(seed=8, rate_limit=RateLimit(limit=100, window=1.0)))
    token = emu.add_token("acme")
    limiter = RedisLimiter.for_token(redis_url, token, socket_timeout=0.5, recovery_interval=0.2)
    check = aioredis.Redis.from_url(redis_url)
    try:
        async with SentryClient(
            token, base_url="https://sentry.test", transport=emu.transport(), limiter=limiter
        ) as client:
            acme = client.org("acme")
            await acme.members.get("me")
            for _ in range(1000):  # until its update has landed
                if await check.hget(limiter.key, "limit") is not None:
                    break
                await asyncio.sleep(0.01)
            stall(proc, stalled)
            await asyncio.wait_for(acme.members.get("me"), HANG)  # through the local limiter
            assert not shared(limiter)
            os.kill(proc.pid, signal.SIGCONT)
            # Requests go on; once Redis answers a retry, they are counted there again.
            for _ in range(40):
                await asyncio.wait_for(acme.members.get("me"), HANG)
                if shared(limiter):
                    break
                await asyncio.sleep(0.05)
            assert shared(limiter)
            through_redis = limiter.sent  # leaves taken from Redis's shared state
            await acme.members.get("me")
            # That request's leave came from Redis again (the local limiter's are not counted).
            assert limiter.sent == through_redis + 1
            await limiter.aclose()  # the pending updates have landed
        assert await check.hget(limiter.key, "limit") == b"100"
        assert "Redis is unreachable (TimeoutError)" in caplog.text
        assert "Redis answers again" in caplog.text
        assert caplog.text.index("Redis is unreachable") < caplog.text.index("Redis answers again")
        assert "redis)" in repr(limiter)  # RedisLimiter(key=..., redis)
        assert {r.status for r in emu.requests} == {200}
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        await check.aclose()


async def test_a_redis_that_stays_down_is_tried_again_with_backoff(
    redis_server: tuple[str, subprocess.Popen[bytes]],
    stalled: list[subprocess.Popen[bytes]],
) -> None:
    redis_url, proc = redis_server
    emu = _serve(SentryEmulator(seed=9, rate_limit=None))
    token = emu.add_token("acme")
    limiter = RedisLimiter.for_token(redis_url, token, socket_timeout=0.2, recovery_interval=0.1)
    async with SentryClient(
        token, base_url="https://sentry.test", transport=emu.transport(), limiter=limiter
    ) as client:
        acme = client.org("acme")
        await acme.members.get("me")
        stall(proc, stalled)
        for _ in range(20):
            await asyncio.wait_for(acme.members.get("me"), HANG)
            await asyncio.sleep(0.05)
        assert not shared(limiter)
        # Each failed try doubles the wait before the next, up to the cap.
        assert limiter.recovery_tries >= 2
        assert limiter.recovery_delay > 0.1
    os.kill(proc.pid, signal.SIGCONT)
    await asyncio.wait_for(limiter.aclose(), HANG)
    assert len(emu.requests) == 21
