"""Ported from getsentry/sentry tests/sentry/core/endpoints/scim/: test_scim_user_index.py,
test_scim_user_details.py, test_scim_team_index.py, test_scim_team_details.py,
test_scim_schema.py."""

from __future__ import annotations

from typing import Any

from .conftest import Checks, World

S = "/api/0/organizations/{org}/scim/v2/"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SLUG_ERROR = (
    "Enter a valid slug consisting of lowercase letters, numbers, underscores or hyphens. "
    "It cannot be entirely numeric."
)


def _post_data(**extra: Any) -> dict[str, Any]:
    return {
        "schemas": [USER],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
        "active": True,
        **extra,
    }


def _user(member_id: int, email: str, role: str = "member") -> dict[str, Any]:
    return {
        "schemas": [USER],
        "id": str(member_id),
        "userName": email,
        "emails": [{"primary": True, "value": email, "type": "work"}],
        "name": {"familyName": "N/A", "givenName": "N/A"},
        "active": True,
        "meta": {"resourceType": "User"},
        "sentryOrgRole": role,
    }


async def test_user_index(world: World, check: Checks) -> None:
    """SCIMMemberIndexTests: test_get_users_index_empty, test_post_users_successful,
    test_post_users_already_exists, test_post_users_with_role_valid,
    test_post_users_with_role_invalid, test_get_members_with_filter__invited,
    test_get_members_no_filter__invited."""
    scim = world.emu.add_token("baz", kind="scim")
    r = await world(
        "GET",
        S + "Users",
        scim,
        params={"startIndex": "1", "count": "100", "filter": 'userName eq "test.user@okta.local"'},
    )
    check.eq(
        r.body,
        {"schemas": [LIST], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []},
        "empty",
    )
    r = await world("POST", S + "Users", scim, _post_data())
    made = world.fresh("test.user@okta.local")
    assert made is not None
    check.eq((r.status, r.body), (201, _user(made.id, "test.user@okta.local")), "post")
    check.eq(
        (made.flags["idp:provisioned"], made.flags["idp:role-restricted"]), (True, False), "flags"
    )
    world.emu.state.remove_member(world.org, made)
    r = await world("POST", S + "Users", scim, _post_data(sentryOrgRole="mAnaGer"))
    made = world.fresh("test.user@okta.local")
    assert made is not None
    check.eq(r.body, _user(made.id, "test.user@okta.local", "manager"), "role, case-insensitive")
    check.eq(made.flags["idp:role-restricted"], True, "role restricted")
    world.emu.state.remove_member(world.org, made)
    r = await world("POST", S + "Users", scim, _post_data(sentryOrgRole=""))
    made = world.fresh("test.user@okta.local")
    assert made is not None
    check.eq(
        (r.body["sentryOrgRole"], made.flags["idp:role-restricted"]),
        ("member", False),
        "empty role",
    )
    world.emu.state.remove_member(world.org, made)
    for role in ("nonexistant", "owner"):
        r = await world("POST", S + "Users", scim, _post_data(sentryOrgRole=role))
        check.eq(
            (r.status, r.body),
            (400, {"schemas": [ERROR], "detail": "Invalid organization role."}),
            role,
        )
    world.member("test.user@okta.local")
    r = await world("POST", S + "Users", scim, _post_data())
    check.eq(
        (r.status, r.body),
        (409, {"schemas": [ERROR], "detail": "User already exists in the database."}),
        "exists",
    )


async def test_user_index_listing(world: World, check: Checks) -> None:
    """SCIMMemberIndexTests: test_get_members_with_filter__invited,
    test_get_members_no_filter__invited (invites first: ordered by the member e-mail)."""
    scim = world.emu.add_token("baz", kind="scim")
    invited = world.invite("test.user@okta.local")
    r = await world(
        "GET", S + "Users", scim, params={"filter": 'userName eq "test.user@okta.local"'}
    )
    check.eq(r.body["Resources"], [_user(invited.id, "test.user@okta.local")], "filter invited")
    r = await world("GET", S + "Users", scim, params={"startIndex": "1", "count": "100"})
    owner = world.owner()
    check.eq(
        r.body["Resources"],
        [_user(invited.id, "test.user@okta.local"), _user(owner.id, "admin@localhost", "owner")],
        "invites before accepted members",
    )


