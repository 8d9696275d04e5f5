"""Ported from getsentry/sentry tests/sentry/core/endpoints/test_organization_member_details.py."""

from __future__ import annotations

from .conftest import Checks, World

D = "/api/0/organizations/{org}/members/"
PERM = "You do not have permission to perform this action."


async def test_get(world: World, check: Checks) -> None:
    """GetOrganizationMemberTest: test_me, test_get_by_id, test_get_by_garbage,
    test_cannot_get_unapproved_invite, test_invite_link_does_not_exist,
    test_get_member_list_teams, test_lists_organization_roles, test_lists_team_roles."""
    owner = world.owner_token
    me = await world("GET", D + "me/", owner)
    check.eq((me.body["role"], me.body["orgRole"]), ("owner", "owner"), "me: roles")
    check.eq(me.body["user"]["id"], str(world.owner().user_id), "me: user id")
    check.eq(me.body["email"], "admin@localhost", "me: email")
    dummy, dummy_token = world.member("dummy@example.com")
    got = await world("GET", D + f"{dummy.id}/", dummy_token)
    check.eq(
        (got.body["role"], got.body["orgRole"], got.body["id"]),
        ("member", "member", str(dummy.id)),
        "by id",
    )
    check.eq((await world("GET", D + "trash/", owner)).status, 404, "garbage")
    join = world.request_row("test@gmail.com", "requested_to_join")
    ask = world.request_row("test2@gmail.com")
    check.eq((await world("GET", D + f"{join.id}/", owner)).status, 404, "join request")
    check.eq((await world("GET", D + f"{ask.id}/", owner)).status, 404, "invite request")
    pending = world.invite("bar@example.com")
    got = await world("GET", D + f"{pending.id}/", owner)
    check.true("invite_link" not in got.body, "no invite_link")
    team = world.team("Team", "team")
    baz, _ = world.member("baz@example.com", teams=(team,))
    got = await world("GET", D + f"{baz.id}/", owner)
    check.true("team" in got.body["teams"], "teams listed")
    check.eq(got.body["teamRoles"][0], {"teamSlug": "team", "role": None}, "teamRoles")
    me = await world("GET", D + "me/", owner)
    check.eq(me.body.get("roles"), me.body["orgRoleList"], "roles alias")
    check.eq(
        [r["id"] for r in me.body["orgRoleList"]],
        ["member", "admin", "manager", "owner"],
        "org roles",
    )
    check.eq([r["id"] for r in me.body["teamRoleList"]], ["contributor", "admin"], "team roles")


async def test_reinvite(world: World, check: Checks) -> None:
    """UpdateOrganizationMemberTest: test_invalid_id, test_reinvite_pending_member,
    test_member_reinvite_pending_member, test_member_can_only_reinvite,
    test_member_cannot_reinvite_non_pending_members, test_cannot_reinvite_and_modify_member."""
    owner = world.owner_token
    curr, curr_token = world.member("member@example.com")
    other, _ = world.member("other@example.com")
    curr_invite = world.invite("member_invite@example.com", inviter=curr)
    other_invite = world.invite("other_invite@example.com", inviter=other)
    check.eq((await world("PUT", D + "trash/", owner, {"reinvite": 1})).status, 404, "invalid id")
    pending = world.invite("foo@example.com")
    check.eq(
        (await world("PUT", D + f"{pending.id}/", owner, {"reinvite": 1})).status, 200, "reinvite=1"
    )
    world.org.disable_member_invite = True
    r = await world("PUT", D + f"{curr_invite.id}/", curr_token, {"reinvite": 1})
    check.eq((r.status, r.body.get("detail")), (403, PERM), "member invites off: own")
    r = await world("PUT", D + f"{other_invite.id}/", curr_token, {"reinvite": 1})
    check.eq((r.status, r.body.get("detail")), (403, PERM), "member invites off: other")
    world.org.disable_member_invite = False
    r = await world("PUT", D + f"{curr_invite.id}/", curr_token, {"reinvite": 1})
    check.eq(r.status, 200, "own invite resent")
    r = await world("PUT", D + f"{other_invite.id}/", curr_token, {"reinvite": 1})
    check.eq(
        (r.status, r.body.get("detail")),
        (403, "You cannot modify invitations sent by someone else."),
        "someone else's invite",
    )
    world.team("Team Foo", "team-foo")
    r = await world("PUT", D + f"{curr_invite.id}/", curr_token, {"teams": ["team-foo"]})
    check.eq((r.status, r.body.get("detail")), (403, PERM), "member can only reinvite")
    r = await world("PUT", D + f"{other.id}/", curr_token, {"reinvite": 1})
    check.eq((r.status, r.body.get("detail")), (403, PERM), "not pending")
    r = await world("PUT", D + f"{pending.id}/", owner, {"reinvite": 1, "role": "manager"})
    check.eq(
        (r.status, r.body.get("detail")),
        (
            403,
            "You cannot modify member details when resending an invitation. Separate requests "
            "are required.",
        ),
        "reinvite and modify",
    )


