"""Cancellation at seeded random points, resource hygiene, and a mixed load with faults."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
import resource
import warnings

import pytest

from sentry_members_async import (
    BulkReport,
    InviteRow,
    MemberId,
    OutcomeKind,
    SentryClient,
    SentryError,
)
from sentry_members_async.retry import RetryPolicy
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.testing.faults import ResetAfter, ResetBefore, Slow, Status


def org(members: int = 300) -> SentryEmulator:
    emu = SentryEmulator(seed=31, rate_limit=None, latency=(0.0, 0.01))
    emu.add_org("acme")
    emu.add_teams("acme", 2)
    emu.add_members("acme", members, teams=2)
    return emu


def other_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


async def settle() -> None:
    """Give cancelled tasks the loop turns they need to finish (bounded)."""
    gc.collect()
    for _ in range(50):
        await asyncio.sleep(0.005)
        if not other_tasks():
            return


@pytest.mark.parametrize("seed", range(6))
async def test_cancel_a_list_at_a_random_point(seed: int) -> None:
    emu = org()
    token = emu.add_token("acme")
    delay = random.Random(seed).uniform(0.0, 0.05)
    with emu.serve_in_thread() as url:
        async with SentryClient(token, base_url=url) as client:
            task = asyncio.create_task(client.org("acme").members.list(page_size=10).collect())
            await asyncio.sleep(delay)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await settle()
            assert other_tasks() == []
        connector = client.transport._session  # type: ignore[attr-defined]
        assert connector is None  # closed with the client


@pytest.mark.parametrize("seed", range(6))
async def test_cancel_a_single_invite(seed: int) -> None:
    emu = org(5)
    emu.set_latency("POST", "*", 0.03)
    token = emu.add_token("acme")
    delay = random.Random(seed).uniform(0.0, 0.05)
    with emu.serve_in_thread() as url:
        async with SentryClient(token, base_url=url) as client:
            task = asyncio.create_task(client.org("acme").members.invite("c@example.com"))
            await asyncio.sleep(delay)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await settle()
            assert other_tasks() == []
            await asyncio.sleep(0.05)  # the server finishes what it received
    # at most one invite, however the cancellation fell
    assert emu.invites_created("acme").get("c@example.com", 0) <= 1


@pytest.mark.parametrize("seed", range(4))
async def test_cancel_a_bulk_run_report_matches_server(seed: int) -> None:
    emu = org(5)
    emu.set_latency("POST", "*", 0.02)
    token = emu.add_token("acme")
    delay = random.Random(seed).uniform(0.05, 0.3)
    report: BulkReport[InviteRow] = BulkReport()
    with emu.serve_in_thread() as url:
        async with SentryClient(token, base_url=url) as client:
            rows = (InviteRow(f"r{i}@example.com") for i in range(400))
            task = asyncio.create_task(
                client.org("acme").bulk.invite(rows, concurrency=8, report=report)
            )
            await asyncio.sleep(delay)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await settle()
            assert other_tasks() == []  # the lookups not waited for were cancelled
    created = {f"r{o.index}@example.com" for o in report if o.kind is OutcomeKind.CREATED}
    on_server = {e for e in emu.invites_created("acme") if e.startswith("r")}
    assert created == on_server
    assert len(report) == 400  # every row has its outcome
    assert report.counts()[OutcomeKind.NOT_SENT] == len(report.not_sent()) == 400 - len(created)
    assert {r.email for r in report.not_sent()} == {
        f"r{i}@example.com" for i in range(400)
    } - created


async def test_a_client_left_open_warns() -> None:
    emu = org(2)
    token = emu.add_token("acme")
    with emu.serve_in_thread() as url:
        client = SentryClient(token, base_url=url)
        await client.org("acme").members.get("me")
        transport = client.transport
        with pytest.warns(ResourceWarning, match="SentryClient was not closed"):
            client.__del__()
        await transport.aclose()
        client._closed = True  # closed by hand above; silence the finalizer


async def test_closing_leaves_nothing_open() -> None:
    emu = org(2)
    token = emu.add_token("acme")
    with emu.serve_in_thread() as url, warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        async with SentryClient(token, base_url=url) as client:
            await client.org("acme").members.list().collect()
        await settle()
    assert other_tasks() == []


async def test_mixed_load_with_faults_accounts_for_every_operation() -> None:
    emu = SentryEmulator(seed=41, rate_limit=None)
    emu.add_org("acme", scim=True)
    emu.add_teams("acme", 3)
    ids = emu.add_members("acme", 400, pending_ratio=0.0, roles={"member": 1.0}, teams=1)
    token = emu.add_token("acme")
    slow_down = Status(429, '"slow down"', {"Retry-After": "0.05"})
    for fault in (Status(503), slow_down, ResetBefore(), ResetAfter(), Slow(0.5)):
        emu.inject("*", "/api/0/*", fault, ratio=0.01)
    fast = RetryPolicy(base_delay=0.005, max_delay=0.05, max_attempts=8)
    total = int(os.environ.get("LOAD_OPS", "20000"))
    done = {"ok": 0, "error": 0}
    rng = random.Random(7)
    plan = [rng.randrange(4) for _ in range(total)]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    async with SentryClient(
        token, base_url="http://localhost", transport=emu.transport(), retry=fast, timeout=0.2
    ) as client:
        acme = client.org("acme")
        queue = list(enumerate(plan))

        async def worker() -> None:
            while queue:
                i, kind = queue.pop()
                member = MemberId(str(ids[i % len(ids)]))
                try:
                    if kind == 0:
                        await acme.members.get(member)
                    elif kind == 1:
                        await acme.members.list(page_size=5, limit=5).collect()
                    elif kind == 2:
                        await acme.members.set_team_role(member, "team-01", "admin")
                    else:
                        await acme.members.invite(f"load{i}@example.com")
                    done["ok"] += 1
                except SentryError:
                    done["error"] += 1

        await asyncio.gather(*(worker() for _ in range(200)))
    peak_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss_before
    print(
        f"\n{total:,} mixed operations from 200 tasks: {done}, peak RSS grew {peak_growth:.0f} MB "
        f"(emulator state included), faults fired {sum(i.fired for i in emu._injections)}"
    )
    assert done["ok"] + done["error"] == total
    assert done["error"] <= total * 0.001  # only retries exhausted may fail
    invites = sum(1 for k in plan if k == 3)
    created = emu.invites_created("acme")
    assert len(created) >= invites - done["error"]
    assert set(created.values()) == {1}
    assert peak_growth < 200
