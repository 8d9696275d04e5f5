"""One rate limit across processes: 4 processes x 8 tasks share a token through Redis.

200 GETs against the emulator at 20 requests per 2 s (bound: 20 s), each
process with a ``RedisLimiter`` on one local redis-server; and the same load
with each process limiting on its own (what happens without sharing). Needs
the ``redis-server`` binary (Debian package); without it the script says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import shutil
import socket
import subprocess
import time

from _common import pick, summary

from sentry_members_async import RateLimitedError, SentryClient
from sentry_members_async.ratelimit_redis import RedisLimiter
from sentry_members_async.testing import RateLimit, SentryEmulator

LIMIT = RateLimit(limit=20, window=2.0)
PROCESSES, TASKS, PER_PROCESS = 4, 8, pick(50, 10)


def worker(url: str, token: str, redis_url: str | None) -> int:
    """Requests that succeeded (a request still refused after every retry does not)."""

    async def run() -> int:
        limiter = RedisLimiter.for_token(redis_url, token) if redis_url else None
        done = 0
        async with SentryClient(token, base_url=url, limiter=limiter) as client:
            left = list(range(PER_PROCESS))

            async def task() -> None:
                nonlocal done
                while left:
                    left.pop()
                    with contextlib.suppress(RateLimitedError):
                        await client.org("acme").members.get("me")
                        done += 1

            await asyncio.gather(*(task() for _ in range(TASKS)))
        if limiter is not None:
            await limiter.aclose()
        return done

    return asyncio.run(run())


def measure(redis_url: str | None) -> tuple[float, int, int]:
    emu = SentryEmulator(seed=5, rate_limit=LIMIT, retry_after=False)
    emu.add_org("acme")
    token = emu.add_token("acme")
    with emu.serve_in_thread() as url:
        started = time.monotonic()
        with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
            done = sum(pool.starmap(worker, [(url, token, redis_url)] * PROCESSES))
        took = time.monotonic() - started
    return took, emu.stats()["rate_limited"], done


def main() -> None:
    binary = shutil.which("redis-server")
    if binary is None:
        print("redis-server is not installed: apt-get install redis-server to run this benchmark")
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(  # noqa: S603 - the Debian binary
        [binary, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    bound = PROCESSES * PER_PROCESS / (LIMIT.limit / LIMIT.window)
    try:
        shared = measure(f"redis://127.0.0.1:{port}/0")
        alone = measure(None)
    finally:
        server.kill()
        server.wait()
    print(f"{PROCESSES} processes x {TASKS} tasks, {PROCESSES * PER_PROCESS} GETs, 20 per 2 s\n")
    print("| limiter | succeeded | seconds | bound (s) | time vs bound | server 429s |")
    print("|---|---|---|---|---|---|")
    for label, (took, limited, done) in (
        ("RedisLimiter, shared", shared),
        ("RateLimiter, one per process", alone),
    ):
        print(
            f"| {label} | {done}/{PROCESSES * PER_PROCESS} | {took:.1f} | {bound:.0f} "
            f"| {took / bound:.0%} | {limited} |"
        )
    summary(
        "11. one limit across 4 processes (Redis)",
        f"{shared[1]} 429s, {shared[0]:.1f} s ({shared[0] / bound:.0%} of bound time)",
        f"per-process limiters: {alone[1]} 429s, {alone[0]:.1f} s",
        f"{alone[1]} vs {shared[1]} 429s",
        "0 429s, within 10 % of the bound",
        shared[1] == 0 and shared[0] <= 1.1 * bound,
    )


if __name__ == "__main__":
    main()