async def test_post_over_invite_request(world: World, check: Checks) -> None:
    """SCIMMemberIndexTests.test_post_users_successful_existing_invite: an invite request
    for the address becomes the provisioned invite (201), not a conflict."""
    scim = world.emu.add_token("baz", kind="scim")
    row = world.request_row("test.user@okta.local")
    r = await world("POST", S + "Users", scim, _post_data())
    check.eq(r.status, 201, "201 over a request")
    check.eq(r.body.get("id"), str(row.id), "the same member")
    check.eq(row.invite_status, "approved", "approved")


async def test_user_role_update(world: World, check: Checks) -> None:
    """SCIMMemberRoleUpdateTests: test_owner, test_invalid_role, test_set_to_blank,
    test_set_to_new_role, test_set_to_same_custom_role."""
    scim = world.emu.add_token("baz", kind="scim")

    async def put(member_id: int, role: str) -> Any:
        return await world("PUT", S + f"Users/{member_id}", scim, _post_data(sentryOrgRole=role))

    owner, _ = world.member("owner2@localhost", "owner")
    r = await put(owner.id, "member")
    check.eq((r.status, owner.role, owner.flags["idp:provisioned"]), (200, "owner", True), "owner")
    plain, _ = world.member("plain@localhost")
    custom, _ = world.member("custom@localhost", "manager")
    for role in ("nonexistant", "owner"):
        check.eq((await put(plain.id, role)).status, 400, f"invalid {role}")
    r = await put(custom.id, "")
    check.eq(
        (r.body["sentryOrgRole"], custom.flags["idp:role-restricted"]),
        ("manager", False),
        "blank, unrestricted",
    )
    restricted, _ = world.member("restricted@localhost", "manager")
    restricted.flags["idp:role-restricted"] = True
    r = await put(restricted.id, "")
    check.eq(
        (r.body["sentryOrgRole"], restricted.flags["idp:role-restricted"]),
        ("member", False),
        "blank, restricted",
    )
    r = await put(plain.id, "admin")
    check.eq(
        (r.body["sentryOrgRole"], plain.flags["idp:role-restricted"]), ("admin", True), "new role"
    )
    r = await put(custom.id, "manager")
    check.eq(
        (r.body["sentryOrgRole"], custom.flags["idp:role-restricted"]),
        ("manager", True),
        "same role",
    )


