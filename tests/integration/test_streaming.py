"""Streaming a 10,000-member organization: order, completeness, prefetch, early exit."""

from __future__ import annotations

import asyncio
import gc

import pytest

from sentry_members_async import SentryClient
from sentry_members_async.testing import SentryEmulator


@pytest.fixture(scope="module")
def big() -> SentryEmulator:
    emu = SentryEmulator(seed=9, rate_limit=None)
    emu.add_org("acme")
    emu.add_members("acme", 9_999, pending_ratio=0.05)  # + the owner: 10,000
    return emu


@pytest.mark.parametrize("prefetch", [1, 8])
async def test_lists_every_member_once_in_server_order(big: SentryEmulator, prefetch: int) -> None:
    big.reset_log()
    token = big.add_token("acme")
    with big.serve_in_thread() as url:
        async with SentryClient(token, base_url=url) as client:
            members = [m async for m in client.org("acme").members.list(prefetch=prefetch)]
    expected = [str(m["id"]) for m in big.members("acme")]
    assert len(expected) == 10_000
    assert [m.id for m in members] == expected
    assert sum(m.pending for m in members) == sum(m["pending"] for m in big.members("acme"))
    lists = big.find("GET", "/api/0/organizations/acme/members/")
    assert 100 <= len(lists) <= 100 + prefetch
    if prefetch == 1:
        assert len(lists) == 100


async def test_break_cancels_in_flight_pages(big: SentryEmulator) -> None:
    big.reset_log()
    token = big.add_token("acme")
    with big.serve_in_thread() as url:
        async with SentryClient(token, base_url=url) as client:
            seen = 0
            async for _member in client.org("acme").members.list(prefetch=8):
                seen += 1
                if seen == 150:
                    break
            gc.collect()
            for _ in range(5):
                await asyncio.sleep(0)
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            assert others == []
    assert seen == 150
    assert len(big.find("GET", "/api/0/organizations/acme/members/")) <= 2 + 8


async def test_limit_and_pages(big: SentryEmulator) -> None:
    big.reset_log()
    token = big.add_token("acme")
    with big.serve_in_thread() as url:
        async with SentryClient(token, base_url=url) as client:
            acme = client.org("acme")
            first = await acme.members.list(limit=250, prefetch=2).collect()
            async with acme.members.list(page_size=40, prefetch=3) as paginator:
                sizes = [len(page) async for page in paginator.pages()]
    assert [m.id for m in first] == [str(m["id"]) for m in big.members("acme")[:250]]
    assert sizes == [40] * 250
