"""The emulator's member, team and SCIM rules, over real loopback HTTP.

Each test asserts the exact status and body Sentry gives: getsentry/sentry's
``src/sentry/api/endpoints/organization_member/`` (``index.py``, ``details.py``,
``team_details.py``), ``src/sentry/api/endpoints/organization_teams.py`` and
``team_details.py``, ``src/sentry/scim/endpoints/`` (``members.py``,
``teams.py``, ``utils.py``); the real Sentry 23.7.1's answers are checked by
``tests/live/test_members.py``, ``test_teams.py`` and ``test_scim.py``.
Requests are made with bare aiohttp so the emulator is checked independently
of our client.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from sentry_members_async.testing import SentryEmulator

PERM = {"detail": "You do not have permission to perform this action."}


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class Http:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def __call__(
        self,
        method: str,
        path: str,
        token: str | None,
        *,
        json_body: Any = None,
        params: dict[str, str] | None = None,
    ) -> Reply:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.request(
            method, self.base + path, headers=headers, json=json_body, params=params
        ) as resp:
            raw = await resp.read()
            body = json.loads(raw) if raw else None
            return Reply(resp.status, body, dict(resp.headers))


@pytest.fixture
def emu() -> SentryEmulator:
    emulator = SentryEmulator(seed=7, rate_limit=None)
    emulator.add_org("acme", scim=True)
    emulator.add_teams("acme", 3)
    emulator.add_members("acme", 20, pending_ratio=0.0, roles={"member": 1.0}, teams=1)
    return emulator


@pytest.fixture
async def http(emu: SentryEmulator) -> AsyncIterator[Http]:
    async with emu.serve() as base, aiohttp.ClientSession() as session:
        yield Http(session, base)


M = "/api/0/organizations/acme/members/"


async def test_invite_then_invite_again(emu: SentryEmulator, http: Http) -> None:
    owner = emu.add_token("acme")
    r = await http("POST", M, owner, json_body={"email": "new@x.io", "teams": ["team-01"]})
    assert r.status == 201
    assert r.body["email"] == "new@x.io"
    assert r.body["pending"] is True
    assert r.body["user"] is None
    assert r.body["orgRole"] == "member"
    assert r.body["inviteStatus"] == "approved"
    assert r.body["inviterName"] == "Org Owner"
    again = await http("POST", M, owner, json_body={"email": "new@x.io"})
    assert again.status == 400
    # A pending invitee (Sentry's validate_email): "has already been invited".
    assert again.body == {"email": ["The user new@x.io has already been invited"]}
    existing = emu.members("acme")[1]["email"]
    third = await http("POST", M, owner, json_body={"email": existing})
    assert third.body == {"email": [f"The user {existing} is already a member"]}
    state = {m["email"]: m for m in emu.members("acme")}
    assert state["new@x.io"]["teams"] == {"team-01": None}
    assert emu.invites_created("acme") == {"new@x.io": 1}


async def test_invite_validation_errors(emu: SentryEmulator, http: Http) -> None:
    owner = emu.add_token("acme")
    r = await http(
        "POST", M, owner, json_body={"email": "nope", "orgRole": "king", "teams": ["ghosts"]}
    )
    assert r.status == 400
    assert r.body == {
        # Both of AllowedEmailField's validators refuse it (measured on 23.7.1).
        "email": ["Enter a valid email address.", "Enter a valid email address."],
        "orgRole": ['"king" is not a valid choice.'],
        "teams": ["Invalid teams"],
    }
    retired = await http("POST", M, owner, json_body={"email": "a@x.io", "orgRole": "admin"})
    assert retired.body == {
        "orgRole": ["The role 'admin' is deprecated and may no longer be assigned."]
    }
    billing = await http(
        "POST", M, owner, json_body={"email": "b@x.io", "orgRole": "billing", "teams": ["team-01"]}
    )
    assert billing.status == 400
    assert billing.body == {
        "email": "The user with a 'billing' role cannot have team-level permissions."
    }


async def test_role_above_the_callers(emu: SentryEmulator, http: Http) -> None:
    manager = emu.add_token("acme", role="manager")
    r = await http("POST", M, manager, json_body={"email": "boss@x.io", "orgRole": "owner"})
    assert r.status == 400
    assert r.body == {"orgRole": ["You do not have permission to set that org-level role"]}
    member_id = emu.members("acme")[1]["id"]
    promote = await http("PUT", f"{M}{member_id}/", manager, json_body={"orgRole": "owner"})
    assert promote.status == 403
    assert promote.body == {"role": "You do not have permission to assign the given role."}
    owner_id = emu.members("acme")[0]["id"]
    demote = await http("PUT", f"{M}{owner_id}/", manager, json_body={"orgRole": "member"})
    assert demote.status == 403
    assert demote.body == {"role": "You do not have permission to assign a role to the given user."}
    ok = await http("PUT", f"{M}{member_id}/", manager, json_body={"orgRole": "manager"})
    assert ok.status == 200
    assert ok.body["orgRole"] == "manager"
    own = await http("PUT", f"{M}me/", manager, json_body={"orgRole": "member"})
    assert own.status == 400
    assert own.body == {"detail": "You cannot make changes to your own role."}


async def test_integration_token_invites_members_only(emu: SentryEmulator, http: Http) -> None:
    token = emu.add_token("acme", kind="integration")
    r = await http("POST", M, token, json_body={"email": "m@x.io", "orgRole": "manager"})
    assert r.status == 400
    assert r.body == [
        "Integration tokens are restricted to inviting new members with the member role only."
    ]
    ok = await http("POST", M, token, json_body={"email": "m@x.io"})
    assert ok.status == 201
    assert ok.body["inviterName"] is None


async def test_only_owner_and_me(emu: SentryEmulator, http: Http) -> None:
    owner = emu.add_token("acme")
    me = await http("GET", f"{M}me/", owner)
    assert me.status == 200
    assert me.body["orgRole"] == "owner"
    assert me.body["isOnlyOwner"] is True
    # Sentry's test_lists_organization_roles: billing is not listed.
    assert [r["id"] for r in me.body["orgRoleList"]] == [
        "member",
        "admin",
        "manager",
        "owner",
    ]
    gone = await http("DELETE", f"{M}me/", owner)
    assert gone.status == 403
    assert gone.body == {
        "detail": "You cannot remove the only remaining owner of the organization."
    }
    owner_id = me.body["id"]
    again = await http("DELETE", f"{M}{owner_id}/", owner)
    assert again.status == 403


async def test_get_unknown_and_non_numeric_members(emu: SentryEmulator, http: Http) -> None:
    owner = emu.add_token("acme")
    for member_id in ("999", "abc"):
        r = await http("GET", f"{M}{member_id}/", owner)
        assert (r.status, r.body) == (404, {"detail": "The requested resource does not exist"})


async def test_remove_member(emu: SentryEmulator, http: Http) -> None:
    owner = emu.add_token("acme")
    victim = emu.members("acme")[3]
    r = await http("DELETE", f"{M}{victim['id']}/", owner)
    assert (r.status, r.body) == (204, None)
    assert victim["id"] not in [m["id"] for m in emu.members("acme")]
    member_token = emu.add_token("acme", role="member", scopes=["member:read"])
    target = emu.members("acme")[3]["id"]
    denied = await http("DELETE", f"{M}{target}/", member_token)
    assert denied.status == 400
    assert denied.body == {"detail": "You are missing the member:admin scope."}


async def test_authentication_and_scopes(emu: SentryEmulator, http: Http) -> None:
    r = await http("GET", M, None)
    assert (r.status, r.body) == (401, {"detail": "Authentication credentials were not provided."})
    assert r.headers["WWW-Authenticate"] == 'xBasic realm="api"'
    bad = await http("GET", M, "nope")
    assert (bad.status, bad.body) == (401, {"detail": "Invalid token"})
    narrow = emu.add_token("acme", scopes=["team:read"])
    denied = await http("GET", M, narrow)
    assert (denied.status, denied.body) == (403, PERM)
    other = SentryEmulator()
    assert other.state.orgs == {}
    unknown = await http("GET", "/api/0/organizations/nope/members/", emu.add_token("acme"))
    assert unknown.status == 404


async def test_query_filters(emu: SentryEmulator, http: Http) -> None:
    owner = emu.add_token("acme")
    await http("POST", M, owner, json_body={"email": "pending@x.io"})
    r = await http("GET", M, owner, params={"query": "isInvited:true"})
    assert [m["email"] for m in r.body] == ["pending@x.io"]
    r = await http("GET", M, owner, params={"query": "role:owner"})
    assert [m["orgRole"] for m in r.body] == ["owner"]
    r = await http("GET", M, owner, params={"query": "email:PENDING@x.io"})
    assert [m["email"] for m in r.body] == ["pending@x.io"]
    r = await http("GET", M, owner, params={"query": "is:invited"})
    assert (r.status, r.body) == (200, [])


# -- member teams --------------------------------------------------------------


async def test_member_team_add_twice_and_remove(emu: SentryEmulator, http: Http) -> None:
    owner = emu.add_token("acme")
    member = next(m for m in emu.members("acme") if "team-02" not in m["teams"])
    path = f"{M}{member['id']}/teams/team-02/"
    added = await http("POST", path, owner)
    assert added.status == 201
    assert added.body["slug"] == "team-02"
    assert added.body["isMember"] is True
    twice = await http("POST", path, owner)
    assert (twice.status, twice.body) == (204, None)
    role = await http("PUT", path, owner, json_body={"teamRole": "admin"})
    assert (role.status, role.body) == (200, {"isActive": True, "teamRole": "admin"})
    removed = await http("DELETE", path, owner)
    assert removed.status == 200
    assert removed.body["slug"] == "team-02"
    assert removed.body["isMember"] is False
    assert "team-02" not in {m["id"]: m for m in emu.members("acme")}[member["id"]]["teams"]
    missing = await http("POST", f"{M}{member['id']}/teams/nope/", owner)
    assert missing.status == 404


# -- teams ---------------------------------------------------------------------


async def test_teams_create_conflict_delete(emu: SentryEmulator, http: Http) -> None:
    owner = emu.add_token("acme")
    t = "/api/0/organizations/acme/teams/"
    created = await http("POST", t, owner, json_body={"slug": "infra"})
    assert created.status == 201
    assert created.body["slug"] == "infra"
    dup = await http("POST", t, owner, json_body={"slug": "infra"})
    assert dup.status == 409
    assert dup.body == {
        "non_field_errors": ["A team with this slug already exists."],
        "detail": "A team with this slug already exists.",
    }
    bad = await http("POST", t, owner, json_body={"slug": "Bad Slug"})
    assert bad.status == 400
    assert list(bad.body) == ["slug"]
    none = await http("POST", t, owner, json_body={})
    assert none.body == {"non_field_errors": ["Name or slug is required"]}
    deleted = await http("DELETE", "/api/0/teams/acme/infra/", owner)
    assert (deleted.status, deleted.body) == (204, None)
    assert "infra" not in [x["slug"] for x in emu.teams("acme")]
    listed = await http("GET", t, owner)
    assert [x["slug"] for x in listed.body] == ["team-01", "team-02", "team-03"]


# -- SCIM ----------------------------------------------------------------------

S = "/api/0/organizations/acme/scim/v2/"


async def test_scim_users(emu: SentryEmulator, http: Http) -> None:
    scim = emu.add_token("acme", kind="scim")
    made = await http(
        "POST", S + "Users", scim, json_body={"userName": "okta@x.io", "sentryOrgRole": "Admin"}
    )
    assert made.status == 201
    assert made.body["userName"] == "okta@x.io"
    assert made.body["sentryOrgRole"] == "admin"
    dup = await http("POST", S + "Users", scim, json_body={"userName": "okta@x.io"})
    assert dup.status == 409
    assert dup.body == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "detail": "User already exists in the database.",
    }
    owner_role = await http(
        "POST", S + "Users", scim, json_body={"userName": "o@x.io", "sentryOrgRole": "owner"}
    )
    assert owner_role.body["detail"] == "Invalid organization role."
    found = await http("GET", S + "Users", scim, params={"filter": 'userName eq "OKTA@x.io"'})
    assert found.body["totalResults"] == 1
    assert found.body["Resources"][0]["id"] == made.body["id"]
    bad = await http("GET", S + "Users", scim, params={"filter": 'userName co "okta"'})
    assert bad.status == 400
    assert bad.body == {  # flat on the wire (Sentry's test_scim_invalid_filter)
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "scimType": "invalidFilter",
    }
    page = await http("GET", S + "Users", scim, params={"startIndex": "3", "count": "5"})
    assert page.body["startIndex"] == 3
    assert page.body["itemsPerPage"] == 5
    assert page.body["totalResults"] == 22
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    }
    off = await http("PATCH", S + f"Users/{made.body['id']}", scim, json_body=patch)
    assert (off.status, off.body) == (204, None)
    assert emu.member("acme", "okta@x.io") is None
    gone = await http("GET", S + f"Users/{made.body['id']}", scim)
    assert gone.status == 404


async def test_scim_needs_scim_enabled(emu: SentryEmulator, http: Http) -> None:
    emu.add_org("plain")
    token = emu.add_token("plain", kind="scim")
    r = await http("GET", "/api/0/organizations/plain/scim/v2/Users", token)
    assert (r.status, r.body) == (403, PERM)


async def test_scim_groups(emu: SentryEmulator, http: Http) -> None:
    scim = emu.add_token("acme", kind="scim")
    made = await http("POST", S + "Groups", scim, json_body={"displayName": "Data Eng"})
    assert made.status == 201
    assert made.body["displayName"] == "Data Eng"  # the name (test_scim_team_index_create)
    assert made.body["members"] == []
    ids = [m["id"] for m in emu.members("acme")[1:3]]
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": str(i)} for i in ids]}],
    }
    r = await http("PATCH", S + f"Groups/{made.body['id']}", scim, json_body=patch)
    assert r.status == 204
    got = await http("GET", S + f"Groups/{made.body['id']}", scim)
    assert [m["value"] for m in got.body["members"]] == [str(i) for i in ids]
    remove = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": f'members[value eq "{ids[0]}"]'}],
    }
    await http("PATCH", S + f"Groups/{made.body['id']}", scim, json_body=remove)
    team = next(t for t in emu.teams("acme") if t["slug"] == "data-eng")
    assert team["members"] == [ids[1]]
    assert team["idp_provisioned"] is True
    listed = await http("GET", S + "Groups", scim, params={"filter": 'displayName eq "Data Eng"'})
    assert [g["displayName"] for g in listed.body["Resources"]] == ["Data Eng"]
