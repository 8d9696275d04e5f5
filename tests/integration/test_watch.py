"""``acme.members.watch()`` against the emulator over HTTP on 127.0.0.1 (issue 19)."""

from __future__ import annotations

import asyncio
import gc
import logging
import math
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sentry_members_async import (
    MemberEvent,
    MemberId,
    MemberWatch,
    Org,
    SentryClient,
    ValidationError,
)
from sentry_members_async.rows import RoleRow
from sentry_members_async.testing import RateLimit, SentryEmulator
from sentry_members_async.watch import FileStore, MemoryStore, WatchOptions


def org_of(n: int, *, rate_limit: RateLimit | None = None, seed: int = 19) -> SentryEmulator:
    emu = SentryEmulator(seed=seed, rate_limit=rate_limit)
    emu.add_org("acme", scim=True)
    emu.add_teams("acme", 3)
    emu.add_members("acme", n - 1, pending_ratio=0.05, teams=3)  # + the owner
    return emu


@pytest.fixture
def emu200() -> SentryEmulator:
    emu = org_of(200)
    assert len(emu.members("acme")) == 200
    return emu


@pytest.fixture
async def acme200(emu200: SentryEmulator) -> AsyncIterator[Org]:
    token = emu200.add_token("acme")
    async with emu200.serve() as url, SentryClient(token, base_url=url) as client:
        yield client.org("acme")


def accepted(emu: SentryEmulator, role: str = "member") -> list[dict[str, Any]]:
    return [m for m in emu.members("acme") if not m["pending"] and m["role"] == role]


async def wait_for(condition: object, what: str) -> None:
    """Poll a condition (a callable) until it holds; fail after a generous bound."""
    assert callable(condition)
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"gave up waiting for {what}")


def client_tasks() -> set[asyncio.Task[object]]:
    """Tasks of the SDK still alive (the emulator's server tasks, in this loop too, aside)."""
    alive = set()
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        where = code.co_filename if code is not None else ""
        ours = "sentry_members_async" in where and "/testing/" not in where
        if ours and task is not asyncio.current_task():
            alive.add(task)
    return alive


def kinds(events: list[MemberEvent]) -> Counter[tuple[str, str]]:
    return Counter((e.kind, e.email) for e in events)


async def test_six_changes_between_polls_give_exactly_six_events(
    emu200: SentryEmulator, acme200: Org, tmp_path: Path
) -> None:
    watch = acme200.members.watch(interval=0.05, store=FileStore(tmp_path))
    got: list[MemberEvent] = []

    async def consume() -> None:
        async with watch:
            async for event in watch:
                got.append(event)
                if len(got) == 7:
                    break

    consumer = asyncio.create_task(consume())
    await wait_for(lambda: watch.stats.polls >= 1, "the baseline poll")
    assert got == []  # the baseline emits nothing

    new = ["ann@acme.example.com", "ben@acme.example.com", "cy@acme.example.com"]
    for email in new:
        await acme200.members.invite(email, teams=["team-01"])
    emu200.accept_invite("acme", new[0])
    promoted = accepted(emu200)[3]
    await acme200.members.update(MemberId(str(promoted["id"])), role="manager")
    leaver = accepted(emu200)[7]
    await acme200.members.remove(MemberId(str(leaver["id"])))

    await asyncio.wait_for(consumer, 60)
    assert kinds(got) == Counter(
        {
            ("invited", new[0]): 1,
            ("invited", new[1]): 1,
            ("invited", new[2]): 1,
            ("joined", new[0]): 1,
            ("role_changed", promoted["email"]): 1,
            ("role_raised", promoted["email"]): 1,  # a privilege alert: member -> manager
            ("removed", leaver["email"]): 1,
        }
    )
    assert len({e.id for e in got}) == 7
    role = next(e for e in got if e.kind == "role_changed")
    assert (role.before and role.before.role, role.member and role.member.role) == (
        "member",
        "manager",
    )
    removed = next(e for e in got if e.kind == "removed")
    assert removed.member is None
    assert removed.before is not None
    assert removed.member_id == MemberId(str(leaver["id"]))
    # once each: a watcher on the same store sees nothing more, poll after poll
    again = acme200.members.watch(store=FileStore(tmp_path))
    assert await again.poll() == []
    assert await again.poll() == []
    await again.aclose()


