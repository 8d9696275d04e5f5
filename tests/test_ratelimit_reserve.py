"""Requests sent just before a window ends: held in reserve, released by answers that place them."""

from __future__ import annotations

import asyncio

import pytest

from sentry_members_async.ratelimit import RateLimiter

from .test_ratelimit import FakeTime, headers, limiter, times_of

Late = tuple[RateLimiter, asyncio.Event, list[asyncio.Task[None]]]


def four_late_requests(fake: FakeTime) -> Late:
    """A limiter told (4, 1.0) with four requests sent at 0.7, in flight until the event."""
    fake.now = 0.7  # late in the server's window [0, 1)
    lim = limiter(fake, rate_limit=(4, 1.0))
    gate = asyncio.Event()

    async def one() -> None:
        async with lim.acquire():
            await gate.wait()

    return lim, gate, [asyncio.create_task(one()) for _ in range(4)]


async def test_answers_from_the_window_that_ended_release_the_reserve() -> None:
    fake = FakeTime()
    lim, gate, tasks = four_late_requests(fake)
    for _ in range(5):
        await asyncio.sleep(0)
    fake.now = 1.1  # the answers come back in the next window; the server counted all 4 in [0, 1)
    lim.observe(200, headers(limit=4, remaining=0, reset_in=-0.1, fake=fake))
    # The window has rolled: the 4 requests sent in its last half second are held in
    # reserve (they might have reached the server after the boundary) ...
    first = await times_of(lim, fake, 1)
    # ... until answers from the window that ended show the server counted them there.
    for _ in range(3):
        lim.observe(200, headers(limit=4, remaining=0, reset_in=-0.1, fake=fake))
    gate.set()
    await asyncio.gather(*tasks)
    assert first == pytest.approx([1.1])
    # 3 of the 4 proven to be in the old window: 3 more may go now, the next at 2.0.
    assert await times_of(lim, fake, 3) == pytest.approx([1.1, 1.1, 2.0])


async def test_without_those_answers_the_reserve_holds() -> None:
    fake = FakeTime()
    lim, gate, tasks = four_late_requests(fake)
    for _ in range(5):
        await asyncio.sleep(0)
    fake.now = 1.1
    lim.observe(200, headers(limit=4, remaining=0, reset_in=-0.1, fake=fake))
    gate.set()
    await asyncio.gather(*tasks)
    # Nothing says where the other three landed: one request goes, the rest wait for 2.0.
    assert await times_of(lim, fake, 3) == pytest.approx([1.1, 2.0, 2.0])


async def test_an_answer_for_a_straggler_counts_the_requests_sent_after_it() -> None:
    # Five requests leave 100 ms before the window [0, 1) ends and, the process
    # stalling, reach the server after it: the server counts them as the 1st to
    # 5th of [1, 2). The first answer back is the first straggler's ("1 used");
    # the other four are counted too, and so is the one request sent since.
    fake = FakeTime()
    fake.now = 0.5
    lim = limiter(fake, rate_limit=(10, 1.0))
    async with lim.acquire():  # learn where [0, 1) ends; a 0.1 s round trip
        fake.now = 0.6
        lim.observe(200, headers(limit=10, remaining=9, reset_in=1.0 - fake.now, fake=fake))
    fake.now = 0.9
    answer = [asyncio.Event() for _ in range(5)]

    async def straggler(position: int) -> None:
        async with lim.acquire():
            await answer[position].wait()
            left = 10 - (position + 1)
            lim.observe(200, headers(limit=10, remaining=left, reset_in=2.0 - fake.now, fake=fake))

    tasks = [asyncio.create_task(straggler(k)) for k in range(5)]
    for _ in range(5):
        await asyncio.sleep(0)
    fake.now = 1.02
    assert await times_of(lim, fake, 1) == pytest.approx([1.02])  # the window rolled
    fake.now = 1.05
    answer[0].set()
    await tasks[0]
    # Counted by the server: 5 stragglers + 1; 4 more fit in [1, 2), then 2.0.
    assert await times_of(lim, fake, 5) == pytest.approx([1.05] * 4 + [2.0])
    for event in answer[1:]:
        event.set()
    await asyncio.gather(*tasks)
