"""The limiter and the retry policy against the emulator, with default settings."""

from __future__ import annotations

import asyncio
import time

from sentry_members_async import SentryClient
from sentry_members_async.testing import RateLimit, SentryEmulator
from sentry_members_async.testing.faults import ResetAfter, ResetBefore, Status


async def test_runs_at_the_limit_without_a_single_429() -> None:
    emu = SentryEmulator(seed=1, rate_limit=RateLimit(limit=20, window=2.0), retry_after=False)
    emu.add_org("acme")
    emu.add_members("acme", 10)
    token = emu.add_token("acme")
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(200):
        queue.put_nowait(i)
    statuses: list[int] = []
    with emu.serve_in_thread() as url:
        async with SentryClient(token, base_url=url) as client:
            acme = client.org("acme")

            async def worker() -> None:
                while not queue.empty():
                    queue.get_nowait()
                    member = await acme.members.get("me")
                    assert member.org_role == "owner"
                    statuses.append(200)

            started = time.monotonic()
            await asyncio.gather(*(worker() for _ in range(16)))
            took = time.monotonic() - started
    stats = emu.stats()
    print(f"\n200 GETs at 20 per 2 s: {took:.1f} s (bound 20.0 s), {stats['by_status']}")
    assert len(statuses) == 200
    assert stats["rate_limited"] == 0
    assert stats["by_status"] == {200: 200}
    assert client.stats.retries == 0


async def test_list_survives_503_429_and_resets() -> None:
    emu = SentryEmulator(seed=4, rate_limit=None)
    emu.add_org("acme")
    emu.add_members("acme", 9_999, pending_ratio=0.05)
    token = emu.add_token("acme")
    path = "/api/0/organizations/acme/members/"
    emu.inject("GET", path, Status(503, {"detail": "unavailable"}), ratio=0.04)
    emu.inject("GET", path, Status(429, "too frequently"), ratio=0.04)  # no Retry-After
    emu.inject("GET", path, ResetBefore(), ratio=0.03)
    emu.inject("GET", path, ResetAfter(), ratio=0.03)
    with emu.serve_in_thread() as url:
        async with SentryClient(token, base_url=url) as client:
            ids = [m.id async for m in client.org("acme").members.list(prefetch=8)]
    assert len(ids) == 10_000
    assert len(set(ids)) == 10_000
    assert ids == [str(m["id"]) for m in emu.members("acme")]
    stats = emu.stats()
    assert stats["by_status"][503] > 0
    assert stats["by_status"][429] > 0
    assert stats["dropped"] > 0
    faults = stats["by_status"][503] + stats["by_status"][429] + stats["dropped"]
    # Every fault on a page we needed was retried; faults on prefetched pages past
    # the end were cancelled with them.
    assert faults - 8 <= client.stats.retries <= faults
