"""``GET/PUT/DELETE organizations/{org}/members/{member_id}/`` (§3).

Sentry's ``OrganizationMemberDetailsEndpoint``
(src/sentry/core/endpoints/organization_member_details.py): one helper per
rule of its ``put`` and ``delete``, called in the order Sentry checks them.
"""

from __future__ import annotations

from typing import Any

from ..state import ORG_ROLES, TEAM_ROLES, Member, Organization
from .common import (
    IDP_MEMBER,
    NO_BODY,
    PERMISSION_DENIED,
    Answer,
    Ctx,
    Result,
    boolean,
    refuse_last_owner,
    refuse_partnership,
    role_choice,
    truthy,
)
from .invite_quota import invite_quota
from .lookups import allowed_roles, get_member
from .member_update_23_7 import member_delete_23_7, member_put_23_7
from .members import team_assignments
from .serializers import ser_member_detail

__all__ = ["member_delete", "member_get", "member_put"]

_RESEND_ONLY = {"reinvite", "regenerate"}
MISSING_ADMIN = {"detail": "You are missing the member:admin scope."}
NOT_YOUR_INVITE = {"detail": "You cannot modify invitations sent by someone else."}


def member_get(ctx: Ctx) -> Result:
    ctx.require("member:read", "member:write", "member:admin")
    member = get_member(ctx, ctx.args["member_id"])
    return 200, ser_member_detail(ctx, member), {}


# -- PUT -------------------------------------------------------------------------


def _put_fields(ctx: Ctx, body: dict[str, Any]) -> tuple[str, Any, dict[int, str | None]]:
    """The partial ``OrganizationMemberRequestSerializer``: role key, role and teams; 400
    with every field error."""
    errors: dict[str, Any] = {}
    role_key = "role" if "role" in body and "orgRole" not in body else "orgRole"
    role = body.get("orgRole") or body.get("role")
    if role is not None and not role_choice(role):
        errors[role_key] = [f'"{role}" is not a valid choice.']
    for flag in ("reinvite", "regenerate"):
        if flag in body and boolean(body[flag]) is None:
            errors[flag] = ["Must be a valid boolean."]
    teams = team_assignments(ctx, body, errors)
    if errors:
        raise Answer(400, errors)
    return role_key, role, teams


def _check_member_resend(ctx: Ctx, member: Member, body: dict[str, Any]) -> None:
    """A member (``member:invite`` at most) may only resend invites they sent
    (``is_member`` in ``put``; test_member_reinvite_pending_member,
    test_member_can_only_reinvite)."""
    assert ctx.actor is not None
    if (
        not truthy(body.get("reinvite"))
        or set(body) - _RESEND_ONLY
        or not member.pending
        or ctx.org.disable_member_invite
        or not ctx.has("member:invite")
    ):
        raise Answer(403, PERMISSION_DENIED)
    if member.inviter_id != ctx.actor.user_id:
        raise Answer(403, NOT_YOUR_INVITE)


def _resend_invite(ctx: Ctx, member: Member, body: dict[str, Any]) -> Result:
    """Resend a pending invite: ``regenerate`` needs ``member:admin``; an expired
    token needs ``regenerate``; the daily invite quotas count it."""
    may_manage = ctx.has("member:invite", "member:admin")
    is_inviter = ctx.actor is not None and member.inviter_id == ctx.actor.user_id
    if not (may_manage or is_inviter):
        raise Answer(403, PERMISSION_DENIED)
    if truthy(body.get("regenerate")):
        if not ctx.has("member:admin"):
            raise Answer(400, MISSING_ADMIN)
        member.token_expired = False
    elif member.token_expired:
        raise Answer(
            400,
            {"detail": "You cannot resend an expired invitation without regenerating the token."},
        )
    invite_quota(ctx, ctx.state.member_email(member))
    return 200, ser_member_detail(ctx, member), {}


def _reinvite(ctx: Ctx, member: Member, body: dict[str, Any]) -> Result:
    """``reinvite``: nothing else in the body; a pending member gets the invite again,
    a member not linked to the org's SSO gets the SSO link, a full member a 400."""
    if set(body) - _RESEND_ONLY:
        raise Answer(
            403,
            {
                "detail": "You cannot modify member details when resending an invitation. "
                "Separate requests are required."
            },
        )
    if member.pending:
        return _resend_invite(ctx, member, body)
    if ctx.org.scim_enabled and not member.flags["sso:linked"]:
        return 200, ser_member_detail(ctx, member), {}
    raise Answer(
        400, {"detail": "You cannot send an invitation to a user who is already a full member."}
    )


IDP_ROLE_LOCKED = "This user's org-role is managed through your organization's identity provider."


