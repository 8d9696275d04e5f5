"""Member payloads as real Sentry servers send them, beyond the OpenAPI examples.

Each payload is built from Sentry's serializers, key by key:
``OrganizationMemberSerializer.serialize`` (src/sentry/api/serializers/models/
organization_member/base.py), ``OrganizationMemberWithTeamsSerializer``
(expand/teams.py), ``OrganizationMemberWithRolesSerializer`` (expand/roles.py)
and the role serializers (src/sentry/api/serializers/models/role.py), with the
values a real 23.7.1 server answered (``tests/live/test_payloads.py`` decodes
every kind of payload it sends).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sentry_members_async import DecodeError, Member, MemberId, UserId
from sentry_members_async.api.invites import invite_body
from sentry_members_async.converter import _explainer, converter, decode, decode_list
from sentry_members_async.models import MINIMUM_TEAM_ROLE, effective_team_role

FLAGS = {
    "idp:provisioned": False,
    "idp:role-restricted": False,
    "sso:linked": False,
    "sso:invalid": False,
    "member-limit:restricted": False,
    "partnership:restricted": False,
}


def org_role(role_id: str, minimum: str, *, allowed: bool = True) -> dict[str, Any]:
    """``OrganizationRoleSerializer``: the base role keys plus ``is_global``/``isGlobal``
    and ``minimumTeamRole``."""
    return {
        "id": role_id,
        "name": role_id.title(),
        "desc": f"The {role_id} role.",
        "scopes": ["org:read", "member:read"],
        "allowed": allowed,
        "isAllowed": allowed,
        "isRetired": role_id == "admin",
        "is_global": role_id in ("manager", "owner"),
        "isGlobal": role_id in ("manager", "owner"),
        "minimumTeamRole": minimum,
    }


def team_role(role_id: str, minimum_for: str | None) -> dict[str, Any]:
    """``TeamRoleSerializer``: the base role keys plus ``isMinimumRoleFor``."""
    return {
        "id": role_id,
        "name": f"Team {role_id.title()}",
        "desc": f"The team {role_id} role.",
        "scopes": ["team:read"],
        "allowed": True,
        "isAllowed": True,
        "isRetired": False,
        "isMinimumRoleFor": minimum_for,
    }


ORG_ROLE_LIST = [
    org_role("billing", "contributor"),
    org_role("member", "contributor"),
    org_role("admin", "admin"),
    org_role("manager", "admin"),
    org_role("owner", "admin"),
]
TEAM_ROLE_LIST = [team_role("contributor", "member"), team_role("admin", "admin")]

#: GET members/{id}/ of a pending invite on 23.7.1: ``"user": {}`` (expand/roles.py:
#: ``users_by_id.get(str(item.user_id), {})``); ``name`` is the e-mail (base.py:
#: ``user["name"] if user else email``); ``roles`` is the deprecated alias of
#: ``orgRoleList``.
INVITE_DETAILS_23_7: dict[str, Any] = {
    "id": "57",
    "email": "pending@example.com",
    "name": "pending@example.com",
    "user": {},
    "role": "manager",
    "roleName": "Manager",
    "orgRole": "manager",
    "pending": True,
    "expired": False,
    "flags": FLAGS,
    "dateCreated": "2023-07-20T09:14:03.123456Z",
    "inviteStatus": "approved",
    "inviterName": "admin@example.com",
    "teams": ["backend"],
    "teamRoles": [{"teamSlug": "backend", "role": None}],
    "invite_link": "http://127.0.0.1:9000/accept/57/0123456789abcdef/",
    "isOnlyOwner": False,
    "orgRoleList": ORG_ROLE_LIST,
    "roles": ORG_ROLE_LIST,
    "teamRoleList": TEAM_ROLE_LIST,
}

#: UserSerializer of an accepted member.
USER: dict[str, Any] = {
    "id": "3",
    "name": "Ada Lovelace",
    "username": "ada",
    "email": "ada@example.com",
    "avatarUrl": "https://gravatar.com/avatar/x",
    "isActive": True,
    "hasPasswordAuth": True,
    "isManaged": False,
    "dateJoined": "2023-07-01T08:00:00Z",
    "lastLogin": "2023-07-20T08:00:00Z",
    "has2fa": False,
    "lastActive": "2023-07-20T09:00:00Z",
    "isSuperuser": False,
    "isStaff": False,
    "experiments": {},
    "emails": [{"id": "3", "email": "ada@example.com", "is_verified": True}],
    "avatar": {"avatarType": "letter_avatar", "avatarUuid": None},
}

#: One item of GET members/ on 23.7.1: base.py adds ``groupOrgRoles`` when one
#: of the member's teams carries an org role (``__sorted_org_roles_for_user``:
#: ``{"teamSlug", "role": OrganizationRoleSerializer}``).
LIST_ITEM_23_7: dict[str, Any] = {
    "id": "12",
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "user": USER,
    "role": "member",
    "roleName": "Member",
    "orgRole": "member",
    "pending": False,
    "expired": False,
    "flags": FLAGS,
    "dateCreated": "2023-07-01T08:00:00Z",
    "inviteStatus": "approved",
    "inviterName": None,
    "groupOrgRoles": [{"teamSlug": "ops", "role": org_role("manager", "admin")}],
}

#: The member of the public docs' older examples (and of releases before
#: ``orgRole``): ``role`` and ``roleName`` only, and no ``name``.
DOCS_EXAMPLE: dict[str, Any] = {
    "id": "57377908164",
    "email": "sirpenguin@antarcticarocks.com",
    "user": {
        "id": "2",
        "name": "Sir Penguin",
        "username": "sirpenguin@antarcticarocks.com",
        "email": "sirpenguin@antarcticarocks.com",
        "isActive": True,
        "hasPasswordAuth": True,
        "isManaged": False,
        "dateJoined": "2021-07-06T21:13:58.375239Z",
    },
    "role": "member",
    "roleName": "Member",
    "pending": False,
    "expired": False,
    "flags": {"sso:linked": False, "sso:invalid": False, "member-limit:restricted": False},
    "dateCreated": "2021-07-06T21:13:01.120263Z",
    "inviteStatus": "approved",
    "inviterName": "maininviter@antarcticarocks.com",
}


def both(payload: Any, cls: type = Member) -> Any:
    """Decode with the fast path and with the detailed twin: they must agree."""
    fast: Any = converter.structure(payload, cls)
    assert _explainer.structure(payload, cls) == fast
    return fast


def test_a_pending_invites_details_with_an_empty_user_object_decode() -> None:
    invite = both(INVITE_DETAILS_23_7)
    assert invite.user is None
    assert invite.user_id is None
    assert invite.pending is True
    assert (invite.id, invite.org_role, invite.role) == (MemberId("57"), "manager", "manager")
    assert invite.teams == ("backend",)
    assert invite.team_role_on("backend") == "admin"  # stored null: a manager's minimum
    assert invite.invite_link is not None
    assert set(invite.extra) == {"roles"}
    again = both(converter.unstructure(invite))
    assert again == invite


def test_a_non_empty_user_without_an_id_is_still_a_decode_error() -> None:
    payload = copy.deepcopy(INVITE_DETAILS_23_7)
    payload["user"] = {"name": "No Id", "email": "x@example.com"}
    with pytest.raises(DecodeError) as info:
        decode(payload, Member, endpoint="GET /api/0/organizations/acme/members/57/")
    assert info.value.path == "$.user.id"
    not_objects: list[Any] = [[], "", 0]
    for not_an_object in not_objects:
        payload["user"] = not_an_object
        with pytest.raises(DecodeError):
            decode(payload, Member)


@pytest.mark.parametrize(
    "invite",
    [
        {"pending": True},
        {"pending": "true"},  # Sentry types some booleans as strings
        {"pending": False, "inviteStatus": "requested_to_be_invited"},
        {"inviteStatus": "requested_to_join"},
    ],
)
def test_an_empty_user_is_none_for_an_invite_only(invite: dict[str, Any]) -> None:
    payload = copy.deepcopy(INVITE_DETAILS_23_7)
    del payload["pending"], payload["inviteStatus"]
    decoded = both(payload | invite)
    assert (decoded.user, decoded.user_id) == (None, None)


@pytest.mark.parametrize(
    "accepted",
    [
        {"pending": False, "inviteStatus": "approved"},
        {"pending": False},
        {},  # neither: an accepted member (pending defaults to false)
        {"inviteStatus": "approved"},
    ],
)
def test_an_empty_user_of_an_accepted_member_is_a_decode_error(accepted: dict[str, Any]) -> None:
    # Sentry sends "user": {} for a pending invite only; an accepted member without
    # its user must not decode as an invite (user None) and be acted on as one.
    payload = copy.deepcopy(INVITE_DETAILS_23_7)
    del payload["pending"], payload["inviteStatus"]
    payload |= accepted
    with pytest.raises(DecodeError) as info:
        decode(payload, Member, endpoint="GET /api/0/organizations/acme/members/57/")
    assert info.value.path == "$.user.id"
    with pytest.raises(DecodeError) as listed:
        decode_list([LIST_ITEM_23_7, payload], Member)
    assert listed.value.path == "$[1].user.id"


def test_a_23_7_list_item_with_group_org_roles_decodes_and_keeps_them() -> None:
    members = decode_list([LIST_ITEM_23_7, INVITE_DETAILS_23_7 | {"user": None}], Member)
    ada = members[0]
    assert ada.user is not None
    assert ada.user.id == UserId("3")
    assert ada.org_role == "member"
    assert ada.extra["groupOrgRoles"] == LIST_ITEM_23_7["groupOrgRoles"]
    assert members[1].user is None
    assert both(LIST_ITEM_23_7) == ada
    newer = LIST_ITEM_23_7 | {"orgRolesFromTeams": LIST_ITEM_23_7["groupOrgRoles"]}
    del newer["groupOrgRoles"]
    assert "orgRolesFromTeams" in both(newer).extra


def test_a_docs_example_with_role_and_no_org_role_nor_name_decodes() -> None:
    member = both(DOCS_EXAMPLE)
    assert member.org_role == "member"  # from the deprecated "role"
    assert member.role == "member"
    assert member.name == ""  # documented: no name is the empty string
    assert member.user is not None
    assert member.user.name == "Sir Penguin"
    assert member.flags.sso_linked is False
    manager = both(DOCS_EXAMPLE | {"role": "manager"})
    assert manager.org_role == "manager"
    # Both keys: orgRole is the one that counts.
    assert both(DOCS_EXAMPLE | {"orgRole": "owner"}).org_role == "owner"
    again = both(converter.unstructure(member))
    assert (again, again.org_role) == (member, "member")


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(DOCS_EXAMPLE | {"role": None}, id="role-null"),
        pytest.param({k: v for k, v in DOCS_EXAMPLE.items() if k != "role"}, id="neither-key"),
    ],
)
def test_a_member_without_org_role_nor_role_is_a_decode_error(payload: dict[str, Any]) -> None:
    with pytest.raises(DecodeError) as info:
        decode(payload, Member, endpoint="GET /api/0/organizations/acme/members/")
    assert "required field 'orgRole'" in str(info.value)
    with pytest.raises(DecodeError) as in_a_list:
        decode_list([LIST_ITEM_23_7, payload], Member)
    assert in_a_list.value.path == "$[1]"
    with pytest.raises(DecodeError):
        converter.structure(payload, Member)


@pytest.mark.parametrize("missing", ["id", "email"])
def test_id_and_email_are_still_required(missing: str) -> None:
    payload = {k: v for k, v in LIST_ITEM_23_7.items() if k != missing}
    with pytest.raises(DecodeError):
        decode(payload, Member)


def test_the_team_role_held_is_the_stored_one_raised_to_the_org_roles_minimum() -> None:
    assert effective_team_role(None, "admin") == "admin"
    assert effective_team_role("contributor", "admin") == "admin"
    assert effective_team_role("admin", "contributor") == "admin"
    assert effective_team_role(None, "contributor") == "contributor"
    assert effective_team_role("superhero", "admin") == "superhero"  # unknown: as it is
    assert MINIMUM_TEAM_ROLE["manager"] == MINIMUM_TEAM_ROLE["owner"] == "admin"
    assert MINIMUM_TEAM_ROLE["member"] == MINIMUM_TEAM_ROLE["billing"] == "contributor"
    member = both(INVITE_DETAILS_23_7 | {"orgRole": "member", "role": "member"})
    assert member.minimum_team_role == "contributor"
    assert member.team_role_on("backend") == "contributor"
    assert member.team_role_on("frontend") is None  # not on it
    # The catalogue of the payload wins over the built-in table.
    odd = INVITE_DETAILS_23_7 | {"orgRole": "member", "orgRoleList": [org_role("member", "admin")]}
    assert both(odd).team_role_on("backend") == "admin"
    # Without a catalogue (list payloads) the table decides.
    assert both(LIST_ITEM_23_7 | {"orgRole": "owner"}).minimum_team_role == "admin"


def test_an_invite_body_carries_the_org_role_in_role_and_org_role() -> None:
    # POST members/ on 23.7.1 creates the member with "role" (index.py); newer reads "orgRole".
    assert invite_body("a@example.com", "manager") == {
        "email": "a@example.com",
        "role": "manager",
        "orgRole": "manager",
    }
    assert invite_body("a@example.com")["role"] == "member"
