"""``acme.scim``: Users, Groups and Schemas with the SCIM token, against the real server."""

from __future__ import annotations

import pytest

from sentry_members_async import ConflictError, MemberId, NotFoundError, Org
from sentry_members_async.api.scim import PatchOperation

from .conftest import Checks
from .realserver import RealSentry


@pytest.fixture(scope="module")
def accepted(real: RealSentry) -> list[MemberId]:
    import uuid

    tag = uuid.uuid4().hex[:8]
    people = real.create_members([f"grp{i}-{tag}@example.com" for i in range(3)])
    return [MemberId(i) for i in people.values()]


async def test_users_list_and_get(acme: Org, real: RealSentry, check: Checks) -> None:
    users = await acme.scim.users.list().collect()
    check.eq(len(users), real.scim_user_count(), "Users: every active member and invite")
    check.eq(len({u.id for u in users}), len(users), "Users: each once across pages")
    paged = await acme.scim.users.list(page_size=40).collect()
    check.eq([u.id for u in paged], [u.id for u in users], "Users(count=40): same, paged")

    found = await acme.scim.users.list(user_name="member007@example.com").collect()
    row = real.member_row("member007@example.com")
    check.eq([u.id for u in found], [row["id"] if row else None], "Users(filter userName)")
    none = await acme.scim.users.list(user_name="nobody-scim@example.com").collect()
    check.eq(none, [], "Users(filter): nobody")

    user = await acme.scim.users.get(MemberId(row["id"] if row else "0"))
    check.eq((user.user_name, user.active, user.sentry_org_role),
             ("member007@example.com", True, "member"), "Users/{id}")  # fmt: skip
    await check.raises(NotFoundError, acme.scim.users.get(MemberId("999999")), "Users/{bad}: 404")


async def test_users_lifecycle(acme: Org, real: RealSentry, check: Checks, uid: str) -> None:
    email = f"scim-{uid}@example.com"
    user = await acme.scim.users.create(email, role="manager")
    check.eq(real.role_of(email), "manager", "POST Users(role=manager): a manager")
    check.true("idp:provisioned" in real.member_flags(email), "POST Users: idp:provisioned")
    check.true("idp:role-restricted" in real.member_flags(email), "a role given: role-restricted")
    await check.raises(ConflictError, acme.scim.users.create(email), "POST Users again: 409")
    check.eq(real.rows_with_email(email), 1, "409: still one row")

    await acme.scim.users.set_role(user.id, "member")
    check.eq(real.role_of(email), "member", "PUT Users(sentryOrgRole=member)")
    await acme.scim.users.set_role(user.id, None)
    check.true("idp:role-restricted" not in real.member_flags(email), "PUT no role: released")

    await acme.scim.users.deactivate(user.id)
    check.eq(real.member_row(email), None, "PATCH active=false: the member is removed")
    await check.raises(NotFoundError, acme.scim.users.deactivate(user.id),
                       "deactivate(a member removed before the call): 404")  # fmt: skip

    other = f"scim-del-{uid}@example.com"
    created = await acme.scim.users.create(other)
    check.eq(real.role_of(other), "member", "POST Users without a role: member")
    await acme.scim.users.delete(created.id)
    check.eq(real.member_row(other), None, "DELETE Users/{id}: removed")
    await check.raises(NotFoundError, acme.scim.users.delete(created.id),
                       "DELETE Users(a member removed before the call): 404")  # fmt: skip


async def test_groups(
    acme: Org, real: RealSentry, check: Checks, uid: str, accepted: list[MemberId]
) -> None:
    groups = await acme.scim.groups.list().collect()
    check.eq(len(groups), real.active_team_count(), "Groups: every active team")
    backend = next((g for g in groups if g.display_name == "Backend"), None)
    check.eq(backend and {m.value for m in backend.members or ()}, real.team_member_ids("backend"),
             "Groups: backend's members as stored")  # fmt: skip
    bare = await acme.scim.groups.list(exclude_members=True).collect()
    check.eq({len(g.members or ()) for g in bare}, {0}, "Groups(excludedAttributes=members)")
    named = await acme.scim.groups.list(display_name="Frontend").collect()
    row = real.team("frontend")
    check.eq([g.id for g in named], [row["id"] if row else None], "Groups(filter displayName)")

    group = await acme.scim.groups.create(f"Group {uid}")
    row = real.team(f"group-{uid}")
    check.eq(row and (row["id"], row["name"]), (group.id, f"Group {uid}"), "POST Groups: a team")
    got = await acme.scim.groups.get(group.id)
    check.eq((got.display_name, got.members or ()), (f"Group {uid}", ()), "Groups/{id}")

    await acme.scim.groups.add_members(group.id, accepted)
    check.eq(real.team_member_ids(f"group-{uid}"), set(accepted), "PATCH add members: stored")
    await acme.scim.groups.remove_members(group.id, accepted[:1])
    check.eq(real.team_member_ids(f"group-{uid}"), set(accepted[1:]), "PATCH remove: stored")
    await acme.scim.groups.patch(
        group.id,
        [
            PatchOperation("add", "members", [{"value": accepted[0]}]),
            PatchOperation("remove", f'members[value eq "{accepted[1]}"]'),
        ],
    )
    check.eq(real.team_member_ids(f"group-{uid}"), {accepted[0], accepted[2]},
             "PATCH two operations: both applied")  # fmt: skip

    await acme.scim.groups.rename(group.id, f"Renamed {uid}")
    row = real.team(f"renamed-{uid}")
    check.eq(row and (row["id"], row["name"]), (group.id, f"Renamed {uid}"),
             "PATCH displayName: the team renamed (slug too)")  # fmt: skip
    again = await acme.scim.groups.get(group.id)
    check.eq(again.display_name, f"Renamed {uid}", "Groups/{id} after the rename")

    await acme.scim.groups.delete(group.id)
    check.eq(real.team_status(group.id), 1, "DELETE Groups/{id}: pending deletion")
    await check.raises(NotFoundError, acme.scim.groups.get(group.id), "Groups/{deleted}: 404")


async def test_schemas(acme: Org, check: Checks) -> None:
    schemas = await acme.scim.schemas()
    check.eq(sorted(s.name for s in schemas), ["Group", "User"], "Schemas: User and Group")
    user = next(s for s in schemas if s.name == "User")
    check.true("userName" in user.attribute_names, "the User schema has userName")
