"""Every resource method against the emulator over loopback HTTP.

Each test asserts the request the emulator received and the decoded model.
"""

from __future__ import annotations

import pytest

from sentry_members_async import (
    BadRequestError,
    ConflictError,
    Member,
    MemberId,
    NotFoundError,
    Org,
    PermissionDeniedError,
    Team,
    TeamMembership,
    ValidationError,
)
from sentry_members_async.models import ScimGroup, ScimUser
from sentry_members_async.testing import SentryEmulator

ORG = "/api/0/organizations/acme"


def last(emu: SentryEmulator) -> tuple[str, str, dict[str, str], object]:
    r = emu.requests[-1]
    return r.method, r.path, r.params, r.json()


# -- members -----------------------------------------------------------------


async def test_list_with_filters(emu: SentryEmulator, acme: Org) -> None:
    members = [m async for m in acme.members.list(role="owner", page_size=50)]
    assert [m.org_role for m in members] == ["owner"]
    assert isinstance(members[0], Member)
    assert last(emu) == ("GET", f"{ORG}/members/", {"per_page": "50", "query": "role:owner"}, None)


async def test_list_builds_sentry_query_keys(emu: SentryEmulator, acme: Org) -> None:
    await acme.members.list(
        "alice", role=["member", "manager"], is_invited=False, has_2fa=True, sso_linked=False
    ).collect()
    assert emu.requests[-1].params["query"] == (
        "role:member role:manager isInvited:false has2fa:true ssoLinked:false alice"
    )


async def test_pending(emu: SentryEmulator, acme: Org) -> None:
    pending = await acme.members.pending().collect()
    expected = [str(m["id"]) for m in emu.members("acme") if m["pending"]]
    assert [m.id for m in pending] == expected
    assert all(m.user is None and m.pending for m in pending)
    assert emu.requests[-1].params["query"] == "isInvited:true"


async def test_get_and_me(emu: SentryEmulator, acme: Org) -> None:
    me = await acme.members.get("me")
    assert me.org_role == "owner"
    assert me.is_only_owner is True
    assert [r.id for r in me.org_role_list] == ["member", "admin", "manager", "owner"]
    assert last(emu)[:2] == ("GET", f"{ORG}/members/me/")
    other = emu.members("acme")[2]
    member = await acme.members.get(MemberId(str(other["id"])))
    assert member.id == MemberId(str(other["id"]))
    assert member.email == other["email"]
    assert set(member.teams) == set(other["teams"])
    assert last(emu)[:2] == ("GET", f"{ORG}/members/{other['id']}/")


async def test_invite(emu: SentryEmulator, acme: Org) -> None:
    member = await acme.members.invite(
        "New.Hire@example.com", teams=["team-01"], team_roles={"team-02": "admin"}
    )
    assert last(emu) == (
        "POST",
        f"{ORG}/members/",
        {},
        {
            "email": "New.Hire@example.com",
            # both keys: Sentry 23.7.1's POST reads only the deprecated "role",
            # newer Sentry reads "orgRole" (api/members.py says why)
            "role": "member",
            "orgRole": "member",
            "teamRoles": [
                {"teamSlug": "team-01", "role": None},
                {"teamSlug": "team-02", "role": "admin"},
            ],
        },
    )
    assert member.pending is True
    assert member.user is None
    assert member.email == "New.Hire@example.com"
    state = {m["email"]: m for m in emu.members("acme")}["New.Hire@example.com"]
    assert state["teams"] == {"team-01": None, "team-02": None}  # roles are not applied on invite
    with pytest.raises(BadRequestError) as info:
        await acme.members.invite("new.hire@example.com", send_invite=False)
    assert info.value.field_errors == {
        "email": ["The user new.hire@example.com has already been invited"]
    }
    assert emu.requests[-1].json() == {
        "email": "new.hire@example.com",
        "role": "member",
        "orgRole": "member",
        "sendInvite": False,
    }


async def test_find_by_email(emu: SentryEmulator, acme: Org) -> None:
    target = emu.members("acme")[5]["email"]
    found = await acme.members.find_by_email(target.upper())
    assert found is not None
    assert found.email == target
    assert emu.requests[-1].params["query"] == f"email:{target.upper()}"
    assert await acme.members.find_by_email("nobody@example.com") is None