def _check_role_change(ctx: Ctx, member: Member, role: str, role_key: str) -> None:
    """A role change: not by an integration token, only to an allowed role, not of a
    superior, not of oneself, not to a retired role (``put``'s ``is_update_org_role``)."""
    actor = ctx.actor
    if actor is None:
        # An integration token has no member row, so no role to assign from
        # (test_with_internal_integration: 400).
        raise Answer(400, {role_key: ["You do not have permission to set that org-level role"]})
    if member.flags.get("idp:role-restricted"):
        # put's IdP lockout (src/sentry/api/endpoints/organization_member/details.py,
        # after 23.7.1, which has it commented out: the 23.7 profile's handler).
        raise Answer(403, {"role": IDP_ROLE_LOCKED})
    if role not in allowed_roles(ctx):
        raise Answer(403, {"role": "You do not have permission to assign the given role."})
    if ORG_ROLES[member.role].priority > ORG_ROLES[actor.role].priority:
        raise Answer(
            403, {"role": "You do not have permission to assign a role to the given user."}
        )
    if member.id == actor.id:
        raise Answer(400, {"detail": "You cannot make changes to your own role."})
    if ctx.org.team_roles and ORG_ROLES[role].is_retired:
        raise Answer(
            400, {"detail": f"The role '{role}' is deprecated and may no longer be assigned."}
        )


def _set_teams(org: Organization, member: Member, role: str, teams: dict[int, str | None]) -> None:
    """``teams``/``teamRoles`` replace the member's teams, only for a role that may hold
    team roles; the roles are stored as null without ``organizations:team-roles``."""
    if not ORG_ROLES[role].is_team_roles_allowed:
        raise Answer(
            400,
            {"detail": f"The user with a '{role}' role cannot have team-level permissions."},
        )
    member.teams = {t: (r if org.team_roles else None) for t, r in teams.items()}


def _change_role(member: Member, role: str) -> None:
    """``_change_org_role``: team roles at or below the new role's minimum team role
    are reset to null."""
    member.role = role
    minimum = TEAM_ROLES[ORG_ROLES[role].minimum_team_role].priority
    for team_id, team_role in list(member.teams.items()):
        if team_role is not None and TEAM_ROLES[team_role].priority <= minimum:
            member.teams[team_id] = None


def member_put(ctx: Ctx) -> Result:
    """Resend an invite, or change the org role and the teams (``put``)."""
    if ctx.profile.legacy_member_update:
        return member_put_23_7(ctx)
    ctx.require("member:invite", "member:write", "member:admin")
    member = get_member(ctx, ctx.args["member_id"])
    refuse_partnership(member)
    body = ctx.body()
    role_key, role, teams = _put_fields(ctx, body)
    if ctx.actor is not None and not ctx.has("member:admin"):
        _check_member_resend(ctx, member, body)
    if truthy(body.get("reinvite")):
        return _reinvite(ctx, member, body)
    if not ctx.has("member:invite", "member:admin"):
        raise Answer(403, PERMISSION_DENIED)
    changes_role = role is not None and role != member.role
    if changes_role:
        _check_role_change(ctx, member, role, role_key)
    if "teamRoles" in body or "teams" in body:
        _set_teams(ctx.org, member, role or member.role, teams)
    if changes_role:
        _change_role(member, role)
    ctx.org.version += 1
    return 200, ser_member_detail(ctx, member), {}


# -- DELETE ----------------------------------------------------------------------


def _check_remove_other(ctx: Ctx, member: Member) -> None:
    """Removing someone else: ``member:admin`` over a role not above one's own; without
    it, with ``member:invite`` where members may invite, only a pending invite one sent."""
    if not ctx.has("member:admin"):
        if ctx.actor is None or not (ctx.has("member:invite") and ctx.org.invite_members):
            raise Answer(400, MISSING_ADMIN)
        if not member.pending:
            raise Answer(400, MISSING_ADMIN)
        if member.inviter_id != ctx.actor.user_id:
            raise Answer(400, NOT_YOUR_INVITE)
    elif ctx.actor is not None and (
        ORG_ROLES[member.role].priority > ORG_ROLES[ctx.actor.role].priority
    ):
        raise Answer(400, {"detail": "You cannot remove a member who has more access than you."})


def member_delete(ctx: Ctx) -> Result:
    """Remove a member (``delete``): anyone may leave, but never the last owner, an
    IdP-provisioned member or a partnership's."""
    if ctx.profile.legacy_member_update:
        return member_delete_23_7(ctx)
    ctx.require("member:read", "member:write", "member:admin")
    member = get_member(ctx, ctx.args["member_id"])
    is_self = ctx.actor is not None and ctx.actor.id == member.id
    if not is_self:
        _check_remove_other(ctx, member)
    refuse_last_owner(ctx.org, member)
    if member.flags["idp:provisioned"]:
        raise Answer(403, IDP_MEMBER)
    refuse_partnership(member)
    ctx.state.remove_member(ctx.org, member)
    return 204, NO_BODY, {}
