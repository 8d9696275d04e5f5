"""The watcher's diff and its values (no I/O)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sentry_members_async import MemberEvent, MemberId, ValidationError
from sentry_members_async.ratelimit import NoLimiter
from sentry_members_async.watch import BudgetLimiter, FileStore, MemberState, diff_members

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
        ("2", "role_raised"),  # a privilege alert: member -> manager
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
    removed = events[5]
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


def alerts(before: MemberState | None, after: MemberState) -> list[str]:
    was = snap(before) if before is not None else {}
    events = diff_members(was, snap(after), org="acme", rev=1, observed_at=AT)
    return [e.kind for e in events if e.is_alert]


def test_privilege_alerts_each_rule() -> None:
    """Issue 29 #3: what counts as a privilege alert, from two rows of one member."""
    on = {"has_2fa": True, "sso_linked": True, "sso_invalid": False}
    base = {**on, "idp_provisioned": False, "idp_role_restricted": False}
    member = state("1", **base)
    # a role raised to manager or owner; not a lower role, not a demotion
    assert alerts(member, state("1", **base, role="owner")) == ["role_raised"]
    assert alerts(state("1", **base, role="admin"), state("1", **base, role="manager")) == [
        "role_raised"
    ]
    assert alerts(member, state("1", **base, role="admin")) == []
    assert alerts(state("1", **base, role="owner"), state("1", **base, role="manager")) == []
    # an invite to owner grants nothing until it is accepted; then it does
    invite = state("1", pending=True, role="owner")
    assert alerts(None, invite) == []
    assert alerts(invite, state("1", **base, role="owner")) == ["role_raised"]
    assert alerts(None, state("1", **base, role="manager")) == ["role_raised"]
    # 2FA turned off; turned on, or unknown before (an older checkpoint), is no alert
    assert alerts(member, state("1", **{**base, "has_2fa": False})) == ["2fa_disabled"]
    assert alerts(state("1", **{**base, "has_2fa": None}), state("1", **base)) == []
    assert alerts(state("1", **{**base, "has_2fa": False}), member) == []
    # an SSO link lost: unlinked, or invalid; linking again is no alert
    assert alerts(member, state("1", **{**base, "sso_linked": False})) == ["sso_link_lost"]
    assert alerts(member, state("1", **{**base, "sso_invalid": True})) == ["sso_link_lost"]
    assert alerts(state("1", **{**base, "sso_linked": False}), member) == []
    # IdP flags changed, either way; unknown before is no alert
    assert alerts(member, state("1", **{**base, "idp_provisioned": True})) == ["idp_changed"]
    assert alerts(state("1", **{**base, "idp_role_restricted": True}), member) == ["idp_changed"]
    assert alerts(state("1", **on), member) == []
    # all at once: one of each, in EVENT_KINDS order
    worst = state(
        "1", role="owner", has_2fa=False, sso_linked=False, sso_invalid=False,
        idp_provisioned=True, idp_role_restricted=False,
    )  # fmt: skip
    assert alerts(member, worst) == ["role_raised", "2fa_disabled", "sso_link_lost", "idp_changed"]


def test_alert_lines_say_what_changed() -> None:
    member = state("1", has_2fa=True, sso_linked=True, sso_invalid=False)
    lines = {
        e.kind: e.describe()
        for e in diff_members(
            snap(member),
            snap(state("1", role="owner", has_2fa=False, sso_linked=True, sso_invalid=True)),
            org="acme",
            rev=1,
            observed_at=AT,
        )
    }
    assert lines["role_raised"].endswith("m1@example.com (member 1): member -> owner")
    assert lines["2fa_disabled"].endswith("m1@example.com (member 1)")
    assert lines["sso_link_lost"].endswith(": SSO link invalid")


def test_a_state_from_an_older_checkpoint_still_reads() -> None:
    """Rows saved before the alert fields existed: the new fields are unknown (None)."""
    old = {"id": "1", "email": "m1@example.com", "role": "member", "sso_linked": True}
    member = MemberState.from_json(old)
    assert (member.has_2fa, member.sso_invalid, member.idp_provisioned) == (None, None, None)
    assert MemberState.from_json(member.to_json()) == member
