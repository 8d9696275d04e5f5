"""Roster team roles as held, not as stored, and an invite's team roles, over the emulator.

Sentry stores ``NULL`` for a team role the org role's minimum already gives (a
manager or owner is a team admin everywhere) and ignores the roles of an
invite's ``teamRoles``; ``plan``/``apply`` must converge anyway: after one
apply, a second plan is empty, and the emulator holds what the roster asked.
Both profiles: ``latest`` (team lists show the held role, invites are not on
them) and ``23.7`` (team lists show the stored role and list invites too).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sentry_members_async import DesiredMember, Org, OutcomeKind, SentryClient
from sentry_members_async.reconcile import AddToTeam, ChangeRole, Invite, SetTeamRole
from sentry_members_async.testing import SentryEmulator

ROSTER = {
    # A manager already holds team admin (stored NULL): no change.
    "mgr@example.com": DesiredMember("mgr@example.com", "manager", {"backend": "admin"}),
    # A member: contributor -> admin.
    "dev@example.com": DesiredMember("dev@example.com", "member", {"backend": "admin"}),
    # A manager demoted who stays backend admin: the role is set after the demotion.
    "demote@example.com": DesiredMember("demote@example.com", "member", {"backend": "admin"}),
    # Promoted: contributor asked, but a manager holds admin; Sentry stores NULL.
    "promo@example.com": DesiredMember("promo@example.com", "manager", {"backend": "contributor"}),
    # An invite already there, on frontend as contributor: admin is set on its membership.
    "waiting@example.com": DesiredMember("waiting@example.com", "member", {"frontend": "admin"}),
    # New invites: a member made frontend admin; a manager (admin anyway) on backend.
    "new1@example.com": DesiredMember("new1@example.com", "member", {"frontend": "admin"}),
    "new0@example.com": DesiredMember("new0@example.com", "manager", {"backend": "admin"}),
}


def _seed(emu: SentryEmulator) -> None:
    emu.add_org("acme")
    emu.add_team("acme", "backend")
    emu.add_team("acme", "frontend")
    emu.add_member("acme", "mgr@example.com", role="manager", teams={"backend": None})
    emu.add_member("acme", "dev@example.com", teams={"backend": None})
    emu.add_member("acme", "demote@example.com", role="manager", teams={"backend": None})
    emu.add_member("acme", "promo@example.com", teams={"backend": "admin"})
    emu.add_member("acme", "waiting@example.com", pending=True, teams={"frontend": None})


@pytest.fixture(params=["latest", "23.7"])
def emu(request: pytest.FixtureRequest) -> SentryEmulator:
    emulator = SentryEmulator(seed=3, rate_limit=None, invite_quotas=False, profile=request.param)
    _seed(emulator)
    return emulator


@pytest.fixture
async def acme(emu: SentryEmulator) -> AsyncIterator[Org]:
    token = emu.add_token("acme")
    async with (
        emu.serve(close_connections=False) as url,
        SentryClient(token, base_url=url) as client,
    ):
        yield client.org("acme")


def _held(emu: SentryEmulator, email: str) -> dict[str, str]:
    """The team roles ``email`` holds in the emulator (stored, raised to the minimum)."""
    row = next(m for m in emu.members("acme") if m["email"] == email)
    minimum = "admin" if row["role"] in ("admin", "manager", "owner") else "contributor"
    return {
        slug: "admin" if "admin" in (stored, minimum) else "contributor"
        for slug, stored in row["teams"].items()
    }


async def test_plan_compares_held_team_roles(acme: Org) -> None:
    plan = await acme.plan(ROSTER.values(), remove_missing=False)
    assert sorted(c.describe() for c in plan.changes) == [
        "+ invite new0@example.com as manager to backend (admin)",
        "+ invite new1@example.com as member to frontend (admin)",
        "~ demote@example.com: backend role contributor -> admin",
        "~ demote@example.com: role manager -> member",
        "~ dev@example.com: backend role contributor -> admin",
        "~ promo@example.com: backend role admin -> contributor",
        "~ promo@example.com: role member -> manager",
        "~ waiting@example.com: frontend role contributor -> admin",
    ]
    # The demoted manager holds admin now, but would not after the demotion.
    demote = [c for c in plan.changes if c.email == "demote@example.com"]
    assert [type(c) for c in demote] == [ChangeRole, SetTeamRole]


async def test_apply_converges_on_what_the_emulator_holds(emu: SentryEmulator, acme: Org) -> None:
    plan = await acme.plan(ROSTER.values(), remove_missing=False)
    report = await acme.apply(plan)
    assert report.ok, report
    invites = {
        c.email: o.kind for c, o in zip(plan.changes, report, strict=True) if isinstance(c, Invite)
    }
    assert invites == {"new0@example.com": "created", "new1@example.com": "created"}

    assert _held(emu, "mgr@example.com") == {"backend": "admin"}
    assert _held(emu, "dev@example.com") == {"backend": "admin"}
    assert _held(emu, "demote@example.com") == {"backend": "admin"}
    assert _held(emu, "promo@example.com") == {"backend": "admin"}
    assert _held(emu, "waiting@example.com") == {"frontend": "admin"}
    assert _held(emu, "new1@example.com") == {"frontend": "admin"}
    assert _held(emu, "new0@example.com") == {"backend": "admin"}
    new1 = emu.member("acme", "new1@example.com")
    assert new1 is not None
    assert new1.pending
    # Sentry ignored the invite's role; one PUT on the invite's membership set it.
    assert len(emu.find("PUT", f"/api/0/organizations/acme/members/{new1.id}/teams/*")) == 1
    # A manager invited as backend admin holds it anyway: no PUT.
    new0 = emu.member("acme", "new0@example.com")
    assert new0 is not None
    assert not emu.find("PUT", f"/api/0/organizations/acme/members/{new0.id}/teams/*")

    again = await acme.plan(ROSTER.values(), remove_missing=False)
    assert [c.describe() for c in again.changes] == []


async def test_a_second_plan_is_empty_for_managers_and_owners(
    emu: SentryEmulator, acme: Org
) -> None:
    """Stored NULL for a manager or owner is admin: asking admin is no change, ever."""
    emu.add_member("acme", "own@example.com", role="owner", teams={"backend": None})
    roster = [
        DesiredMember("mgr@example.com", "manager", {"backend": "admin"}),
        DesiredMember("own@example.com", "owner", {"backend": "admin"}),
        DesiredMember("mgr2@example.com", "manager", {"frontend": "contributor"}),
    ]
    emu.add_member("acme", "mgr2@example.com", role="manager", teams={"frontend": None})
    for _ in range(2):
        plan = await acme.plan(roster, remove_missing=False)
        assert not plan, plan.diff()
    emu.reset_log()
    assert (await acme.apply(plan)).ok
    assert not emu.find("PUT")


@pytest.mark.parametrize("profile", ["latest", "23.7"])
async def test_no_team_roles_proposed_where_the_org_has_none(profile: str) -> None:
    """Without ``organizations:team-roles`` Sentry ignores every team role: a plan that
    proposed them would propose them again after each apply. The role catalogue of
    ``members/me/`` tells (``admin`` is ``isRetired`` only with team roles): the plan
    says what it leaves out, applies the rest, and the next plan is empty."""
    emu = SentryEmulator(seed=4, rate_limit=None, invite_quotas=False, profile=profile)
    emu.add_org("acme", team_roles=False)
    emu.add_team("acme", "frontend")
    emu.add_member("acme", "dev@example.com", teams=["frontend"])
    token = emu.add_token("acme")
    roster = [
        DesiredMember("dev@example.com", "member", {"frontend": "admin"}),
        DesiredMember("new@example.com", "member", {"frontend": "admin"}),
    ]
    async with SentryClient(token, base_url="http://localhost", transport=emu.transport()) as c:
        acme = c.org("acme")
        plan = await acme.plan(roster)
        assert plan.diff().splitlines() == [
            "+ invite new@example.com as member to frontend",
            "# not proposed: dev@example.com: admin on frontend: the organization has no "
            "team roles (organizations:team-roles)",
            "# not proposed: new@example.com: admin on frontend: the organization has no "
            "team roles (organizations:team-roles)",
            "1 change: 1 invite (2 not proposed)",
        ]
        assert [o.kind for o in await acme.apply(plan)] == [OutcomeKind.CREATED]
        emu.reset_log()
        again = await acme.plan(roster)
        assert again.changes == ()
        assert len(await acme.apply(again)) == 0
    assert [r for r in emu.find() if r.method != "GET"] == []


async def test_an_invite_role_that_does_not_take_fails_truthfully() -> None:
    """A token that cannot see whether the org has team roles (an integration's: no
    ``members/me/``): the invite is made, and its outcome failed when the role did not take."""
    emu = SentryEmulator(seed=4, rate_limit=None, invite_quotas=False)
    emu.add_org("acme", team_roles=False)
    emu.add_team("acme", "frontend")
    token = emu.add_token("acme", kind="integration")
    async with SentryClient(token, base_url="http://localhost", transport=emu.transport()) as c:
        acme = c.org("acme")
        roster = [DesiredMember("new@example.com", "member", {"frontend": "admin"})]
        plan = await acme.plan(roster, remove_missing=False)
        report = await acme.apply(plan)
    [outcome] = [o for c, o in zip(plan.changes, report, strict=True) if isinstance(c, Invite)]
    assert outcome.kind is OutcomeKind.FAILED
    assert "invited new@example.com, but the admin role on frontend was not set" in str(
        outcome.error
    )
    invitee = emu.member("acme", "new@example.com")
    assert invitee is not None  # the invite itself was made
    assert invitee.pending


async def test_team_changes_wait_for_the_role_change(emu: SentryEmulator, acme: Org) -> None:
    """A demoted manager joining a team as admin: the join follows the demotion."""
    roster = [DesiredMember("demote@example.com", "member", {"backend": None, "frontend": "admin"})]
    plan = await acme.plan(roster, remove_missing=False)
    assert [type(c) for c in plan.changes] == [ChangeRole, AddToTeam]
    member = emu.member("acme", "demote@example.com")
    assert member is not None
    # The demotion answers late: sent in parallel, the join's role would land first.
    emu.set_latency("PUT", f"/api/0/organizations/acme/members/{member.id}/", 0.2)
    assert (await acme.apply(plan, concurrency=4)).ok
    assert _held(emu, "demote@example.com") == {"backend": "contributor", "frontend": "admin"}
    assert not await acme.plan(roster, remove_missing=False)