async def test_update_role_and_teams(emu: SentryEmulator, acme: Org) -> None:
    target = next(m for m in emu.members("acme") if m["role"] == "member" and not m["pending"])
    member = await acme.members.update(
        MemberId(str(target["id"])), role="manager", team_roles={"team-03": "admin"}
    )
    assert last(emu) == (
        "PUT",
        f"{ORG}/members/{target['id']}/",
        {},
        {
            "role": "manager",
            "orgRole": "manager",
            "teamRoles": [{"teamSlug": "team-03", "role": "admin"}],
        },
    )
    assert member.org_role == "manager"
    assert member.teams == ("team-03",)
    with pytest.raises(ValidationError):
        await acme.members.update(MemberId("1"))


async def test_promote_to_owner_is_refused_for_a_manager(emu: SentryEmulator) -> None:
    from sentry_members_async import SentryClient

    token = emu.add_token("acme", role="manager")
    target = next(m for m in emu.members("acme") if m["role"] == "member" and not m["pending"])
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        with pytest.raises(PermissionDeniedError) as info:
            await client.org("acme").members.update(MemberId(str(target["id"])), role="owner")
    assert info.value.field_errors == {
        "role": ["You do not have permission to assign the given role."]
    }
    # a rule of Sentry's (no scope lifts it): the message explains it, names no scope
    assert info.value.required_scopes == ("member:invite", "member:write", "member:admin")
    assert info.value.is_scope_refusal is False
    assert "changing org roles takes an Owner or Manager" in str(info.value)
    assert "needs one of the scopes" not in str(info.value)


async def test_reinvite(emu: SentryEmulator, acme: Org) -> None:
    target = next(m for m in emu.members("acme") if m["pending"] and m["expired"] is False)
    member = await acme.members.reinvite(MemberId(str(target["id"])))
    assert last(emu) == ("PUT", f"{ORG}/members/{target['id']}/", {}, {"reinvite": True})
    assert member.pending
    await acme.members.reinvite(MemberId(str(target["id"])), regenerate=True)
    assert emu.requests[-1].json() == {"reinvite": True, "regenerate": True}


async def test_remove(emu: SentryEmulator, acme: Org) -> None:
    target = emu.members("acme")[4]
    await acme.members.remove(MemberId(str(target["id"])))
    assert last(emu) == ("DELETE", f"{ORG}/members/{target['id']}/", {}, None)
    assert target["id"] not in [m["id"] for m in emu.members("acme")]
    with pytest.raises(NotFoundError):
        await acme.members.remove(MemberId(str(target["id"])))


async def test_team_membership_methods(emu: SentryEmulator, acme: Org) -> None:
    target = next(m for m in emu.members("acme") if "team-02" not in m["teams"])
    member_id = MemberId(str(target["id"]))
    assert await acme.members.add_to_team(member_id, "team-02") == "added"
    assert last(emu)[:2] == ("POST", f"{ORG}/members/{target['id']}/teams/team-02/")
    assert await acme.members.add_to_team(member_id, "team-02") == "unchanged"
    membership = await acme.members.set_team_role(member_id, "team-02", "admin")
    assert membership == TeamMembership(is_active=True, team_role="admin")
    assert last(emu) == (
        "PUT",
        f"{ORG}/members/{target['id']}/teams/team-02/",
        {},
        {"teamRole": "admin"},
    )
    team = await acme.members.remove_from_team(member_id, "team-02")
    assert isinstance(team, Team)
    assert team.slug == "team-02"
    assert team.is_member is False
    assert last(emu)[:2] == ("DELETE", f"{ORG}/members/{target['id']}/teams/team-02/")


# -- teams -------------------------------------------------------------------


async def test_teams(emu: SentryEmulator, acme: Org) -> None:
    teams = await acme.teams.list().collect()
    assert [t.slug for t in teams] == ["team-01", "team-02", "team-03"]
    assert last(emu) == ("GET", f"{ORG}/teams/", {"per_page": "100"}, None)
    created = await acme.teams.create("platform", name="Platform")
    assert (created.slug, created.name) == ("platform", "Platform")
    assert last(emu) == ("POST", f"{ORG}/teams/", {}, {"slug": "platform", "name": "Platform"})
    with pytest.raises(ConflictError):
        await acme.teams.create("platform")
    got = await acme.teams.get("platform")
    assert got.id == created.id
    assert last(emu)[:2] == ("GET", "/api/0/teams/acme/platform/")
    renamed = await acme.teams.rename("platform", slug="platform-eng")
    assert renamed.slug == "platform-eng"
    assert last(emu) == ("PUT", "/api/0/teams/acme/platform/", {}, {"slug": "platform-eng"})
    members = await acme.teams.members("team-01").collect()
    expected = {
        str(m["id"]) for m in emu.members("acme") if "team-01" in m["teams"] and not m["pending"]
    }
    assert {m.id for m in members} == expected
    assert all(m.team_slug == "team-01" for m in members)
    assert last(emu)[:2] == ("GET", "/api/0/teams/acme/team-01/members/")
    await acme.teams.delete("platform-eng")
    assert last(emu)[:2] == ("DELETE", "/api/0/teams/acme/platform-eng/")
    assert "platform-eng" not in [t["slug"] for t in emu.teams("acme")]


