"""``organizations/{org}/members/{member_id}/teams/{team}/``: team membership (§4).

Sentry's ``OrganizationMemberTeamDetailsEndpoint``
(src/sentry/core/endpoints/organization_member_team_details.py).
"""

from __future__ import annotations

from ..state import ORG_ROLES, TEAM_ROLES, Member, Team
from .common import DOES_NOT_EXIST, IDP_TEAM, NO_BODY, Answer, Ctx, Result
from .lookups import effective_team_role, get_member, get_team
from .serializers import ser_team

__all__ = ["member_team_delete", "member_team_get", "member_team_post", "member_team_put"]

_MEMBER_TEAM_SCOPES = (
    "org:read", "org:write", "org:admin", "member:read", "member:write", "member:admin",
)  # fmt: skip
CANNOT_EDIT = {"detail": "You do not have permission to edit that user's membership."}


def _member_and_team(ctx: Ctx) -> tuple[Member, Team]:
    """Every method: any org or member scope, then the member, then the team (404s)."""
    ctx.require(*_MEMBER_TEAM_SCOPES)
    return get_member(ctx, ctx.args["member_id"]), get_team(ctx, ctx.args["team"])


def is_team_admin(ctx: Ctx, team: Team) -> bool:
    if ctx.actor is None:
        return ctx.has("team:admin", "team:write")
    if ORG_ROLES[ctx.actor.role].is_global and "team:admin" in ORG_ROLES[ctx.actor.role].scopes:
        return True
    return effective_team_role(ctx.actor, team) == "admin"


def member_team_get(ctx: Ctx) -> Result:
    member, team = _member_and_team(ctx)
    if team.id not in member.teams:
        raise Answer(404, DOES_NOT_EXIST)
    return 200, member_team_body(ctx, member, team), {}


def member_team_body(ctx: Ctx, member: Member, team: Team) -> dict[str, object]:
    """``OrganizationMemberTeamDetailsSerializer``: the team role, as stored where the
    profile says so (23.7.1: ``obj.role``, null for the org role's default)."""
    if ctx.profile.stored_team_roles:
        return {"isActive": True, "teamRole": member.teams.get(team.id)}
    return {"isActive": True, "teamRole": effective_team_role(member, team)}


def member_team_post(ctx: Ctx) -> Result:
    member, team = _member_and_team(ctx)
    if team.id in member.teams:
        return 204, NO_BODY, {}
    if team.idp_provisioned:
        raise Answer(403, IDP_TEAM)
    global_access = ctx.org.open_membership or ctx.has("org:write")
    if not global_access and not is_team_admin(ctx, team):
        return 202, NO_BODY, {}
    member.teams[team.id] = None
    ctx.org.version += 1
    # The team as the caller sees it (``serialize(team, request.user, ...)``).
    return 201, ser_team(ctx, team), {}


def member_team_put(ctx: Ctx) -> Result:
    member, team = _member_and_team(ctx)
    if team.id not in member.teams:
        raise Answer(404, DOES_NOT_EXIST)
    body = ctx.body()
    role = body.get("teamRole")
    if role is not None and role not in TEAM_ROLES:
        raise Answer(400, NO_BODY)
    if not is_team_admin(ctx, team):
        raise Answer(400, CANNOT_EDIT)
    if role is not None and ctx.org.team_roles:
        minimum = ORG_ROLES[member.role].minimum_team_role
        stored = None if TEAM_ROLES[role].priority <= TEAM_ROLES[minimum].priority else role
        member.teams[team.id] = stored
        ctx.org.version += 1
    return 200, member_team_body(ctx, member, team), {}


def member_team_delete(ctx: Ctx) -> Result:
    member, team = _member_and_team(ctx)
    is_self = ctx.actor is not None and ctx.actor.id == member.id
    if not is_self and not is_team_admin(ctx, team):
        raise Answer(400, CANNOT_EDIT)
    if team.idp_provisioned:
        raise Answer(403, IDP_TEAM)
    if member.teams.pop(team.id, "absent") != "absent":
        ctx.org.version += 1
    return 200, ser_team(ctx, team), {}
