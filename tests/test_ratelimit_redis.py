"""One rate limit across processes, through a real redis-server (skipped without the binary)."""

from __future__ import annotations

import asyncio
import multiprocessing
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from sentry_members_async import SentryClient
from sentry_members_async.ratelimit_redis import RedisLimiter
from sentry_members_async.testing import RateLimit, SentryEmulator

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(
    REDIS is None, reason="redis-server is not installed (.ci/run installs it with apt-get)"
)
LIMIT = RateLimit(limit=20, window=2.0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def redis_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    assert REDIS is not None
    port = _free_port()
    proc = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _worker(url: str, token: str, redis_url: str, requests: int, tasks: int) -> dict[str, int]:
    async def run() -> dict[str, int]:
        limiter = RedisLimiter.for_token(redis_url, token)
        done = 0
        async with SentryClient(token, base_url=url, limiter=limiter) as client:
            acme = client.org("acme")
            left = list(range(requests))

            async def task() -> None:
                nonlocal done
                while left:
                    left.pop()
                    await acme.members.get("me")
                    done += 1

            await asyncio.gather(*(task() for _ in range(tasks)))
            stats = client.stats
        await limiter.aclose()
        return {"done": done, "rate_limited": stats.rate_limited, "retries": stats.retries}

    return asyncio.run(run())


def _serve(emu: SentryEmulator) -> SentryEmulator:
    emu.add_org("acme")
    emu.add_members("acme", 5)
    return emu


def test_four_processes_share_one_limit(redis_server: tuple[str, object]) -> None:
    redis_url, _ = redis_server
    emu = _serve(SentryEmulator(seed=5, rate_limit=LIMIT, retry_after=False))
    token = emu.add_token("acme")
    per_process, processes = 50, 4
    with emu.serve_in_thread() as url:
        context = multiprocessing.get_context("spawn")
        started = time.monotonic()
        with context.Pool(processes) as pool:
            results = pool.starmap(_worker, [(url, token, redis_url, per_process, 8)] * processes)
            # Let the workers exit on their own: the pool's __exit__ would SIGTERM them,
            # and coverage's SIGTERM handler (sigterm = true) can deadlock a worker,
            # which then hangs the pool's join.
            pool.close()
            pool.join()
        took = time.monotonic() - started
    bound = processes * per_process / (LIMIT.limit / LIMIT.window)
    stats = emu.stats()
    print(
        f"\n{processes} processes x 8 tasks, {processes * per_process} GETs at 20 per 2 s: "
        f"{took:.1f} s (bound {bound:.0f} s), server 429s: {stats['rate_limited']}"
    )
    assert [r["done"] for r in results] == [per_process] * processes
    assert stats["rate_limited"] == 0
    assert stats["by_status"] == {200: processes * per_process}


async def test_redis_dying_mid_run_does_not_stop_the_job(
    redis_server: tuple[str, subprocess.Popen[bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    redis_url, proc = redis_server
    emu = _serve(SentryEmulator(seed=6, rate_limit=LIMIT, retry_after=False))
    token = emu.add_token("acme")
    limiter = RedisLimiter.for_token(redis_url, token)
    with emu.serve_in_thread() as url:
        async with SentryClient(token, base_url=url, limiter=limiter) as client:
            acme = client.org("acme")
            results: list[str] = []

            async def one(i: int) -> None:
                member = await acme.members.get("me")
                results.append(member.id)

            async def kill_later() -> None:
                await asyncio.sleep(1.0)
                proc.kill()

            killer = asyncio.create_task(kill_later())
            await asyncio.gather(*(one(i) for i in range(50)))
            await killer
        await limiter.aclose()
    assert len(results) == 50
    assert limiter.fallback is not None
    assert "Redis is unreachable" in caplog.text
    assert token not in caplog.text
    assert token not in limiter.key