# -- SCIM --------------------------------------------------------------------


async def test_scim_users(emu: SentryEmulator, acme: Org) -> None:
    users = await acme.scim.users.list(page_size=7, prefetch=3).collect()
    assert len(users) == len(emu.members("acme"))
    assert all(isinstance(u, ScimUser) for u in users)
    first = emu.requests[0]
    assert first.params == {"startIndex": "1", "count": "7"}
    assert first.headers["Authorization"] == "<redacted>"
    made = await acme.scim.users.create("okta.user@example.com", role="admin")
    assert last(emu) == (
        "POST",
        f"{ORG}/scim/v2/Users",
        {},
        {"userName": "okta.user@example.com", "sentryOrgRole": "admin"},
    )
    assert made.sentry_org_role == "admin"
    assert made.user_name == "okta.user@example.com"
    found = await acme.scim.users.list(user_name="okta.user@example.com").collect()
    assert [u.id for u in found] == [made.id]
    assert emu.requests[-1].params["filter"] == 'userName eq "okta.user@example.com"'
    got = await acme.scim.users.get(made.id)
    assert got == made
    await acme.scim.users.deactivate(made.id)
    assert last(emu) == (
        "PATCH",
        f"{ORG}/scim/v2/Users/{made.id}",
        {},
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )
    assert emu.member("acme", "okta.user@example.com") is None
    other = await acme.scim.users.create("second@example.com")
    await acme.scim.users.delete(other.id)
    assert last(emu)[:2] == ("DELETE", f"{ORG}/scim/v2/Users/{other.id}")
    with pytest.raises(ValidationError):
        await acme.scim.users.create("x@example.com", role="owner")


async def test_scim_groups(emu: SentryEmulator, acme: Org) -> None:
    group = await acme.scim.groups.create("Data Science")
    assert isinstance(group, ScimGroup)
    assert group.display_name == "Data Science"  # the team name (test_scim_team_index.py)
    assert group.members == ()
    ids = [MemberId(str(m["id"])) for m in emu.members("acme")[1:4]]
    await acme.scim.groups.add_members(group.id, ids)
    assert last(emu) == (
        "PATCH",
        f"{ORG}/scim/v2/Groups/{group.id}",
        {},
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}],
        },
    )
    await acme.scim.groups.remove_members(group.id, ids[:1])
    assert emu.requests[-1].json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": f'members[value eq "{ids[0]}"]'}],
    }
    got = await acme.scim.groups.get(group.id)
    assert got.members is not None
    assert [m.value for m in got.members] == ids[1:]
    await acme.scim.groups.rename(group.id, "ML Platform")
    listed = await acme.scim.groups.list(display_name="ML Platform", exclude_members=True).collect()
    assert [(g.display_name, g.members) for g in listed] == [("ML Platform", None)]
    assert emu.requests[-1].params == {
        "filter": 'displayName eq "ML Platform"',
        "excludedAttributes": "members",
        "startIndex": "1",
        "count": "100",
    }
    await acme.scim.groups.delete(group.id)
    assert last(emu)[:2] == ("DELETE", f"{ORG}/scim/v2/Groups/{group.id}")
    assert "ml-platform" not in [t["slug"] for t in emu.teams("acme")]


async def test_invite_of_a_localhost_address_is_sent_and_created(
    emu: SentryEmulator, acme: Org
) -> None:
    # Sentry: tests/sentry/core/endpoints/test_organization_member_index.py,
    # ``OrganizationMemberRequestSerializerTest.test_valid`` — the invite serializer
    # accepts ``eric@localhost`` (Django's ``EmailValidator`` allow-lists localhost).
    member = await acme.members.invite("x@localhost")
    posts = emu.find("POST", "/api/0/organizations/acme/members/")
    assert [(r.status, r.json()["email"]) for r in posts] == [(201, "x@localhost")]
    assert member.email == "x@localhost"
    assert [m["email"] for m in emu.members("acme") if m["email"] == "x@localhost"] == [
        "x@localhost"
    ]
