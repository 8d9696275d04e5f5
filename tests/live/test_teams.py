"""``acme.teams``: list, get, create, rename, delete, members, against the real server."""

from __future__ import annotations

from sentry_members_async import ConflictError, NotFoundError, Org

from .conftest import Checks
from .realserver import RealSentry


async def test_list_get_members(acme: Org, real: RealSentry, check: Checks) -> None:
    teams = await acme.teams.list().collect()
    check.eq(len(teams), real.active_team_count(), "list: as many teams as the database's active")
    check.eq([t.slug for t in teams], sorted(t.slug for t in teams), "list: slug order")
    brief = await acme.teams.list(detailed=False).collect()
    check.eq([t.slug for t in brief], [t.slug for t in teams], "list(detailed=False): same teams")

    found = await acme.teams.list(query="backe").collect()
    check.eq([t.slug for t in found], ["backend"], "list(query=): the teams that match")

    backend = await acme.teams.get("backend")
    row = real.team("backend") or {}
    check.eq((backend.id, backend.slug, backend.name), (row.get("id"), "backend", "Backend"),
             "get(backend): as stored")  # fmt: skip
    members = await acme.teams.members("backend").collect()
    check.eq({m.id for m in members}, real.team_member_ids("backend"), "members(backend)")
    paged = await acme.teams.members("backend", page_size=7).collect()
    check.eq([m.id for m in paged], [m.id for m in members], "members(page_size=7): same, paged")
    await check.raises(NotFoundError, acme.teams.get("no-such-team"), "get(unknown): 404")


async def test_create_rename_delete(acme: Org, real: RealSentry, check: Checks, uid: str) -> None:
    slug = f"t-{uid}"
    team = await acme.teams.create(slug, name=f"Team {uid}")
    row = real.team(slug)
    check.eq(row and (row["id"], row["name"]), (team.id, f"Team {uid}"), "create: stored")
    await check.raises(ConflictError, acme.teams.create(slug), "create(taken slug): 409")
    check.eq(real.active_team_count(), len(await acme.teams.list().collect()), "no second team")

    named = await acme.teams.create(name=f"Only A Name {uid}")
    check.eq(named.slug, f"only-a-name-{uid}", "create(name=): Sentry slugifies the name")
    check.true(real.team(named.slug) is not None, "create(name=): stored")

    renamed = await acme.teams.rename(slug, slug=f"r-{uid}", name=f"Renamed {uid}")
    row = real.team(f"r-{uid}")
    check.eq(row and (row["id"], row["name"]), (team.id, f"Renamed {uid}"), "rename: stored")
    check.eq((renamed.slug, real.team(slug)), (f"r-{uid}", None), "rename: the old slug is free")

    await acme.teams.delete(f"r-{uid}")
    check.eq(real.team_status(team.id), 1, "delete: pending deletion on the server")
    check.eq(real.team(f"r-{uid}"), None, "delete: no active team by that slug")
    await check.raises(NotFoundError, acme.teams.get(f"r-{uid}"), "get(deleted): 404")
    await check.raises(NotFoundError, acme.teams.delete(f"r-{uid}"),
                       "delete(a team deleted before the call): 404")  # fmt: skip
    await acme.teams.delete(named.slug)
    check.eq(real.team_status(named.id), 1, "delete(named): pending deletion")