async def test_group_index(world: World, check: Checks) -> None:
    """SCIMIndexListTest: test_group_index_empty, test_scim_team_index_populated,
    test_team_filter_with_space, test_team_filter_case_insensitive, test_scim_invalid_filter,
    test_scim_invalid_startIndex; SCIMIndexCreateTest: test_scim_team_index_create,
    test_scim_team_no_duplicate_names, test_scim_team_invalid_numeric_slug."""
    scim = world.emu.add_token("baz", kind="scim")
    r = await world("GET", S + "Groups", scim, params={"startIndex": "1", "count": "100"})
    check.eq(
        r.body,
        {"schemas": [LIST], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []},
        "empty",
    )
    team = world.team("Name WithASpace")
    group = {
        "schemas": [GROUP],
        "id": str(team.id),
        "displayName": "Name WithASpace",
        "members": [],
        "meta": {"resourceType": "Group"},
    }
    r = await world("GET", S + "Groups", scim)
    check.eq(r.body["Resources"], [group], "populated: displayName is the name")
    for name in ("Name WithASpace", "NAME WITHASPACE"):
        r = await world("GET", S + "Groups", scim, params={"filter": f'displayName eq "{name}"'})
        check.eq(r.body["Resources"], [group], f"filter {name}")
    r = await world(
        "GET",
        S + "Groups",
        scim,
        params={"startIndex": "1", "count": "1", "filter": "bad filter eq 23"},
    )
    check.eq(
        (r.status, r.body),
        (400, {"schemas": [ERROR], "scimType": "invalidFilter"}),
        "invalid filter",
    )
    check.eq(
        (await world("GET", S + "Groups", scim, params={"startIndex": "0"})).status,
        400,
        "startIndex 0",
    )
    r = await world(
        "POST",
        S + "Groups",
        scim,
        {"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []},
    )
    check.eq(
        (r.status, r.body),
        (
            201,
            {
                "schemas": [GROUP],
                "id": r.body["id"],
                "displayName": "Test SCIMv2",
                "members": [],
                "meta": {"resourceType": "Group"},
            },
        ),
        "create",
    )
    made = world.org.team_by_slug("test-scimv2")
    check.eq(
        made is not None and (made.name, made.idp_provisioned), ("Test SCIMv2", True), "stored"
    )
    r = await world(
        "POST",
        S + "Groups",
        scim,
        {"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []},
    )
    check.eq(
        (r.status, r.body["detail"]), (409, "A team with this slug already exists."), "duplicate"
    )
    r = await world(
        "POST", S + "Groups", scim, {"schemas": [GROUP], "displayName": "1234", "members": []}
    )
    check.eq(
        (r.status, r.body["slug"][0]),
        (
            400,
            SLUG_ERROR,
        ),
        "numeric",
    )


async def test_group_details(world: World, check: Checks) -> None:
    """SCIMDetailGetTest: test_team_details_404, test_scim_team_details_basic,
    test_scim_team_details_excluded_attributes, test_team_doesnt_exist,
    test_team_details_put_permission_denied; SCIMDetailPatchTest:
    test_scim_team_details_invalid_patch_op,
    test_scim_team_details_patch_rename_team, test_scim_team_details_patch_rename_team_invalid_slug,
    test_scim_team_details_patch_add, test_scim_team_details_patch_remove,
    test_team_details_replace_members_list, test_team_member_doesnt_exist_add_to_team,
    test_team_details_patch_too_many_ops, test_team_details_invalid_filter_patch_route,
    test_rename_team_azure_request, test_remove_member_azure;
    SCIMDetailDeleteTest.test_delete_team."""
    scim = world.emu.add_token("baz", kind="scim")
    r = await world("GET", S + "Groups/2", scim)
    check.eq((r.status, r.body), (404, {"detail": "Group not found.", "schemas": [ERROR]}), "404")
    team = world.team("test-scimv2", idp=True)
    r = await world("GET", S + f"Groups/{team.id}", scim)
    check.eq(
        r.body,
        {
            "schemas": [GROUP],
            "id": str(team.id),
            "displayName": "test-scimv2",
            "members": [],
            "meta": {"resourceType": "Group"},
        },
        "basic",
    )
    r = await world("GET", S + f"Groups/{team.id}", scim, params={"excludedAttributes": "members"})
    check.true("members" not in r.body, "excluded members")
    for method in ("GET", "PATCH", "DELETE"):
        check.eq((await world(method, S + "Groups/32340", scim)).status, 404, f"{method} missing")
    check.eq((await world("PUT", S + f"Groups/{team.id}", scim)).status, 403, "PUT denied")
    one, _ = world.member("one@localhost")
    two, _ = world.member("two@localhost")
    on_team, _ = world.member("onteam@localhost", teams=(team,))
    path = S + f"Groups/{team.id}"

    async def patch(*ops: dict[str, Any]) -> Any:
        return await world("PATCH", path, scim, {"schemas": [PATCH], "Operations": list(ops)})

    r = await patch({"op": "invalid", "value": {"id": str(team.id), "displayName": "newName"}})
    check.eq(r.status, 400, "invalid op")
    check.true("invalid" in str(r.body.get("detail")), "invalid op detail")
    r = await patch({"op": "replace", "value": {"id": str(team.id), "displayName": "newName"}})
    check.eq((r.status, team.slug, team.name), (204, "newname", "newName"), "rename")
    r = await patch({"op": "replace", "value": {"id": str(team.id), "displayName": "1234"}})
    check.eq(
        (r.status, (r.body or {}).get("slug")),
        (
            400,
            [SLUG_ERROR],
        ),
        "rename numeric",
    )
    r = await patch(
        {"op": "add", "path": "members", "value": [{"value": one.id, "display": "one@localhost"}]}
    )
    check.eq((r.status, team.id in one.teams), (204, True), "add")
    r = await patch({"op": "remove", "path": f'members[value eq "{one.id}"]'})
    check.eq((r.status, team.id in one.teams), (204, False), "remove")
    r = await patch(
        {"op": "replace", "path": "members", "value": [{"value": one.id}, {"value": two.id}]}
    )
    check.eq(
        (r.status, team.id in on_team.teams, team.id in one.teams, team.id in two.teams),
        (204, False, True, True),
        "replace members",
    )
    r = await patch(
        {
            "op": "add",
            "path": "members",
            "value": [{"value": "100232", "display": "nope@doesnotexist.io"}],
        }
    )
    check.eq(
        (r.status, r.body),
        (404, {"schemas": [ERROR], "detail": "User not found."}),
        "unknown member",
    )
    r = await patch(*([{"op": "replace"}] * 101))
    check.eq(
        (r.status, r.body),
        (400, {"schemas": [ERROR], "detail": "Too many patch ops sent, limit is 100."}),
        "101 ops",
    )
    r = await patch({"op": "remove", "path": 'members[value badop "1"]'})
    check.eq(
        (r.status, r.body), (400, {"schemas": [ERROR], "scimType": "invalidFilter"}), "bad filter"
    )
    r = await patch({"op": "Replace", "path": "displayName", "value": "theNewName"})
    check.eq((r.status, team.slug), (204, "thenewname"), "azure rename")
    r = await patch({"op": "Remove", "path": "members", "value": [{"value": str(two.id)}]})
    check.eq((r.status, team.id in two.teams), (204, False), "azure remove")
    r = await world("DELETE", path, scim)
    check.eq((r.status, team.active), (204, False), "delete")


async def test_schemas(world: World, check: Checks) -> None:
    """SCIMSchemaEndpointTest.test_schema_200s (and schemas.py: the User and Group schemas)."""
    scim = world.emu.add_token("baz", kind="scim")
    r = await world("GET", S + "Schemas", scim)
    check.eq(r.status, 200, "200")
    check.eq([s["id"] for s in (r.body or {}).get("Resources", [])], [USER, GROUP], "ids")


async def test_user_details(world: World, check: Checks) -> None:
    """SCIMMemberDetailsTests: test_user_details_get, test_user_details_set_inactive,
    test_user_details_set_inactive_dict, test_user_details_set_inactive_with_bool_string,
    test_user_details_set_inactive_with_dict_bool_string,
    test_user_details_cannot_set_partnership_member_inactive, test_invalid_patch_op,
    test_invalid_patch_op_value, test_user_details_get_404, test_user_details_patch_404,
    test_delete_route, test_cannot_delete_partnership_member,
    test_patch_inactive_alternate_schema, test_patch_bad_schema,
    test_member_detail_patch_too_many_ops, test_overflow_cases, test_cant_delete_only_owner_route,
    test_cant_delete_only_owner_route_patch; SCIMMemberRoleUpdateTests
    .test_cannot_set_partnership_member_role."""
    scim = world.emu.add_token("baz", kind="scim")
    invited = world.invite("test.user@okta.local")
    r = await world("GET", S + f"Users/{invited.id}", scim)
    check.eq(r.body, _user(invited.id, "test.user@okta.local"), "get")

    async def patch(member_id: object, ops: list[dict[str, Any]], schemas: bool = True) -> Any:
        body: dict[str, Any] = {"Operations": ops}
        if schemas:
            body["schemas"] = [PATCH]
        return await world("PATCH", S + f"Users/{member_id}", scim, body)

    deactivations: list[dict[str, Any]] = [
        {"op": "Replace", "path": "active", "value": False},
        {"op": "Replace", "value": {"active": False}},
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Replace", "value": {"id": "xxxx", "active": "False"}},
    ]
    for i, op in enumerate(deactivations):
        member, _ = world.member(f"inactive{i}@okta.local")
        r = await patch(member.id, [op])
        check.eq((r.status, member.id in world.org.members), (204, False), f"set inactive {i}")
    partner, _ = world.member("partner@okta.local")
    partner.flags["partnership:restricted"] = True
    r = await patch(partner.id, [{"op": "Replace", "path": "active", "value": False}])
    check.eq(r.status, 403, "partnership inactive")
    r = await world("PUT", S + f"Users/{partner.id}", scim, _post_data(sentryOrgRole="member"))
    check.eq(r.status, 403, "partnership role")
    check.eq(
        (await world("DELETE", S + f"Users/{partner.id}", scim)).status, 403, "partnership delete"
    )
    other, _ = world.member("other@okta.local")
    r = await patch(other.id, [{"op": "invalid", "value": {"active": False}}])
    check.eq(r.status, 400, "invalid op")
    r = await patch(other.id, [{"op": "REPLACE", "value": {"active": "invalid"}}])
    check.eq(r.status, 400, "invalid op value")
    check.eq((await world("GET", S + "Users/99999999", scim)).status, 404, "get 404")
    r = await patch(99999999, [{"op": "replace", "value": {"active": False}}])
    check.eq(r.status, 404, "patch 404")
    r = await patch(other.id, [{"op": "replace", "path": "blahblahbbalh", "value": False}], False)
    check.eq(
        (r.status, r.body),
        (400, {"schemas": [ERROR], "detail": "Invalid Patch Operation."}),
        "bad path",
    )
    r = await patch(other.id, [{"op": "replace", "value": False}], False)
    check.eq(
        (r.status, r.body),
        (400, {"schemas": [ERROR], "detail": "Invalid Patch Operation."}),
        "bad value",
    )
    r = await patch(other.id, [{"op": "replace", "path": "active", "value": False}] * 101)
    check.eq(
        (r.status, r.body),
        (
            400,
            {
                "schemas": [ERROR],
                "detail": '{"Operations":["Ensure this field has no more than 100 elements."]}',
            },
        ),
        "101 ops",
    )
    big = "010101001010101011001010101011"
    check.eq((await world("GET", S + f"Users/{big}", scim)).status, 404, "overflow get")
    check.eq((await world("PATCH", S + f"Users/{big}", scim, {})).status, 404, "overflow patch")
    check.eq((await world("DELETE", S + f"Users/{big}", scim)).status, 404, "overflow delete")
    alt, _ = world.member("alt@okta.local")
    r = await patch(alt.id, [{"op": "replace", "path": "active", "value": False}], False)
    check.eq((r.status, alt.id in world.org.members), (204, False), "alternate schema")
    gone, _ = world.member("gone@okta.local")
    r = await world("DELETE", S + f"Users/{gone.id}", scim)
    check.eq((r.status, gone.id in world.org.members), (204, False), "delete")
    owner = world.owner()
    check.eq(
        (await world("DELETE", S + f"Users/{owner.id}", scim)).status, 403, "only owner delete"
    )
    r = await patch(owner.id, [{"op": "replace", "value": {"active": False}}])
    check.eq(r.status, 403, "only owner patch")