async def test_restart_emits_exactly_what_changed_while_down(
    emu200: SentryEmulator, acme200: Org, tmp_path: Path
) -> None:
    store = FileStore(tmp_path)
    first = acme200.members.watch(interval=0.01, store=store)
    assert await first.poll() == []  # baseline
    await acme200.members.invite("early@acme.example.com")
    async with first:
        async for event in first:
            assert (event.kind, event.email) == ("invited", "early@acme.example.com")
            break
    assert first.stats.events == 1

    # stopped: two changes happen
    mover = accepted(emu200)[2]
    leaver = accepted(emu200)[9]
    await acme200.members.update(MemberId(str(mover["id"])), role="manager")
    await acme200.members.remove(MemberId(str(leaver["id"])))

    second = acme200.members.watch(interval=0.01, store=store)
    got: list[MemberEvent] = []
    async with second:
        async for event in second:
            got.append(event)
            if len(got) == 3:
                break
        assert await second.poll() == []
    assert kinds(got) == Counter(
        {
            ("role_changed", mover["email"]): 1,
            ("role_raised", mover["email"]): 1,
            ("removed", leaver["email"]): 1,
        }
    )

    # an empty store: the first poll is a baseline, whatever changed before
    fresh = acme200.members.watch(store=FileStore(tmp_path / "empty"))
    assert await fresh.poll() == []
    assert fresh.stats.polls == 1
    await acme200.members.invite("late@acme.example.com")
    assert kinds(await fresh.poll()) == Counter({("invited", "late@acme.example.com"): 1})


async def test_events_not_yet_handed_out_survive_a_restart_with_their_ids(
    emu200: SentryEmulator, acme200: Org
) -> None:
    store = MemoryStore()
    first = acme200.members.watch(interval=0.01, store=store)
    await first.poll()
    for email in ("a1@acme.example.com", "a2@acme.example.com", "a3@acme.example.com"):
        await acme200.members.invite(email)
    seen: list[MemberEvent] = []
    async with first:
        async for event in first:
            seen.append(event)
            break  # one handed out, two still queued
    emu200.accept_invite("acme", "a1@acme.example.com")  # meanwhile
    second = acme200.members.watch(interval=0.01, store=store)
    rest = await second.poll()  # first the two still queued, then the new poll's
    assert [(e.kind, e.email) for e in seen + rest] == [
        ("invited", "a1@acme.example.com"),
        ("invited", "a2@acme.example.com"),
        ("invited", "a3@acme.example.com"),
        ("joined", "a1@acme.example.com"),
    ]
    await second.aclose()  # one watcher holds the key at a time

    # A crash (no aclose) before the delivery count was saved hands the batch out
    # again with the same ids: a consumer deduplicates on them.
    await acme200.members.invite("b1@acme.example.com")
    crashing = acme200.members.watch(store=store)
    batch = await crashing.poll()  # poll() saves the count: delivered
    assert [e.email for e in batch] == ["b1@acme.example.com"]
    await crashing.aclose()
    await acme200.members.invite("b2@acme.example.com")
    lost = acme200.members.watch(store=store)
    async for event in lost:
        first_id = event.id
        break  # and the process "dies": no aclose, the count is not saved
    del lost  # (a watcher nobody holds any more holds its key no more)
    gc.collect()
    replay = acme200.members.watch(store=store)
    again = await replay.poll()
    assert [(e.email, e.id) for e in again] == [("b2@acme.example.com", first_id)]


