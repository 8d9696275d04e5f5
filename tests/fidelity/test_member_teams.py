"""Ported from getsentry/sentry
tests/sentry/core/endpoints/test_organization_member_team_details.py."""

from __future__ import annotations

from sentry_members_async.testing.state import Member, Team

from .conftest import Checks, World

MT = "/api/0/organizations/{org}/members/{member}/teams/{team}/"


def _path(member: Member, team: Team) -> str:
    return MT.replace("{member}", str(member.id)).replace("{team}", team.slug)


async def test_create_open_membership(world: World, check: Checks) -> None:
    """CreateOrganizationMemberTeamTest: test_manager_can_join_team,
    test_owner_can_add_members_to_team;
    CreateWithOpenMembershipTest: test_member_can_join_team, test_admin_can_join_team,
    test_cannot_join_idp_team, test_member_can_add_member_to_team."""
    world.org.open_membership = True
    team = world.team("team")
    idp = world.team("idp", idp=True)
    manager, manager_token = world.member("manager@localhost", "manager")
    r = await world("POST", _path(manager, team), manager_token)
    check.eq((r.status, team.id in manager.teams), (201, True), "manager joins")
    member, member_token = world.member("member@localhost")
    r = await world("POST", _path(member, team), member_token)
    check.eq((r.status, team.id in member.teams), (201, True), "member joins (open)")
    admin, admin_token = world.member("admin@example.com", "admin")
    check.eq((await world("POST", _path(admin, team), admin_token)).status, 201, "admin joins")
    check.eq((await world("POST", _path(admin, idp), admin_token)).status, 403, "idp team: admin")
    check.eq(
        (await world("POST", _path(member, idp), member_token)).status, 403, "idp team: member"
    )
    target, _ = world.member("target@localhost")
    r = await world("POST", _path(target, team), member_token)
    check.eq((r.status, team.id in target.teams), (201, True), "member adds member (open)")
    check.eq(
        (await world("POST", _path(target, team), member_token)).status, 204, "already on team"
    )


async def test_create_closed_membership(world: World, check: Checks) -> None:
    """CreateWithClosedMembershipTest: test_member_must_request_access_to_join_team,
    test_admin_must_request_access_to_join_team,
    test_member_on_team_must_request_access_to_add_member_to_team,
    test_admin_on_team_can_add_members_to_team, test_team_admin_can_add_member,
    test_integration_token_needs_elevated_permissions."""
    world.org.open_membership = False
    team = world.team("team")
    member, member_token = world.member("member@localhost")
    r = await world("POST", _path(member, team), member_token)
    check.eq((r.status, team.id in member.teams), (202, False), "member must request")
    admin, admin_token = world.member("admin@example.com", "admin")
    check.eq(
        (await world("POST", _path(admin, team), admin_token)).status, 202, "admin must request"
    )
    _, on_team_token = world.member("onteam@localhost", teams=(team,))
    r = await world("POST", _path(member, team), on_team_token)
    check.eq(r.status, 202, "member on team must request")
    _, admin_on_team = world.member("adminonteam@localhost", "admin", teams=(team,))
    r = await world("POST", _path(member, team), admin_on_team)
    check.eq((r.status, team.id in member.teams), (201, True), "admin on team adds")
    other, _ = world.member("other@localhost")
    team_admin, team_admin_token = world.member("teamadmin@localhost")
    team_admin.teams[team.id] = "admin"
    r = await world("POST", _path(other, team), team_admin_token)
    check.eq(r.status, 201, "team admin adds")
    third, _ = world.member("third@localhost")
    token = world.emu.add_token("baz", ["org:read"], kind="integration")
    r = await world("POST", _path(third, team), token)
    check.eq((r.status, team.id in third.teams), (202, False), "integration token org:read")


async def test_get_put_delete(world: World, check: Checks) -> None:
    """OrganizationMemberTeamDetails: GET (isActive, teamRole), UpdateOrganizationMemberTeamTest
    (team roles, minimum role stored as null), DeleteOrganizationMemberTeamTest
    (test_member_can_leave, test_member_cannot_remove_other_member, test_cannot_leave_idp_team)."""
    world.org.open_membership = False
    team = world.team("team")
    member, member_token = world.member("member@localhost", teams=(team,))
    owner = world.owner_token
    r = await world("GET", _path(member, team), owner)
    check.eq((r.status, r.body), (200, {"isActive": True, "teamRole": "contributor"}), "get")
    r = await world("PUT", _path(member, team), owner, {"teamRole": "admin"})
    check.eq((r.status, r.body), (200, {"isActive": True, "teamRole": "admin"}), "promote")
    check.eq(member.teams[team.id], "admin", "stored")
    manager, _ = world.member("mgr@localhost", "manager", teams=(team,))
    r = await world("PUT", _path(manager, team), owner, {"teamRole": "contributor"})
    check.eq(r.body["teamRole"], "admin", "manager's minimum team role is admin")
    check.eq(manager.teams[team.id], None, "below the minimum: stored as null")
    r = await world("PUT", _path(member, team), owner, {"teamRole": "nope"})
    check.eq(r.status, 400, "unknown team role")
    other, other_token = world.member("other@localhost", teams=(team,))
    r = await world("DELETE", _path(member, team), other_token)
    check.eq(
        (r.status, r.body),
        (400, {"detail": "You do not have permission to edit that user's membership."}),
        "member removes another",
    )
    r = await world("DELETE", _path(other, team), other_token)
    check.eq((r.status, team.id in other.teams), (200, False), "member leaves")
    idp = world.team("idp", idp=True)
    member.teams[idp.id] = None
    r = await world("DELETE", _path(member, idp), member_token)
    check.eq(r.status, 403, "cannot leave idp team")


