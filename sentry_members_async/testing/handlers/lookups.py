"""Finding rows by URL argument, the members a list shows, and the role
arithmetic several endpoints share (§2, §3, §4).
"""

from __future__ import annotations

from ..state import ORG_ROLES, TEAM_ROLES, Member, Organization, State, Team
from .common import DOES_NOT_EXIST, Answer, Ctx, digits

__all__ = [
    "allowed_roles",
    "effective_team_role",
    "get_member",
    "get_team",
    "listed_members",
    "member_count",
]


def get_member(ctx: Ctx, raw: str) -> Member:
    """``me`` or an APPROVED member's id (src/sentry/api/bases/organizationmember.py)."""
    if raw == "me":
        if ctx.actor is None:
            raise Answer(404, DOES_NOT_EXIST)
        return ctx.actor
    if not digits(raw):
        raise Answer(404, DOES_NOT_EXIST)
    member = ctx.org.members.get(int(raw))
    if member is None or member.invite_status != "approved":
        raise Answer(404, DOES_NOT_EXIST)
    return member


def get_team(ctx: Ctx, raw: str) -> Team:
    """An active team by id or slug."""
    org = ctx.org
    team: Team | None
    if digits(raw):
        team = org.teams.get(int(raw))
        if team is not None and not team.active:
            team = None
    else:
        team = org.team_by_slug(raw)
    if team is None:
        raise Answer(404, DOES_NOT_EXIST)
    return team


def listed_members(state: State, org: Organization) -> list[Member]:
    """APPROVED members with an active user or no user, by id (cached per org version)."""
    cached = org.listing
    if cached is not None and cached[0] == org.version:
        return cached[1]
    rows = [
        m
        for m in org.members.values()
        if m.invite_status == "approved" and (m.user_id is None or state.users[m.user_id].is_active)
    ]
    rows.sort(key=lambda m: m.id)
    org.listing = (org.version, rows)
    return rows


def allowed_roles(ctx: Ctx) -> list[str]:
    """``get_allowed_org_roles``: roles at or below the acting member's (§2); none
    without ``member:admin`` in 23.7.1 (api/endpoints/organization_member/__init__.py)."""
    if ctx.actor is None:
        return []
    if ctx.profile.allowed_roles_need_admin and not ctx.has("member:admin"):
        return []
    top = ORG_ROLES[ctx.actor.role].priority
    billing = ctx.profile.billing_role
    return [
        r.id for r in ORG_ROLES.values() if r.priority <= top and (billing or r.id != "billing")
    ]


def effective_team_role(m: Member, team: Team) -> str | None:
    """The stored team role, raised to the org role's minimum team role."""
    if team.id not in m.teams:
        return None
    explicit = m.teams[team.id]
    minimum = ORG_ROLES[m.role].minimum_team_role if m.role in ORG_ROLES else "contributor"
    if explicit is None:
        return minimum
    return max(explicit, minimum, key=lambda r: TEAM_ROLES[r].priority)


#: From this many members on, the teams list's counts come from a count of every
#: team kept per ``org.version`` (a scan of 100,000 members for each of a page's
#: 100 teams took the emulator 1.7 s a page); below it, every team is counted
#: when listed, so a test may change a small org's ``member.teams`` directly.
COUNT_FROM = 2_000


def member_count(org: Organization, team: Team) -> int:
    if len(org.members) < COUNT_FROM:
        return sum(1 for m in org.members.values() if team.id in m.teams)
    cached = org.team_counts
    if cached is None or cached[0] != org.version:
        counts: dict[int, int] = {}
        for member in org.members.values():
            for team_id in member.teams:
                counts[team_id] = counts.get(team_id, 0) + 1
        cached = org.team_counts = (org.version, counts)
    return cached[1].get(team.id, 0)