async def test_emit_initial_and_sso_joins(emu200: SentryEmulator, acme200: Org) -> None:
    watch = acme200.members.watch(store=MemoryStore(), emit_initial=True)
    first = await watch.poll()
    rows = emu200.members("acme")
    assert Counter(e.kind for e in first) == Counter(
        {"joined": sum(not m["pending"] for m in rows), "invited": sum(m["pending"] for m in rows)}
    )
    # A person with no invite logs in by SSO (just-in-time): joined, not invited.
    emu200.sso_login("acme", "jit@acme.example.com")
    # An invitee accepts by SSO login: the same member joins (not a new one).
    pending = next(m for m in rows if m["pending"])
    member_id = emu200.sso_login("acme", str(pending["email"]))
    assert member_id == pending["id"]
    events = await watch.poll()
    assert [(e.kind, e.email) for e in events] == [
        ("joined", pending["email"]),
        ("joined", "jit@acme.example.com"),
    ]
    assert events[0].before is not None
    assert events[0].before.pending
    assert events[0].member is not None
    assert events[0].member.sso_linked


async def test_invite_expired_and_teams_changed(emu200: SentryEmulator, acme200: Org) -> None:
    watch = acme200.members.watch(store=MemoryStore(), teams=True)
    assert await watch.poll() == []
    teams_before = len(emu200.find("GET", "/api/0/teams/acme/*/members/"))
    assert teams_before >= 3  # one list per team
    invite = next(m for m in emu200.members("acme") if m["pending"] and not m["expired"])
    state = emu200.member("acme", str(invite["email"]))
    assert state is not None
    state.token_expired = True  # the invite link ran out
    mover = next(m for m in accepted(emu200) if "team-03" not in m["teams"])
    await acme200.members.add_to_team(MemberId(str(mover["id"])), "team-03")
    events = await watch.poll()
    expected = sorted(
        [
            (invite["id"], "invite_expired", invite["email"]),
            (mover["id"], "teams_changed", mover["email"]),
        ]
    )
    assert [(e.kind, e.email) for e in events] == [(k, e) for _, k, e in expected]
    change = next(e for e in events if e.kind == "teams_changed")
    assert change.before is not None
    assert change.member is not None
    assert change.member.team_slugs - change.before.team_slugs == {"team-03"}
    assert "+team-03" in change.describe()


async def test_members_missing_from_a_page_are_confirmed_before_removed(
    emu200: SentryEmulator, acme200: Org
) -> None:
    watch = acme200.members.watch(store=MemoryStore(), prefetch=1)
    await watch.poll()
    # The second page comes back without its first row (as when a removal shifts
    # the offsets during a poll): the watcher asks before saying "removed".
    from sentry_members_async.testing.faults import Status

    rows = emu200.members("acme")
    skipped = rows[100]

    def user(user_id: int) -> dict[str, Any]:
        return {"id": str(user_id), "has2fa": emu200.state.users[user_id].has_2fa}

    body = [
        {
            "id": str(m["id"]),
            "email": m["email"],
            "name": m["email"],  # Sentry always sends a name (the e-mail for an invite)
            "orgRole": m["role"],
            "pending": m["pending"],
            "expired": m["expired"],
            "flags": m["flags"],
            "user": None if m["pending"] else user(m["user_id"]),
        }
        for m in rows[101:200]
    ]
    emu200.inject("GET", "/api/0/organizations/acme/members/", Status(200, body), calls={2})
    emu200.reset_log()
    events = await watch.poll()
    assert events == []
    assert [r.path for r in emu200.find("GET", "*/members/*/")] == [
        f"/api/0/organizations/acme/members/{skipped['id']}/"
    ]


