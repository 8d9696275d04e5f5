"""Every kind of payload the real server sends decodes: no ``DecodeError`` anywhere.

Walks the org as it stands (invites from the seed and from SCIM, accepted
members, managers, the owner, teams with and without members) through each
read endpoint the SDK has.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from sentry_members_async import MemberId, Org

from .conftest import Checks
from .realserver import RealSentry


async def _all(check: Checks, what: str, calls: list[Awaitable[Any]]) -> int:
    """Awaits every call in turn; one check that none raised (the first error named)."""
    errors: list[str] = []
    for call in calls:
        try:
            await call
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    check.eq(errors[:1], [], f"{what}: {len(calls)} decoded, {len(errors)} failed")
    return len(calls)


async def test_every_payload_decodes(acme: Org, real: RealSentry, check: Checks, uid: str) -> None:
    provisioned = await acme.scim.users.create(f"payload-{uid}@example.com", role="manager")
    members = await acme.members.list().collect()
    check.eq(len(members), real.member_count_now(), "members list: every page decoded")
    kinds = {
        "pending invites": [m for m in members if m.pending],
        "owners and managers": [m for m in members if m.org_role in ("owner", "manager")],
        "members on a team": [m for m in members if m.email.startswith("member00")],
        "members on no team": [m for m in members if m.email.startswith("member15")],
    }
    for what, some in kinds.items():
        await _all(check, f"member details, {what}",
                   [acme.members.get(m.id) for m in some])  # fmt: skip
    await _all(check, "member details, SCIM-provisioned",
               [acme.members.get(provisioned.id)])  # fmt: skip

    teams = await acme.teams.list().collect()
    await acme.teams.list(detailed=False).collect()
    await _all(check, "team details", [acme.teams.get(t.slug) for t in teams])
    await _all(check, "team members",
               [acme.teams.members(t.slug).collect() for t in teams])  # fmt: skip

    users = await acme.scim.users.list().collect()
    check.eq(len(users), real.scim_user_count(), "SCIM Users: every page decoded")
    pending = next(m for m in members if m.pending)
    accepted = next(m for m in members if not m.pending)
    await _all(check, "SCIM user details",
               [acme.scim.users.get(pending.id), acme.scim.users.get(accepted.id),
                acme.scim.users.get(MemberId(provisioned.id))])  # fmt: skip
    groups = await acme.scim.groups.list().collect()
    await _all(check, "SCIM group details", [acme.scim.groups.get(g.id) for g in groups])
    await _all(check, "SCIM Schemas", [acme.scim.schemas()])
    await acme.scim.users.delete(provisioned.id)
