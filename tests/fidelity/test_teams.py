"""Ported from getsentry/sentry tests/sentry/core/endpoints/test_organization_teams.py and
test_team_details.py."""

from __future__ import annotations

from .conftest import Checks, World

T = "/api/0/organizations/{org}/teams/"
TD = "/api/0/teams/{org}/"
SLUG_ERROR = (
    "Enter a valid slug consisting of lowercase letters, numbers, underscores or hyphens. "
    "It cannot be entirely numeric."
)


async def test_list(world: World, check: Checks) -> None:
    """OrganizationTeamsListTest: test_simple, test_simple_results_no_projects, test_search,
    test_has_external_teams_query, test_query_by_slug, test_query_by_id."""
    foo = world.team("foo")
    bar = world.team("bar")
    world.org.open_membership = False
    _, token = world.member("user@localhost", teams=(foo,))
    r = await world("GET", T, token)
    check.eq([t["id"] for t in r.body], [str(bar.id), str(foo.id)], "ordered by slug")
    check.eq([t["isMember"] for t in r.body], [False, True], "isMember")
    r = await world("GET", T, token, params={"detailed": "0"})
    check.true(all("projects" not in t for t in r.body), "detailed=0: no projects")
    r = await world("GET", T, token, params={"query": "bar"})
    check.eq([t["id"] for t in r.body], [str(bar.id)], "search")
    check.eq((await world("GET", T, token, params={"query": "baz"})).body, [], "search none")
    owner = world.owner_token
    r = await world("GET", T, owner, params={"query": "hasExternalTeams:true"})
    check.eq(r.body, [], "hasExternalTeams:true")
    r = await world("GET", T, owner, params={"query": "hasExternalTeams:false"})
    check.eq(len(r.body), 2, "hasExternalTeams:false (no team has an external team)")
    r = await world("GET", T, owner, params={"query": "slug:foo"})
    check.eq(len(r.body), 1, "slug:foo")
    r = await world("GET", T, owner, params={"query": "slug:foo slug:bar"})
    check.eq(len(r.body), 2, "two slugs")
    r = await world("GET", T, owner, params={"query": "id:undefined"})
    check.eq(r.status, 400, "id:undefined")
    r = await world("GET", T, owner, params={"query": f"id:{foo.id}"})
    check.eq(len(r.body), 1, "id")
    r = await world("GET", T, owner, params={"query": f"id:{foo.id} id:{bar.id}"})
    check.eq(len(r.body), 2, "two ids")


async def test_create(world: World, check: Checks) -> None:
    """OrganizationTeamsCreateTest: test_missing_params, test_valid_params, test_without_slug,
    test_without_name, test_with_idp_provisioned, test_duplicate, test_name_too_long,
    test_invalid_numeric_slug, test_generated_slug_not_entirely_numeric."""
    owner = world.owner_token
    r = await world("POST", T, owner, {})
    check.eq(
        (r.status, r.body), (400, {"non_field_errors": ["Name or slug is required"]}), "missing"
    )
    r = await world("POST", T, owner, {"name": "hello world", "slug": "foobar"})
    check.eq((r.status, r.body["name"], r.body["slug"]), (201, "hello world", "foobar"), "valid")
    team = world.org.team_by_slug("foobar")
    assert team is not None
    check.eq(team.idp_provisioned, False, "not idp provisioned")
    check.true(team.id in world.owner().teams, "creator joined")
    r = await world("POST", T, owner, {"name": "hello world"})
    check.eq(r.body["slug"], "hello-world", "without slug")
    r = await world("POST", T, owner, {"slug": "example-slug"})
    check.eq((r.body["slug"], r.body["name"]), ("example-slug", "example-slug"), "without name")
    r = await world("POST", T, owner, {"name": "idp team", "idp_provisioned": True})
    made = world.org.team_by_slug("idp-team")
    check.eq(made is not None and made.idp_provisioned, True, "idp_provisioned")
    r = await world("POST", T, owner, {"name": "hello world", "slug": "foobar"})
    check.eq(
        (r.status, r.body),
        (
            409,
            {
                "non_field_errors": ["A team with this slug already exists."],
                "detail": "A team with this slug already exists.",
            },
        ),
        "duplicate",
    )
    r = await world("POST", T, owner, {"name": "x" * 65, "slug": "xxxxxxx"})
    check.eq(r.status, 400, "name too long")
    r = await world("POST", T, owner, {"name": "hello word", "slug": "1234"})
    check.eq((r.status, r.body["slug"][0]), (400, SLUG_ERROR), "numeric slug")
    r = await world("POST", T, owner, {"name": "1234"})
    check.eq(r.status, 201, "numeric name")
    check.true(r.body["slug"].startswith("1234-") and not r.body["slug"].isdecimal(), "generated")
    gone, outsider = world.member("nobody@localhost")
    world.emu.state.remove_member(world.org, gone)  # a user who is not in the organization
    check.eq((await world("POST", T, outsider, {"name": "x"})).status, 403, "missing permission")


