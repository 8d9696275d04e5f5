"""Ported from getsentry/sentry tests/sentry/core/endpoints/test_organization_member_index.py."""

from __future__ import annotations

from .conftest import Checks, World

M = "/api/0/organizations/{org}/members/"


async def _emails(world: World, token: str, query: str | None = None) -> list[str]:
    reply = await world("GET", M, token, params={"query": query} if query is not None else None)
    assert reply.status == 200, reply.body
    return [m["email"] for m in reply.body]


async def test_list_simple_and_queries(world: World, check: Checks) -> None:
    """OrganizationMemberListTest: test_simple, test_empty_query, test_query, test_id_query,
    test_id_query_with_invalid_value, test_user_id_query_with_invalid_value,
    test_query_null_user, test_email_query, test_scope_query, test_role_query."""
    owner = world.owner_token
    bar, _ = world.member("bar@localhost")
    reply = await world("GET", M, owner)
    check.eq([m["email"] for m in reply.body], ["admin@localhost", "bar@localhost"], "simple")
    check.eq(reply.body[0]["pending"], False, "simple: pending")
    check.eq(reply.body[0]["expired"], False, "simple: expired")
    check.eq(await _emails(world, owner, ""), ["admin@localhost", "bar@localhost"], "empty query")
    check.eq(await _emails(world, owner, "bar"), ["bar@localhost"], "query")
    billy = world.invite("billy@localhost")
    check.eq(await _emails(world, owner, f"id:{billy.id}"), ["billy@localhost"], "id query")
    check.eq(await _emails(world, owner, "id:not-a-number"), [], "id query invalid")
    check.eq(await _emails(world, owner, "user.id:undefined"), [], "user.id invalid")
    check.eq(await _emails(world, owner, f"user.id:{bar.user_id}"), ["bar@localhost"], "user.id")
    check.eq(await _emails(world, owner, "bill"), ["billy@localhost"], "query null user")
    check.eq(await _emails(world, owner, "admin@localhost"), ["admin@localhost"], "email query")
    check.eq(await _emails(world, owner, 'scope:"invalid:scope"'), [], "scope invalid")
    check.eq(await _emails(world, owner, 'scope:"org:admin"'), ["admin@localhost"], "scope")
    check.eq(
        await _emails(world, owner, "role:member"), ["bar@localhost", "billy@localhost"], "role"
    )
    check.eq(await _emails(world, owner, "role:owner"), ["admin@localhost"], "role owner")


async def test_is_invited_and_sso_queries(world: World, check: Checks) -> None:
    """OrganizationMemberListTest: test_is_invited_query, test_sso_linked_query."""
    owner = world.owner_token
    world.member("bar@localhost")
    check.eq(await _emails(world, owner, "isInvited:true"), [], "no invites")
    world.invite("invited-member@example.com")
    check.eq(await _emails(world, owner, "isInvited:true"), ["invited-member@example.com"], "one")
    check.eq(len(await _emails(world, owner, "isInvited:false")), 2, "isInvited:false")
    check.eq(await _emails(world, owner, "ssoLinked:true"), [], "no sso")
    morty, _ = world.member("morty@localhost")
    morty.flags["sso:linked"] = True
    world.org.version += 1
    reply = await world("GET", M, owner, params={"query": "ssoLinked:true"})
    check.eq(len(reply.body), 1, "sso linked")
    check.eq(reply.body[0]["name"], reply.body[0]["user"]["email"], "sso: name is the e-mail")
    check.eq(len(await _emails(world, owner, "ssoLinked:false")), 3, "ssoLinked:false")


async def test_cannot_get_unapproved_invites(world: World, check: Checks) -> None:
    """OrganizationMemberListTest.test_cannot_get_unapproved_invites."""
    owner = world.owner_token
    world.member("bar@localhost")
    world.request_row("test@email.com", "requested_to_join")
    world.request_row("test@gmail.com", "requested_to_be_invited")
    check.eq(await _emails(world, owner), ["admin@localhost", "bar@localhost"], "list")
    check.eq(await _emails(world, owner, "email:test@email.com"), [], "join request")
    check.eq(await _emails(world, owner, "email:test@gmail.com"), [], "invite request")


async def test_invites(world: World, check: Checks) -> None:
    """OrganizationMemberListTest: test_owner_invites, test_valid_for_invites,
    test_existing_user_for_invite, test_cannot_invite_when_already_invited,
    test_can_invite_retired_role_without_flag / test_cannot_invite_retired_role_with_flag."""
    owner = world.owner_token
    team = world.team("foo")
    r = await world(
        "POST", M, owner, {"email": "eric@localhost", "role": "owner", "teams": ["foo"]}
    )
    check.eq((r.status, r.body["email"]), (201, "eric@localhost"), "owner invites")
    r = await world(
        "POST", M, owner, {"email": "foo@example.com", "orgRole": "manager", "teams": ["foo"]}
    )
    check.eq(r.status, 201, "valid for invites")
    made = world.fresh("foo@example.com")
    assert made is not None
    check.eq((made.user_id, made.role, list(made.teams)), (None, "manager", [team.id]), "stored")
    existing, _ = world.member("foobar@example.com")
    r = await world(
        "POST", M, owner, {"email": "foobar@example.com", "role": "member", "teams": ["foo"]}
    )
    check.eq(r.status, 400, "existing user")
    check.eq(r.body, {"email": ["The user foobar@example.com is already a member"]}, "member text")
    check.eq((existing.email, existing.role), (None, "member"), "existing unchanged")
    world.invite("pending@example.com")
    r = await world("POST", M, owner, {"email": "pending@example.com", "role": "member"})
    check.eq(r.status, 400, "already invited")
    check.eq(
        r.body, {"email": ["The user pending@example.com has already been invited"]}, "invited text"
    )
    r = await world(
        "POST", M, owner, {"email": "baz@example.com", "role": "admin", "teams": ["foo"]}
    )
    check.eq(r.status, 400, "retired role with team-roles")
    check.eq(
        r.body.get("role"),
        ["The role 'admin' is deprecated and may no longer be assigned."],
        "text",
    )
    world.org.team_roles = False
    r = await world(
        "POST", M, owner, {"email": "baz@example.com", "role": "admin", "teams": ["foo"]}
    )
    check.eq(r.status, 201, "retired role without team-roles")


