"""Sentry's documented JSON shapes for users, members and teams
(src/sentry/api/serializers/models/organization_member/, team.py, user.py).
"""

from __future__ import annotations

from typing import Any

from ..state import ORG_ROLES, TEAM_ROLES, Member, Organization, State, Team, User, iso
from .common import Ctx, owners
from .lookups import allowed_roles, effective_team_role, member_count

__all__ = ["ser_member", "ser_member_detail", "ser_team", "ser_user"]


def ser_user(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "name": user.name,
        "username": user.username,
        "email": user.email,
        "avatarUrl": "https://secure.gravatar.com/avatar/0?s=32&d=mm",
        "isActive": user.is_active,
        "isSuspended": False,
        "hasPasswordAuth": True,
        "isManaged": False,
        "dateJoined": iso(user.date_joined),
        "lastLogin": iso(user.last_login) if user.last_login else None,
        "has2fa": user.has_2fa,
        "lastActive": None,
        "isSuperuser": False,
        "isStaff": False,
        "experiments": {},
        "emails": [{"id": str(user.id), "email": user.email, "is_verified": True}],
        "avatar": {"avatarType": "letter_avatar", "avatarUuid": None},
        "canReset2fa": True,
    }


def ser_member(state: State, org: Organization, m: Member) -> dict[str, Any]:
    user = state.users.get(m.user_id) if m.user_id is not None else None
    email = user.email if user else (m.email or "")
    inviter = state.users.get(m.inviter_id) if m.inviter_id is not None else None
    role = ORG_ROLES.get(m.role)
    return {
        "id": str(m.id),
        "email": email,
        "name": user.name if user else email,
        "user": ser_user(user) if user else None,
        "role": m.role,
        "roleName": role.name if role else m.role,
        "orgRole": m.role,
        "pending": m.pending,
        "expired": m.token_expired,
        "flags": dict(m.flags),
        "dateCreated": iso(m.date_created),
        "inviteStatus": m.invite_status,
        "inviterName": (inviter.name or inviter.email) if inviter else None,
        "orgRolesFromTeams": [],
    }


def _org_role_list(ctx: Ctx) -> list[dict[str, Any]]:
    allowed = set(allowed_roles(ctx))
    return [
        {
            "id": r.id,
            "name": r.name,
            "desc": r.desc,
            "scopes": list(r.scopes),
            "allowed": r.id in allowed,
            "isAllowed": r.id in allowed,
            "isRetired": r.is_retired and ctx.org.team_roles,
            "is_global": r.is_global,
            "isGlobal": r.is_global,
            "isTeamRolesAllowed": r.is_team_roles_allowed,
            "minimumTeamRole": r.minimum_team_role,
        }
        # Sentry's tests list member, admin, manager, owner (billing is not offered).
        for r in ORG_ROLES.values()
        if r.id != "billing"
    ]


def _team_role_list(ctx: Ctx) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "name": r.name,
            "desc": r.desc,
            "scopes": list(r.scopes),
            "allowed": ctx.has("team:admin"),
            "isAllowed": ctx.has("team:admin"),
            "isRetired": False,
            "isTeamRolesAllowed": True,
            "isMinimumRoleFor": r.is_minimum_role_for,
        }
        for r in TEAM_ROLES.values()
    ]


def ser_member_detail(ctx: Ctx, m: Member) -> dict[str, Any]:
    """``OrganizationMemberWithRolesSerializer``: the member plus teams and role catalogues."""
    data = ser_member(ctx.state, ctx.org, m)
    teams = ctx.org.teams
    active = [(teams[t], r) for t, r in m.teams.items() if teams[t].active]
    data.update(
        {
            "teams": [t.slug for t, _ in active],
            "teamRoles": [
                {"teamSlug": t.slug, "role": r if ctx.org.team_roles else None} for t, r in active
            ],
            "isOnlyOwner": m.role == "owner" and owners(ctx.org) == 1,
            "orgRoleList": _org_role_list(ctx),
            "teamRoleList": _team_role_list(ctx),
        }
    )
    data["roles"] = data["orgRoleList"]  # deprecated alias (test_lists_organization_roles)
    return data


def ser_team(
    ctx: Ctx, team: Team, *, viewer: Member | None = None, detailed: bool = False
) -> dict[str, Any]:
    viewer = viewer if viewer is not None else ctx.actor
    role = effective_team_role(viewer, team) if viewer is not None else None
    access = TEAM_ROLES[role or "contributor"].scopes
    data: dict[str, Any] = {
        "id": str(team.id),
        "slug": team.slug,
        "name": team.name,
        "dateCreated": iso(team.date_created),
        "isMember": role is not None,
        "teamRole": role,
        "flags": {"idp:provisioned": team.idp_provisioned},
        "access": list(access),
        "hasAccess": True,
        "isPending": False,
        "memberCount": member_count(ctx.org, team),
        "avatar": {"avatarType": "letter_avatar", "avatarUuid": None, "avatarUrl": None},
    }
    if detailed:
        data["externalTeams"] = []
        data["projects"] = []
    return data