async def test_break_and_cancel_leave_nothing_running(emu200: SentryEmulator, acme200: Org) -> None:
    watch = acme200.members.watch(interval=0.01, store=MemoryStore(), prefetch=4)
    await watch.poll()
    await acme200.members.invite("x@acme.example.com")
    async for _event in watch:
        break
    assert client_tasks() == set()

    # cancel the consuming task while it waits for (or runs) a poll, teams included
    watch = acme200.members.watch(interval=0.01, store=MemoryStore(), teams=True)

    async def consume() -> None:
        async for _event in watch:
            pass

    task = asyncio.create_task(consume())
    await wait_for(lambda: watch.stats.polls >= 3, "a few polls")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert client_tasks() == set()
    await asyncio.sleep(0.1)  # the server finishes what was on the wire when we cancelled
    settled = len(emu200.requests)
    await asyncio.sleep(0.2)
    assert len(emu200.requests) == settled  # nothing polls any more


async def test_bad_arguments_are_refused_before_anything_is_sent(
    emu200: SentryEmulator, acme200: Org
) -> None:
    bad: list[dict[str, Any]] = [
        {"interval": -1},
        {"interval": float("nan")},
        {"interval": True},
        {"interval": "60"},
        {"budget": 0},
        {"budget": 1.5},
        {"budget": True},
        {"teams": "yes"},
        {"emit_initial": 1},
        {"prefetch": 0},
        {"prefetch": True},
        {"store": object()},
        {"key": ""},
        {"key": 5},
    ]
    for kwargs in bad:
        (name,) = kwargs
        with pytest.raises(ValidationError, match=name):
            acme200.members.watch(**kwargs)
        with pytest.raises(ValidationError, match=name):
            WatchOptions(**kwargs)
    assert emu200.requests == []


async def test_a_watch_options_value_is_the_keywords_written_once(
    emu200: SentryEmulator, acme200: Org
) -> None:
    store = MemoryStore()
    options = WatchOptions(interval=5, teams=True, budget=None, store=store, key="k", prefetch=3)
    by_value = MemberWatch(acme200, options)
    by_keywords = acme200.members.watch(
        interval=5, teams=True, budget=None, store=store, key="k", prefetch=3
    )
    assert by_value.options == by_keywords.options == options
    assert (by_value.key, by_value.store, by_value.teams, by_value.budget) == (
        "k",
        store,
        True,
        None,
    )
    assert by_value.interval == 5.0
    assert by_value.prefetch == 3
    assert MemberWatch(acme200).options == WatchOptions()  # the defaults
    assert MemberWatch(acme200, interval=5, prefetch=3).options == WatchOptions(
        interval=5, prefetch=3
    )
    with pytest.raises(ValidationError, match="not both"):
        MemberWatch(acme200, options, interval=5)
    assert WatchOptions().budget == 0.2
    assert WatchOptions().interval == 60.0
    assert emu200.requests == []


