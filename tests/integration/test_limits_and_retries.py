"""The limiter and the retry policy against the emulator, with default settings."""

from __future__ import annotations

import asyncio
import time

from sentry_members_async import SentryClient
from sentry_members_async.pipeline import RetryEvent
from sentry_members_async.retry import RetryPolicy
from sentry_members_async.testing import RateLimit, SentryEmulator
from sentry_members_async.testing.faults import ResetAfter, ResetBefore, Status
from sentry_members_async.transports.aiohttp import AiohttpTransport

REQUESTS = 100


async def test_runs_at_the_limit_without_a_single_429() -> None:
    # Five windows at the limit (sentry.io's is 40 per 1 s): long enough to cross
    # several resets, each learned from the headers alone.
    emu = SentryEmulator(seed=1, rate_limit=RateLimit(limit=20, window=1.0), retry_after=False)
    emu.add_org("acme")
    emu.add_members("acme", 10)
    token = emu.add_token("acme")
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(REQUESTS):
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
    print(f"\n{REQUESTS} GETs at 20 per 1 s: {took:.1f} s, {stats['by_status']}")
    assert len(statuses) == REQUESTS
    assert stats["rate_limited"] == 0
    assert stats["by_status"] == {200: REQUESTS}
    assert client.stats.retries == 0


async def test_list_survives_503_429_and_resets() -> None:
    emu = SentryEmulator(seed=4, rate_limit=None)
    emu.add_org("acme")
    # 50 pages of 100; each fault on about one page in 12 to 16, as many faults
    # as 100 pages at half the ratio gave, for half the decoding.
    emu.add_members("acme", 4_999, pending_ratio=0.05)
    token = emu.add_token("acme")
    path = "/api/0/organizations/acme/members/"
    emu.inject("GET", path, Status(503, {"detail": "unavailable"}), ratio=0.08)
    emu.inject("GET", path, Status(429, "too frequently"), ratio=0.08)  # no Retry-After
    emu.inject("GET", path, ResetBefore(), ratio=0.06)
    emu.inject("GET", path, ResetAfter(), ratio=0.06)
    transport = AiohttpTransport()
    try:
        with emu.serve_in_thread() as url:
            async with SentryClient(token, base_url=url, transport=transport) as client:
                ids = [m.id async for m in client.org("acme").members.list(prefetch=8)]
    finally:
        await transport.aclose()
    assert len(ids) == 5_000
    assert len(set(ids)) == 5_000
    assert ids == [str(m["id"]) for m in emu.members("acme")]
    stats = emu.stats()
    assert stats["by_status"][503] > 0
    assert stats["by_status"][429] > 0
    assert stats["dropped"] > 0
    faults = stats["by_status"][503] + stats["by_status"][429] + stats["dropped"]
    # Every fault on a page we needed was sent again: by the retry loop, or, for a
    # connection dropped before the answer, by the transport's one resend on a new
    # connection (which the retry loop never sees). Faults on prefetched pages past
    # the end were cancelled with them.
    sent_again = client.stats.retries + transport.stale_resent
    assert faults - 8 <= sent_again <= faults


async def _invite_under(fault: object, calls: set[int], *, timeout: float = 30.0) -> SentryEmulator:
    emu = SentryEmulator(seed=2, rate_limit=None)
    emu.add_org("acme")
    token = emu.add_token("acme")
    emu.inject("POST", "/api/0/organizations/acme/members/", fault, calls=calls)  # type: ignore[arg-type]
    with emu.serve_in_thread() as url:
        # Backoff without jitter (0.5 s, 1 s, ...) keeps the order of events fixed.
        no_jitter = RetryPolicy(jitter=lambda low, high: high)
        async with SentryClient(token, base_url=url, timeout=timeout, retry=no_jitter) as client:
            member = await client.org("acme").members.invite("once@example.com")
    assert member.email == "once@example.com"
    assert member.pending
    assert emu.invites_created("acme") == {"once@example.com": 1}
    return emu


async def test_invite_whose_answer_was_lost_is_not_sent_twice() -> None:
    emu = await _invite_under(ResetAfter(), {1})
    # the POST took effect; the client looked the invite up instead of re-sending
    assert [(r.method, r.status) for r in emu.requests] == [("POST", None), ("GET", 200)]
    assert emu.requests[1].params["query"] == "email:once@example.com"


async def test_invite_reset_before_the_handler_is_sent_again() -> None:
    emu = await _invite_under(ResetBefore(), {1})
    assert [(r.method, r.status) for r in emu.requests] == [
        ("POST", None),
        ("GET", 200),
        ("POST", 201),
    ]


async def test_a_create_sent_again_is_one_retry_of_the_one_loop() -> None:
    """The re-send after a lost answer (confirmed not to have taken effect) goes
    through the client's retry loop: the retry hook hears it and the stats count it
    (it was a loop of its own in api/_common.py, which neither saw)."""
    emu = SentryEmulator(seed=2, rate_limit=None)
    emu.add_org("acme")
    token = emu.add_token("acme")
    emu.inject("POST", "/api/0/organizations/acme/members/", ResetBefore(), calls={1})
    retries: list[RetryEvent] = []
    with emu.serve_in_thread() as url:
        no_jitter = RetryPolicy(jitter=lambda low, high: high)
        async with SentryClient(
            token, base_url=url, retry=no_jitter, on_retry=retries.append
        ) as client:
            member = await client.org("acme").members.invite("again@example.com")
            stats = client.stats
    assert member.email == "again@example.com"
    assert [(r.method, r.status) for r in emu.requests] == [
        ("POST", None),
        ("GET", 200),  # the confirmation read: not there
        ("POST", 201),
    ]
    assert [(e.method, e.path, e.attempt, e.status) for e in retries] == [
        ("POST", "/api/0/organizations/acme/members/", 1, None)
    ]
    assert retries[0].delay == 0.5  # the policy's first backoff, as for any retry
    assert stats.retries == 1
    assert emu.invites_created("acme") == {"again@example.com": 1}


async def test_invite_retried_after_503_creates_once() -> None:
    emu = await _invite_under(Status(503, {"detail": "unavailable"}), {1, 2})
    assert [(r.method, r.status) for r in emu.requests] == [
        ("POST", 503),
        ("POST", 503),
        ("POST", 201),
    ]


async def test_invite_timeout_then_already_member_counts_as_success() -> None:
    from sentry_members_async.testing.faults import Slow

    emu = await _invite_under(Slow(0.6), {1}, timeout=0.3)
    # In order of completion: the look-up finds nothing (the slow POST has not run
    # yet), the POST is sent again and told "already a member" (the slow one has
    # applied meanwhile), and the client finds the invite: success, created once.
    assert [(r.method, r.status) for r in emu.requests] == [
        ("GET", 200),
        ("POST", 201),
        ("POST", 400),
        ("GET", 200),
    ]
