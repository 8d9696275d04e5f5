"""``apply`` of a plan made earlier reads the members again: a stale change is not sent.

Over the emulator on loopback HTTP, both profiles. A plan is made; then, on
the server, two members are made Owners (one the plan removes, one it
promotes from member to manager), a member's teams change and a member
leaves; ``apply`` sends none of their changes (the request log has no
DELETE or PUT for them), reports each with its reason, and still makes the
change whose premise holds. Apply twice: the second run sends no write and
the next plan is empty.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sentry_members_async import DesiredMember, MemberId, Org, OutcomeKind, SentryClient
from sentry_members_async.reconcile import (
    AddToTeam,
    ChangeRole,
    Plan,
    RemoveFromTeam,
    RemoveMember,
    StaleChangeError,
)
from sentry_members_async.testing import SentryEmulator

K = OutcomeKind
WRITES = ("POST", "PUT", "DELETE", "PATCH")
PEOPLE = ("bob", "ann", "cat", "dan", "eve")


def email(name: str) -> str:
    return f"{name}@example.com"


@pytest.fixture(params=["latest", "23.7"])
def emu(request: pytest.FixtureRequest) -> SentryEmulator:
    emulator = SentryEmulator(seed=4, rate_limit=None, invite_quotas=False, profile=request.param)
    emulator.add_org("acme")
    emulator.add_team("acme", "backend")
    emulator.add_team("acme", "frontend")
    for name in PEOPLE:
        emulator.add_member("acme", email(name), teams=["backend"])
    return emulator


@pytest.fixture
async def acme(emu: SentryEmulator) -> AsyncIterator[Org]:
    token = emu.add_token("acme")
    async with (
        emu.serve(close_connections=False) as url,
        SentryClient(token, base_url=url) as client,
    ):
        yield client.org("acme")


def ids(emu: SentryEmulator) -> dict[str, int]:
    return {m["email"]: m["id"] for m in emu.members("acme")}


def writes_to(emu: SentryEmulator, member_id: int) -> list[str]:
    prefix = f"/api/0/organizations/acme/members/{member_id}/"
    found = [r for r in emu.find() if r.method in WRITES and r.path.startswith(prefix)]
    return [f"{r.method} {r.path}" for r in found]


async def test_a_stale_plan_never_removes_or_demotes_an_owner(
    emu: SentryEmulator, acme: Org
) -> None:
    owner = (await acme.members.get("me")).email
    roster = [
        DesiredMember(owner, "owner"),
        DesiredMember(email("ann"), "manager"),  # member -> manager
        DesiredMember(email("cat"), "member", {"frontend": None}),  # backend -> frontend
        DesiredMember(email("dan"), "manager"),  # leaves before apply
        DesiredMember(email("eve"), "manager"),  # nothing changes for eve: applied
    ]  # bob is missing: removed
    plan = await acme.plan(roster, remove_missing=True)
    assert sorted(c.describe() for c in plan.changes) == sorted(
        [
            f"~ {email('ann')}: role member -> manager",
            f"+ {email('cat')} joins frontend",
            f"- {email('cat')} leaves backend",
            f"~ {email('dan')}: role member -> manager",
            f"~ {email('eve')}: role member -> manager",
            f"- remove {email('bob')} (member)",
        ]
    )
    # Meanwhile, on the server: bob and ann made Owners, cat's teams changed, dan gone.
    member = ids(emu)
    for name in ("bob", "ann"):
        await acme.members.update(MemberId(str(member[email(name)])), role="owner")
    emu.set_teams("acme", email("cat"), {"backend": "admin"})  # made backend admin
    await acme.members.remove(MemberId(str(member[email("dan")])))
    emu.reset_log()

    report = await acme.apply(plan)

    outcome = {(type(c).__name__, c.email): report[i] for i, c in enumerate(plan.changes)}
    assert outcome["ChangeRole", email("eve")].kind is K.UPDATED
    assert outcome["RemoveMember", email("bob")].kind is K.SKIPPED
    for key in [
        ("RemoveMember", email("bob")),
        ("ChangeRole", email("ann")),
        ("AddToTeam", email("cat")),
        ("RemoveFromTeam", email("cat")),
        ("ChangeRole", email("dan")),
    ]:
        assert outcome[key].kind is K.SKIPPED, key
        assert isinstance(outcome[key].error, StaleChangeError), key
    reasons = {key: str(o.error) for key, o in outcome.items() if o.error is not None}
    assert reasons["RemoveMember", email("bob")] == (
        f"skipped, stale: - remove {email('bob')} (member): {email('bob')} is an Owner now "
        "(was member); a stale plan never changes an Owner; plan again"
    )
    assert "is an Owner now (was member)" in reasons["ChangeRole", email("ann")]
    assert reasons["AddToTeam", email("cat")].endswith(
        ": teams changed since the plan: backend (contributor) -> backend (admin); plan again"
    )
    assert "no longer in the organization" in reasons["ChangeRole", email("dan")]
    # The log: no write for bob, ann, cat or dan; eve's role change only.
    for name in ("bob", "ann", "cat", "dan"):
        assert writes_to(emu, member[email(name)]) == [], name
    writes = [r for r in emu.find() if r.method in WRITES]
    assert [(r.method, r.path) for r in writes] == [
        ("PUT", f"/api/0/organizations/acme/members/{member[email('eve')]}/")
    ]
    roles = {m["email"]: m["role"] for m in emu.members("acme")}
    assert (roles[email("bob")], roles[email("ann")], roles[email("eve")]) == (
        "owner",
        "owner",
        "manager",
    )


async def test_a_plan_built_by_hand_is_checked_with_what_its_changes_carry(
    emu: SentryEmulator, acme: Org
) -> None:
    member = ids(emu)
    bob, ann = (MemberId(str(member[email(n)])) for n in ("bob", "ann"))
    await acme.members.update(bob, role="owner")
    plan = Plan(
        "acme",
        (
            RemoveMember(bob, email("bob")),  # the role is not known: an Owner is not removed
            ChangeRole(ann, email("ann"), "manager", "owner"),  # ann is a member, not manager
            RemoveMember(MemberId("999999"), "ghost@example.com"),  # gone: not_found
        ),
    )
    emu.reset_log()
    report = await acme.apply(plan)
    assert [o.kind for o in report] == [K.SKIPPED, K.SKIPPED, K.NOT_FOUND]
    assert "is an Owner now (the plan did not say it changes an Owner)" in str(report[0].error)
    assert "org role changed since the plan: manager -> member" in str(report[1].error)
    assert [r for r in emu.find() if r.method in WRITES] == []


async def test_apply_twice_sends_no_write_the_second_time(emu: SentryEmulator, acme: Org) -> None:
    owner = (await acme.members.get("me")).email
    roster = [
        DesiredMember(owner, "owner"),
        DesiredMember(email("ann"), "manager", {"backend": "admin", "frontend": None}),
        DesiredMember(email("cat"), "member", {"frontend": "admin"}),
        DesiredMember(email("new"), "member", {"frontend": "admin"}),
        DesiredMember(email("eve"), "member", {}),
    ]  # bob and dan missing: removed
    plan = await acme.plan(roster, remove_missing=True)
    assert {type(c) for c in plan.changes} >= {AddToTeam, RemoveFromTeam, RemoveMember}
    first = await acme.apply(plan)
    assert first.ok, first.failures()
    emu.reset_log()
    again = await acme.plan(roster, remove_missing=True)
    assert again.changes == ()
    second = await acme.apply(again)
    assert len(second) == 0
    assert [(r.method, r.path) for r in emu.find() if r.method in WRITES] == []
    assert not await acme.plan(roster, remove_missing=True)


async def test_many_removals_are_checked_with_one_pass_over_the_member_list(
    emu: SentryEmulator, acme: Org
) -> None:
    owner = (await acme.members.get("me")).email
    plan = await acme.plan([DesiredMember(owner, "owner")], remove_missing=True)
    assert plan.removals == 5  # more members to check than the list has pages (1)
    cat = MemberId(str(ids(emu)[email("cat")]))
    await acme.members.update(cat, role="owner")
    emu.reset_log()
    report = await acme.apply(plan)
    reads = [r.path for r in emu.find("GET")]
    assert reads == ["/api/0/organizations/acme/members/"]  # no GET per member
    kinds = {c.email: o.kind for c, o in zip(plan.changes, report, strict=True)}
    assert kinds == {
        email("bob"): K.REMOVED,
        email("ann"): K.REMOVED,
        email("cat"): K.SKIPPED,
        email("dan"): K.REMOVED,
        email("eve"): K.REMOVED,
    }
    assert writes_to(emu, int(cat)) == []


async def test_the_same_plan_applied_twice_sends_no_write_the_second_time(
    emu: SentryEmulator, acme: Org
) -> None:
    owner = (await acme.members.get("me")).email
    roster = [
        DesiredMember(owner, "owner"),
        DesiredMember(email("ann"), "manager", {"backend": None, "frontend": None}),
        DesiredMember(email("cat"), "member", {"frontend": "admin"}),
        DesiredMember(email("dan"), "member", {"backend": "admin"}),
        DesiredMember(email("new"), "member", {"frontend": "admin"}),
        DesiredMember(email("eve"), "member", {"backend": None}),
    ]  # bob missing: removed
    plan = await acme.plan(roster, remove_missing=True)
    first = await acme.apply(plan)
    assert first.ok, first.failures()
    emu.reset_log()
    second = await acme.apply(plan)  # e.g. a saved plan run again after a partial failure
    assert [(r.method, r.path) for r in emu.find() if r.method in WRITES] == []
    kinds = {c.describe(): o.kind for c, o in zip(plan.changes, second, strict=True)}
    assert kinds == {
        f"~ {email('ann')}: role member -> manager": K.UNCHANGED,
        f"+ {email('ann')} joins frontend": K.UNCHANGED,
        f"+ {email('cat')} joins frontend (admin)": K.UNCHANGED,
        f"- {email('cat')} leaves backend": K.UNCHANGED,
        f"~ {email('dan')}: backend role contributor -> admin": K.UNCHANGED,
        f"+ invite {email('new')} as member to frontend (admin)": K.ALREADY_INVITED,
        f"- remove {email('bob')} (member)": K.NOT_FOUND,
    }
    assert not await acme.plan(roster, remove_missing=True)