async def test_budget_keeps_the_watcher_within_its_share_beside_a_bulk_job(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="sentry_members_async.watch")
    limit = RateLimit(limit=80, window=1.0)  # Sentry's reset header is whole seconds
    emu = org_of(2000, rate_limit=limit)  # 20 pages a poll: a poll is a bulk job too
    token = emu.add_token("acme")
    targets = [m for m in emu.members("acme") if m["role"] == "member" and not m["pending"]][:90]
    rows = [RoleRow(MemberId(str(m["id"])), "manager") for m in targets]
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        acme = client.org("acme")
        watch = acme.members.watch(interval=0, budget=0.2, store=MemoryStore(), prefetch=8)
        changed: list[MemberEvent] = []

        async def consume() -> None:
            async for event in watch:
                if not event.is_alert:  # (each promotion is also a role_raised alert)
                    changed.append(event)

        watcher = asyncio.create_task(consume())
        await wait_for(lambda: watch.stats.polls >= 1, "the baseline poll")
        report = await acme.bulk.set_roles(rows, concurrency=16)
        await wait_for(lambda: len(changed) == len(rows), "every role change seen")
        watcher.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watcher
    assert report.ok
    assert len(report) == len(rows)
    assert {e.member_id for e in changed} == {r.member for r in rows}
    watcher_requests = [
        r for r in emu.requests if r.path.endswith("/members/") and "query" not in r.params
    ]
    # (requests cut off by the cancel count on our side and may not reach the server)
    assert 0 <= watch.stats.requests - len(watcher_requests) <= 4
    assert watch.stats.polls >= 3
    # Over the run: the share of every window the run touched (+ one request). Within
    # one window the watcher may exceed its share a little: what the gate let through
    # late in a window can wait in the client's limiter behind the bulk job and leave
    # in the next one; the run's total is what the budget bounds. (Without a budget
    # this watcher takes about a third of the run's requests and fails here.)
    times = [r.at for r in emu.requests]
    windows = math.floor(max(times) / limit.window) - math.floor(min(times) / limit.window) + 1
    share = 0.2 * limit.limit * windows
    assert len(watcher_requests) <= share + 1, (len(watcher_requests), share, windows)
    assert emu.stats()["rate_limited"] == 0
    assert watch.stats.stretched
    assert watch.interval > 0
    # ... and it says so: 20 requests a poll at 0.2 x 80 per 1 s = 16 per s
    said = [r.getMessage() for r in caplog.records if r.name == "sentry_members_async.watch"]
    assert said
    assert "the budget (0.2 of 80 per 1 s) allows 16.0 per second" in said[0]
    assert "instead of every 0 s" in said[0]


def test_watch_is_composed_above_the_members_resource() -> None:
    import sentry_members_async.api.members as members_module

    assert "watch" not in vars(members_module)
    assert MemberWatch.__module__.startswith("sentry_members_async.watch.")


async def test_a_long_batch_saves_its_progress_every_hundred_events(acme200: Org) -> None:
    store = MemoryStore()
    first = acme200.members.watch(store=store, emit_initial=True)
    seen = []
    async for event in first:
        seen.append(event)
        if len(seen) == 150:
            break  # and "crash": no aclose
    del first
    gc.collect()
    resumed = await acme200.members.watch(store=store).poll()
    # progress was saved when the 101st event was asked for: 100 are not repeated
    assert [e.id for e in resumed] == [e.id for e in seen[100:]] + [e.id for e in resumed[50:]]
    assert len(resumed) == 100
    assert len({e.id for e in seen + resumed[50:]}) == 200


async def test_a_poll_that_sees_no_change_writes_nothing(
    emu200: SentryEmulator, acme200: Org
) -> None:
    saves: list[str] = []

    class Counting(MemoryStore):
        async def save(self, key: str, data: bytes) -> None:
            saves.append(key)
            await super().save(key, data)

    watch = acme200.members.watch(store=Counting())
    await watch.poll()
    assert saves == [watch.key]
    assert await watch.poll() == []
    assert saves == [watch.key]  # nothing changed: no 20 MB rewrite
    await acme200.members.invite("z@acme.example.com")
    assert [e.kind for e in await watch.poll()] == ["invited"]
    assert saves == [watch.key, watch.key, watch.key + ":cursor"]


async def test_a_failed_poll_loses_no_event(emu200: SentryEmulator, acme200: Org) -> None:
    from sentry_members_async import AuthenticationError
    from sentry_members_async.testing.faults import Status

    store = MemoryStore()
    first = acme200.members.watch(store=store, interval=0.01)
    await first.poll()
    await acme200.members.invite("q1@acme.example.com")
    await acme200.members.invite("q2@acme.example.com")
    async for _event in first:
        break
    await first.aclose()  # q2 stays queued in the checkpoint
    second = acme200.members.watch(store=store)
    emu200.inject(
        "GET", "/api/0/organizations/acme/members/", Status(401, {"detail": "Invalid token"})
    )
    with pytest.raises(AuthenticationError):
        await second.poll()
    emu200.clear_faults()
    assert [e.email for e in await second.poll()] == ["q2@acme.example.com"]
