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


async def test_regenerate_and_expired(world: World, check: Checks) -> None:
    """UpdateOrganizationMemberTest: test_member_cannot_regenerate_pending_invite,
    test_admin_can_regenerate_pending_invite, test_reinvite_invite_expired_member,
    test_regenerate_invite_expired_member, test_cannot_reinvite_unapproved_invite,
    test_cannot_regenerate_unapproved_invite, test_cannot_reinvite_normal_member."""
    owner = world.owner_token
    curr, curr_token = world.member("member@example.com")
    _, baz_token = world.member("baz@example.com")
    pending = world.invite("foo@example.com")
    curr_invite = world.invite("member_invite@example.com", inviter=curr)
    r = await world("PUT", D + f"{pending.id}/", baz_token, {"reinvite": 1, "regenerate": 1})
    check.eq(r.status, 403, "member regenerates another's invite")
    r = await world("PUT", D + f"{curr_invite.id}/", curr_token, {"reinvite": 1, "regenerate": 1})
    check.eq(
        (r.status, r.body.get("detail")),
        (400, "You are missing the member:admin scope."),
        "member regenerates own invite",
    )
    r = await world("PUT", D + f"{pending.id}/", owner, {"reinvite": 1, "regenerate": 1})
    check.eq(r.status, 200, "owner regenerates")
    check.true("invite_link" not in r.body, "no invite_link after regenerate")
    expired = world.invite("expired@example.com")
    expired.token_expired = True
    r = await world("PUT", D + f"{expired.id}/", owner, {"reinvite": 1})
    check.eq((r.status, expired.token_expired), (400, True), "expired without regenerate")
    r = await world("PUT", D + f"{expired.id}/", owner, {"reinvite": 1, "regenerate": 1})
    check.eq((r.status, expired.token_expired), (200, False), "expired with regenerate")
    join = world.request_row("join@example.com", "requested_to_join")
    r = await world("PUT", D + f"{join.id}/", owner, {"reinvite": 1})
    check.eq(r.status, 404, "reinvite a join request")
    r = await world("PUT", D + f"{join.id}/", owner, {"reinvite": 1, "regenerate": 1})
    check.eq(r.status, 404, "regenerate a join request")
    world.org.scim_enabled = False  # no auth provider: no SSO link to send
    normal, _ = world.member("bar@example.com")
    r = await world("PUT", D + f"{normal.id}/", owner, {"reinvite": 1})
    check.eq(r.status, 400, "reinvite a full member")


async def test_update_membership(world: World, check: Checks) -> None:
    """UpdateOrganizationMemberTest: test_can_update_member_membership,
    test_cannot_update_own_membership, test_can_update_teams, test_can_update_teams_using_teamRoles,
    test_cannot_update_with_invalid_team, test_can_update_team_role,
    test_cannot_update_with_invalid_role, test_can_update_from_retired_role_with_flag,
    test_cannot_update_to_retired_role_with_flag, test_can_update_to_retired_role_without_flag,
    test_cannot_lower_superior_role, test_with_internal_integration,
    test_cannot_update_partnership_member."""
    owner = world.owner_token
    baz, _ = world.member("baz@example.com")
    r = await world("PUT", D + f"{baz.id}/", owner, {"role": "manager"})
    check.eq((r.status, baz.role), (200, "manager"), "member -> manager")
    r = await world("PUT", D + f"{world.owner().id}/", owner, {"role": "manager"})
    check.eq((r.status, world.owner().role), (400, "owner"), "own membership")
    foo = world.team("Team Foo", "team-foo")
    bar = world.team("Team Bar", "team-bar")
    m, _ = world.member("teams@example.com")
    r = await world("PUT", D + f"{m.id}/", owner, {"teams": ["team-foo", "team-bar"]})
    check.eq((r.status, sorted(m.teams)), (200, sorted([foo.id, bar.id])), "teams")
    m2, _ = world.member("teamroles@example.com")
    body = {
        "teamRoles": [
            {"teamSlug": "team-foo", "role": None},
            {"teamSlug": "team-bar", "role": None},
        ]
    }
    r = await world("PUT", D + f"{m2.id}/", owner, body)
    check.eq((r.status, sorted(m2.teams)), (200, sorted([foo.id, bar.id])), "teamRoles")
    m3, _ = world.member("invalidteam@example.com")
    r = await world("PUT", D + f"{m3.id}/", owner, {"teams": ["invalid"]})
    check.eq((r.status, m3.teams), (400, {}), "invalid team")
    m4, _ = world.member("teamrole@example.com", teams=(foo,))
    r = await world(
        "PUT", D + f"{m4.id}/", owner, {"teamRoles": [{"teamSlug": "team-foo", "role": "admin"}]}
    )
    check.eq(m4.teams[foo.id], "admin", "team role admin")
    r = await world(
        "PUT", D + f"{m4.id}/", owner, {"teamRoles": [{"teamSlug": "team-foo", "role": None}]}
    )
    check.eq(m4.teams[foo.id], None, "team role back to none")
    r = await world("PUT", D + f"{m4.id}/", owner, {"role": "invalid"})
    check.eq((r.status, m4.role), (400, "member"), "invalid role")
    retired, _ = world.member("retired@example.com", "admin")
    r = await world("PUT", D + f"{retired.id}/", owner, {"role": "member"})
    check.eq((r.status, retired.role), (200, "member"), "from retired role")
    r = await world("PUT", D + f"{retired.id}/", owner, {"role": "admin"})
    check.eq((r.status, retired.role), (400, "member"), "to retired role with team-roles")
    world.org.team_roles = False
    r = await world("PUT", D + f"{retired.id}/", owner, {"role": "admin"})
    check.eq((r.status, retired.role), (200, "admin"), "to retired role without team-roles")
    superior, _ = world.member("boss@example.com", "owner")
    _, manager_token = world.member("foo@example.com", "manager")
    r = await world("PUT", D + f"{superior.id}/", manager_token, {"role": "member"})
    check.eq((r.status, superior.role), (403, "owner"), "manager lowers owner")
    integration = world.emu.add_token("baz", ["member:admin"], kind="integration")
    target, _ = world.member("target@example.com")
    r = await world("PUT", D + f"{target.id}/", integration, {"role": "manager"})
    check.eq((r.status, target.role), (400, "member"), "internal integration")
    partner, _ = world.member("partner@example.com")
    partner.flags["partnership:restricted"] = True
    r = await world("PUT", D + f"{partner.id}/", owner, {})
    check.eq(r.status, 403, "partnership member")