async def test_reinvite_rate_limited(world: World, check: Checks) -> None:
    """UpdateOrganizationMemberTest.test_rate_limited (the daily quota, reached here by
    re-inviting one address more than 10 times a day)."""
    world.org.invite_rate_limits = True
    owner = world.owner_token
    pending = world.invite("foo@example.com")
    statuses = [
        (await world("PUT", D + f"{pending.id}/", owner, {"reinvite": True})).status
        for _ in range(11)
    ]
    check.eq(statuses, [200] * 10 + [429], "11th re-invite of an address in a day")


async def test_update_roles(world: World, check: Checks) -> None:
    """UpdateOrganizationMemberTest: role changes (test_owner_can_change_member_role,
    test_cannot_change_own_role, test_cannot_promote_above_self) as in details.py."""
    owner = world.owner_token
    member, _ = world.member("m@example.com")
    r = await world("PUT", D + f"{member.id}/", owner, {"orgRole": "manager"})
    check.eq((r.status, r.body["orgRole"]), (200, "manager"), "owner promotes")
    r = await world("PUT", D + f"{world.owner().id}/", owner, {"orgRole": "member"})
    check.eq(
        (r.status, r.body),
        (400, {"detail": "You cannot make changes to your own role."}),
        "own role",
    )
    _, manager_token = world.member("mgr@example.com", "manager")
    target, _ = world.member("t@example.com")
    r = await world("PUT", D + f"{target.id}/", manager_token, {"orgRole": "owner"})
    check.eq(
        (r.status, r.body),
        (403, {"role": "You do not have permission to assign the given role."}),
        "manager cannot make owners",
    )


async def test_delete(world: World, check: Checks) -> None:
    """DeleteOrganizationMemberTest: test_simple, test_cannot_delete_only_owner,
    test_cannot_delete_idp_provisioned_member, test_member_can_delete_own_invites,
    test_member_cannot_delete_others_invites."""
    owner = world.owner_token
    member, member_token = world.member("m@example.com")
    victim, _ = world.member("v@example.com")
    check.eq((await world("DELETE", D + f"{victim.id}/", owner)).status, 204, "owner removes")
    check.true(victim.id not in world.org.members, "removed")
    r = await world("DELETE", D + f"{world.owner().id}/", owner)
    check.eq(
        (r.status, r.body),
        (403, {"detail": "You cannot remove the only remaining owner of the organization."}),
        "only owner",
    )
    idp, _ = world.member("idp@example.com")
    idp.flags["idp:provisioned"] = True
    r = await world("DELETE", D + f"{idp.id}/", owner)
    check.eq(
        (r.status, r.body),
        (403, {"detail": "This user is managed through your organization's identity provider."}),
        "idp provisioned",
    )
    mine = world.invite("mine@example.com", inviter=member)
    theirs = world.invite("theirs@example.com", inviter=world.owner())
    check.eq((await world("DELETE", D + f"{mine.id}/", member_token)).status, 204, "own invite")
    r = await world("DELETE", D + f"{theirs.id}/", member_token)
    check.eq(
        (r.status, r.body),
        (400, {"detail": "You cannot modify invitations sent by someone else."}),
        "others' invite",
    )
    other, _ = world.member("o@example.com")
    r = await world("DELETE", D + f"{other.id}/", member_token)
    check.eq(
        (r.status, r.body), (400, {"detail": "You are missing the member:admin scope."}), "member"
    )