async def test_invite_replaces_invite_request(world: World, check: Checks) -> None:
    """OrganizationMemberRequestSerializerTest / post(): an existing invite request is
    deleted and replaced (``allow_existing_invite_request=True``)."""
    owner = world.owner_token
    old = world.request_row("asked@example.com")
    r = await world("POST", M, owner, {"email": "asked@example.com"})
    check.eq(r.status, 201, "invite over a request")
    check.true(old.id not in world.org.members, "request row removed")
    check.eq(r.body["inviteStatus"], "approved", "approved invite")


async def test_invite_permissions_by_role(world: World, check: Checks) -> None:
    """OrganizationMemberPermissionRoleTest: test_owner_invites, test_manager_invites,
    test_member_invites (invite_all_helper, member invites enabled)."""
    team = world.team("foo")
    for role, allowed in (
        ("owner", {"owner", "manager", "member"}),
        ("manager", {"manager", "member"}),
        ("member", {"member"}),
    ):
        _, token = world.member(f"{role}-inviter@localhost", role, teams=(team,))
        for invite_role in ("owner", "manager", "member"):
            body = {
                "email": f"{role}-{invite_role}@localhost",
                "role": invite_role,
                "teamRoles": [{"teamSlug": "foo", "role": "contributor"}],
            }
            r = await world("POST", M, token, body)
            check.eq(r.status, 201 if invite_role in allowed else 400, f"{role} -> {invite_role}")


async def test_member_invites_to_other_teams(world: World, check: Checks) -> None:
    """OrganizationMemberPermissionRoleTest.test_member_invites (invite_to_other_team_helper)."""
    team = world.team("foo")
    world.team("Moo Deng's Team", "moo-dengs-team")
    _, token = world.member("inviter@localhost", "member", teams=(team,))
    world.org.open_membership = False
    r = await world(
        "POST",
        M,
        token,
        {
            "email": "foo3@localhost",
            "role": "member",
            "teamRoles": [{"teamSlug": "foo", "role": "contributor"}],
        },
    )
    check.eq(r.status, 201, "own team")
    r = await world(
        "POST",
        M,
        token,
        {
            "email": "foo4@localhost",
            "role": "member",
            "teamRoles": [{"teamSlug": "moo-dengs-team", "role": "contributor"}],
        },
    )
    check.eq(
        (r.status, r.body.get("detail")),
        (400, "You cannot assign members to teams you are not a member of."),
        "other team, closed membership",
    )
    r = await world(
        "POST", M, token, {"email": "foo6@localhost", "role": "member", "teams": ["moo-dengs-team"]}
    )
    check.eq(r.status, 400, "other team via teams")
    world.org.open_membership = True
    r = await world(
        "POST", M, token, {"email": "foo8@localhost", "role": "member", "teams": ["moo-dengs-team"]}
    )
    check.eq(r.status, 201, "other team, open membership")


async def test_respects_feature_flag(world: World, check: Checks) -> None:
    """OrganizationMemberPermissionRoleTest.test_respects_feature_flag."""
    world.org.invite_members = False
    r = await world("POST", M, world.owner_token, {"email": "baz@example.com", "role": "member"})
    check.eq(r.status, 403, "feature off")
    check.eq(r.body, {"organization": "Your organization is not allowed to invite members"}, "body")


async def test_integration_token_member_role_only(world: World, check: Checks) -> None:
    """OrganizationMemberPermissionRoleTest: integration tokens may invite members only."""
    token = world.emu.add_token("baz", kind="integration")
    r = await world("POST", M, token, {"email": "int@example.com", "role": "manager"})
    check.eq(r.status, 400, "integration token, manager")
    check.eq(
        r.body,
        ["Integration tokens are restricted to inviting new members with the member role only."],
        "body",
    )
    r = await world("POST", M, token, {"email": "int@example.com", "role": "member"})
    check.eq(r.status, 201, "integration token, member")
    check.eq(r.body["inviterName"], None, "no inviter for a token")


async def test_invalid_email_and_team_role(world: World, check: Checks) -> None:
    """OrganizationMemberRequestSerializerTest: test_invalid_team_invites,
    test_invalid_org_role, test_invalid_team_role."""
    owner = world.owner_token
    world.team("foo")
    r = await world(
        "POST", M, owner, {"email": "eric@localhost", "orgRole": "member", "teams": ["faketeam"]}
    )
    check.eq((r.status, r.body), (400, {"teams": ["Invalid teams"]}), "invalid teams")
    r = await world(
        "POST",
        M,
        owner,
        {
            "email": "eric@localhost",
            "orgRole": "member",
            "teamRoles": [{"teamSlug": "foo", "role": "no-such-team-role"}],
        },
    )
    check.eq((r.status, r.body), (400, {"teamRoles": ["Invalid team-role"]}), "invalid team role")
    _, member_token = world.member("m@localhost")
    r = await world("POST", M, member_token, {"email": "eric@localhost", "orgRole": "owner"})
    check.eq(
        (r.status, r.body),
        (400, {"orgRole": ["You do not have permission to set that org-level role"]}),
        "invalid org role",
    )
