"""``PUT/DELETE organizations/{org}/members/{member_id}/`` as Sentry 23.7.1 answers
(``Profile.legacy_member_update``): src/sentry/api/endpoints/organization_member/details.py.

What differs from newer Sentry (``member_details.py``), in 23.7.1's order:

- PUT takes ``member:write`` or ``member:admin`` only (``RelaxedMemberPermission``):
  a member's ``member:invite`` resends nothing.
- Any field error of the partial serializer is ``Response(status=400)``: no body.
  A role is valid only among ``get_allowed_org_roles`` (none without ``member:admin``).
- ``reinvite`` does not stop the request: teams and role are applied after it.
- Teams are saved before the role is checked (a refused role keeps the new teams).
- The answer's ``allowed`` roles are the caller's.
- DELETE by a token with no member behind it (an integration's): 400 "more access".
"""

from __future__ import annotations

from typing import Any

from ..state import ORG_ROLES, Member
from .common import IDP_MEMBER, NO_BODY, Answer, Ctx, Result, boolean, refuse_last_owner, truthy
from .invite_quota import invite_quota
from .lookups import allowed_roles, get_member
from .members import team_assignments
from .serializers import ser_member_detail

__all__ = ["member_delete_23_7", "member_put_23_7"]

MISSING_ADMIN = {"detail": "You are missing the member:admin scope."}
MORE_ACCESS = {"detail": "You cannot remove a member who has more access than you."}
UNINVITABLE = {"detail": "You cannot send an invitation to a user who is already a full member."}
EXPIRED = {"detail": "You cannot resend an expired invitation without regenerating the token."}


def _fields(ctx: Ctx, body: dict[str, Any]) -> tuple[Any, dict[int, str | None] | None]:
    """The partial serializer: the role asked for and the teams; 400, empty, on any error."""
    errors: dict[str, Any] = {}
    may_give = allowed_roles(ctx)
    for key in ("role", "orgRole"):
        if key in body and body[key] not in may_give:
            errors[key] = True
    for flag in ("reinvite", "regenerate"):
        if flag in body and boolean(body[flag]) is None:
            errors[flag] = True
    teams = team_assignments(ctx, body, errors)
    if errors:
        raise Answer(400, NO_BODY)
    asked = "teams" in body or ("teamRoles" in body and body["teamRoles"] is not None)
    return body.get("orgRole") or body.get("role"), teams if asked else None


def _reinvite(ctx: Ctx, member: Member, body: dict[str, Any]) -> None:
    if member.pending:
        invite_quota(ctx, ctx.state.member_email(member))
        if truthy(body.get("regenerate")):
            if not ctx.has("member:admin"):
                raise Answer(400, MISSING_ADMIN)
            member.token_expired = False
        if member.token_expired:
            raise Answer(400, EXPIRED)
    elif not (ctx.org.scim_enabled and not member.flags["sso:linked"]):
        # With an auth provider, a member not linked to it gets the SSO link instead.
        raise Answer(400, UNINVITABLE)


def _change_role(ctx: Ctx, member: Member, role: str) -> None:
    may_give = set(allowed_roles(ctx))
    if role not in may_give:
        raise Answer(403, {"role": "You do not have permission to assign the given role."})
    if member.role not in may_give:
        raise Answer(
            403, {"role": "You do not have permission to assign a role to the given user."}
        )
    if ctx.actor is not None and member.id == ctx.actor.id:
        raise Answer(400, {"detail": "You cannot make changes to your own role."})
    if ctx.org.team_roles and ORG_ROLES[role].is_retired:
        raise Answer(
            400, {"detail": f"The role '{role}' is deprecated and may no longer be assigned."}
        )
    member.role = role
    for team_id, team_role in list(member.teams.items()):
        # Team roles at or below the new minimum are reset (``_change_org_role``).
        if team_role is not None and (
            team_role == "contributor" or ORG_ROLES[role].minimum_team_role == "admin"
        ):
            member.teams[team_id] = None


def member_put_23_7(ctx: Ctx) -> Result:
    ctx.require("member:write", "member:admin")
    member = get_member(ctx, ctx.args["member_id"])
    body = ctx.body()
    role, teams = _fields(ctx, body)
    if truthy(body.get("reinvite")):
        _reinvite(ctx, member, body)
    if teams is not None:
        member.teams = {t: (r if ctx.org.team_roles else None) for t, r in teams.items()}
        ctx.org.version += 1
    if role and role != member.role:
        _change_role(ctx, member, role)
    ctx.org.version += 1
    return 200, ser_member_detail(ctx, member, set(allowed_roles(ctx))), {}


def member_delete_23_7(ctx: Ctx) -> Result:
    ctx.require("member:read", "member:write", "member:admin")
    member = get_member(ctx, ctx.args["member_id"])
    actor = ctx.actor
    if actor is None:
        # An integration's proxy user has no member row in the organization.
        raise Answer(400, MORE_ACCESS)
    if actor.id != member.id:
        if not ctx.has("member:admin"):
            raise Answer(400, MISSING_ADMIN)
        if ORG_ROLES[member.role].priority > ORG_ROLES[actor.role].priority:
            raise Answer(400, MORE_ACCESS)
    refuse_last_owner(ctx.org, member)
    if member.flags["idp:provisioned"]:
        raise Answer(403, IDP_MEMBER)
    ctx.state.remove_member(ctx.org, member)
    return 204, NO_BODY, {}