async def test_details_get_and_update(world: World, check: Checks) -> None:
    """TeamDetailsTest.test_simple; TeamUpdateTest: test_simple, test_invalid_numeric_slug,
    test_member_without_team_role, test_member_with_team_role,
    test_admin_with_team_membership, test_admin_without_team_membership,
    test_manager_without_team_membership, test_cannot_modify_idp_provisioned_teams."""
    owner = world.owner_token
    team = world.team("Team", "team")
    r = await world("GET", TD + "team/", owner)
    check.eq(r.body["id"], str(team.id), "by slug")
    r = await world("GET", TD + f"{team.id}/", owner)
    check.eq(r.body["id"], str(team.id), "by id")
    r = await world("PUT", TD + "team/", owner, {"name": "hello world", "slug": "foobar"})
    check.eq((team.name, team.slug), ("hello world", "foobar"), "update")
    r = await world("PUT", TD + "foobar/", owner, {"slug": "1234"})
    check.eq((r.status, r.body["slug"][0]), (400, SLUG_ERROR), "numeric slug")
    t2 = world.team("t2")
    member, member_token = world.member("foo@example.com", teams=(t2,))
    r = await world("PUT", TD + "t2/", member_token, {"slug": "foobar2"})
    check.eq(r.status, 403, "member without team role")
    member.teams[t2.id] = "admin"
    r = await world("PUT", TD + "t2/", member_token, {"name": "foo", "slug": "bar"})
    check.eq((r.status, t2.slug), (200, "bar"), "member with team admin role")
    t3 = world.team("t3")
    world.org.open_membership = False
    _, admin_token = world.member("admin2@example.com", "admin")
    r = await world("PUT", TD + "t3/", admin_token, {"slug": "foobar3"})
    check.eq((r.status, t3.slug), (403, "t3"), "admin without membership, closed")
    world.org.open_membership = True
    r = await world("PUT", TD + "t3/", admin_token, {"name": "foo", "slug": "bar3"})
    check.eq((r.status, t3.slug), (200, "bar3"), "admin without membership, open")
    world.org.open_membership = False
    t4 = world.team("t4")
    _, admin4 = world.member("admin4@example.com", "admin", teams=(t4,))
    r = await world("PUT", TD + f"{t4.id}/", admin4, {"name": "foo", "slug": "bar4"})
    check.eq((r.status, t4.slug), (200, "bar4"), "admin with membership, by id")
    world.team("t5")
    _, mgr = world.member("mgr@example.com", "manager")
    r = await world("PUT", TD + "t5/", mgr, {"name": "foo", "slug": "bar5"})
    check.eq(r.status, 200, "manager without membership")
    world.team("idp", idp=True)
    r = await world("PUT", TD + "idp/", owner, {"name": "foo", "slug": "bar6"})
    check.eq(r.status, 403, "idp provisioned")


async def test_delete(world: World, check: Checks) -> None:
    """TeamDeleteTest: test_rename_on_delete, test_member, test_member_with_team_role,
    test_admin_without_team_membership, test_manager_without_team_membership,
    test_cannot_delete_idp_provisioned_teams."""
    world.org.open_membership = False
    team = world.team("something-moderately-long")
    _, admin = world.member("admin@example.com", "admin", teams=(team,))
    r = await world("DELETE", TD + "something-moderately-long/", admin)
    check.eq((r.status, team.active), (204, False), "admin deletes own team")
    check.true(team.slug != "something-moderately-long", "slug released")
    t2 = world.team("t2")
    member, member_token = world.member("m@example.com", teams=(t2,))
    check.eq((await world("DELETE", TD + "t2/", member_token)).status, 403, "member")
    member.teams[t2.id] = "admin"
    check.eq((await world("DELETE", TD + "t2/", member_token)).status, 204, "team admin")
    world.team("t3")
    _, other_admin = world.member("a3@example.com", "admin")
    check.eq((await world("DELETE", TD + "t3/", other_admin)).status, 403, "admin, closed")
    world.org.open_membership = True
    check.eq((await world("DELETE", TD + "t3/", other_admin)).status, 204, "admin, open")
    world.team("t4")
    _, mgr = world.member("mgr@example.com", "manager")
    check.eq((await world("DELETE", TD + "t4/", mgr)).status, 204, "manager")
    world.team("idp", idp=True)
    check.eq((await world("DELETE", TD + "idp/", world.owner_token)).status, 403, "idp team")
