"""The watcher's diff and its values (no I/O)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sentry_members_async import (
    BudgetLimiter,
    FileStore,
    MemberEvent,
    MemberId,
    MemberState,
    NoLimiter,
    ValidationError,
)
from sentry_members_async.watch import diff_members

AT = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.timezone.utc)


def state(mid: str, **kw: object) -> MemberState:
    data: dict[str, object] = {"id": mid, "email": f"m{mid}@example.com"}
    data.update(kw)
    return MemberState(**data)  # type: ignore[arg-type]


def snap(*states: MemberState) -> dict[MemberId, MemberState]:
    return {s.id: s for s in states}


def test_each_kind_once_in_member_then_kind_order() -> None:
    before = snap(
        state("1", role="owner"),
        state("2"),
        state("3", pending=True),
        state("4", pending=True),
        state("5"),
        state("6", teams=[("a", None)]),
    )
    after = snap(
        state("1", role="owner"),
        state("2", role="manager"),
        state("3", role="admin"),  # accepted and changed role
        state("4", pending=True, expired=True),
        state("6", teams=[("a", None), ("b", "admin")]),
        state("7", pending=True),
        state("8", inviter="Org Owner"),  # invited and accepted between the polls
        state("9"),  # SSO just-in-time: no inviter
    )
    events = diff_members(before, after, org="acme", rev=4, observed_at=AT)
    assert [(e.member_id, e.kind) for e in events] == [
        ("2", "role_changed"),
        ("3", "joined"),
        ("3", "role_changed"),
        ("4", "invite_expired"),
        ("5", "removed"),
        ("6", "teams_changed"),
        ("7", "invited"),
        ("8", "invited"),
        ("8", "joined"),
        ("9", "joined"),
    ]
    removed = events[4]
    assert removed.member is None
    assert removed.before == before[MemberId("5")]
    assert len({e.id for e in events}) == len(events)
    # the same diff from the same checkpoint revision gives the same ids
    again = diff_members(before, after, org="acme", rev=4, observed_at=AT)
    assert [e.id for e in again] == [e.id for e in events]
    later = diff_members(before, after, org="acme", rev=5, observed_at=AT)
    assert not {e.id for e in later} & {e.id for e in events}


def test_nothing_changed_gives_nothing() -> None:
    members = snap(state("1"), state("2", pending=True, expired=True))
    assert diff_members(members, dict(members), org="acme", rev=1, observed_at=AT) == []


def test_team_lists_of_pending_members_are_not_compared() -> None:
    # Sentry's team member lists leave pending invites out: no teams_changed on joining.
    before = snap(state("1", pending=True, teams=[]))
    after = snap(state("1", teams=[("backend", "contributor")]))
    events = diff_members(before, after, org="acme", rev=1, observed_at=AT)
    assert [e.kind for e in events] == ["joined"]


def test_events_round_trip_through_json() -> None:
    before = snap(state("2", teams=[("a", None)]))
    after = snap(state("2", role="manager", user_id="77", teams=[("a", "admin")]))
    for event in diff_members(before, after, org="acme", rev=3, observed_at=AT):
        assert MemberEvent.from_json(event.to_json()) == event
    line = diff_members(before, after, org="acme", rev=3, observed_at=AT)[0].describe()
    assert line == (
        "2026-11-25 12:00:00 acme role_changed   m2@example.com (member 2): member -> manager"
    )


async def test_file_store_round_trip_and_atomic_replace(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "state")
    assert await store.load("watch:sentry.io:acme:members") is None
    await store.save("watch:sentry.io:acme:members", b"one")
    await store.save("watch:sentry.io:acme:members", b"two")
    assert await store.load("watch:sentry.io:acme:members") == b"two"
    assert [p.suffix for p in (tmp_path / "state").iterdir()] == [".json"]  # no temp file left


def test_budget_share_is_checked() -> None:
    for bad in (0, -0.1, 1.01, True, "0.2"):
        with pytest.raises(ValidationError):
            BudgetLimiter(NoLimiter(), bad)  # type: ignore[arg-type]
    assert BudgetLimiter(NoLimiter(), None).gate is None
    gate = BudgetLimiter(NoLimiter(), 0.25).gate
    assert gate is not None
    assert gate.safety == 0.25