async def test_delete_and_read(world: World, check: Checks) -> None:
    """DeleteOrganizationMemberTeamTest: test_member_can_leave,
    test_member_can_leave_without_membership, test_member_cannot_remove_member,
    test_admin_cannot_remove_member, test_admin_on_team_can_remove_members,
    test_manager_can_remove_members, test_owner_can_remove_members,
    test_cannot_leave_idp_provisioned_team; ReadOrganizationMemberTeamTest: test_get,
    test_get_role, test_not_found; UpdateOrganizationMemberTeamTest:
    test_cannot_set_nonexistent_role, test_cannot_promote_nonmember,
    test_owner_can_promote_member."""
    world.org.open_membership = True
    team = world.team("team")
    on_team, on_team_token = world.member("onteam@localhost", teams=(team,))
    r = await world("DELETE", _path(on_team, team), on_team_token)
    check.eq((r.status, r.body["isMember"], team.id in on_team.teams), (200, False, False), "leave")
    loner, loner_token = world.member("loner@localhost")
    r = await world("DELETE", _path(loner, team), loner_token)
    check.eq(r.status, 200, "leave without membership")
    target, _ = world.member("target@localhost", teams=(team,))
    _, peer_token = world.member("peer@localhost", teams=(team,))
    r = await world("DELETE", _path(target, team), peer_token)
    check.eq((r.status, team.id in target.teams), (400, True), "member cannot remove member")
    _, admin_token = world.member("admin@example.com", "admin")
    r = await world("DELETE", _path(target, team), admin_token)
    check.eq((r.status, team.id in target.teams), (400, True), "admin off the team cannot remove")
    _, admin_on_team = world.member("adminon@localhost", "admin", teams=(team,))
    manager_on, _ = world.member("mgron@localhost", "manager", teams=(team,))
    owner_on, _ = world.member("ownon@localhost", "owner", teams=(team,))
    for who in (target, manager_on, owner_on):
        r = await world("DELETE", _path(who, team), admin_on_team)
        check.eq(
            (r.status, team.id in who.teams), (200, False), f"admin on team removes {who.role}"
        )
    _, manager_token = world.member("mgr@localhost", "manager", teams=(team,))
    for i, role in enumerate(("member", "manager", "owner")):
        who, _ = world.member(f"victim{i}@localhost", role, teams=(team,))
        r = await world("DELETE", _path(who, team), manager_token)
        check.eq(r.status, 200, f"manager removes {role}")
        who2, _ = world.member(f"victim{i}b@localhost", role, teams=(team,))
        r = await world("DELETE", _path(who2, team), world.owner_token)
        check.eq(r.status, 200, f"owner removes {role}")
    idp = world.team("idp", idp=True)
    idp_member, idp_token = world.member("idpmember@localhost", teams=(idp,))
    r = await world("DELETE", _path(idp_member, idp), idp_token)
    check.eq((r.status, idp.id in idp_member.teams), (403, True), "cannot leave idp team")
    member_on, _ = world.member("m2@localhost", teams=(team,))
    team_admin, _ = world.member("ta@localhost", teams=(team,))
    team_admin.teams[team.id] = "admin"
    owner = world.owner_token
    r = await world("GET", _path(member_on, team), owner)
    check.eq(r.body["isActive"], True, "get")
    r = await world("GET", _path(team_admin, team), owner)
    check.eq((r.body["isActive"], r.body["teamRole"]), (True, "admin"), "get role")
    bad_org = _path(team_admin, team).replace("{org}", "bad_slug")
    check.eq((await world("GET", bad_org, owner)).status, 404, "bad org")
    bad_team = MT.replace("{member}", str(team_admin.id)).replace("{team}", "bad_team")
    check.eq((await world("GET", bad_team, owner)).status, 404, "bad team")
    r = await world("PUT", _path(member_on, team), owner, {"teamRole": "poobah"})
    check.eq(r.status, 400, "nonexistent role")
    r = await world("PUT", _path(loner, team), owner, {"teamRole": "admin"})
    check.eq(r.status, 404, "promote a non-member")
    r = await world("PUT", _path(member_on, team), owner, {"teamRole": "admin"})
    check.eq((r.status, member_on.teams[team.id]), (200, "admin"), "owner promotes")
