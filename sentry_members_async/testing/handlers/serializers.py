"""Sentry's documented JSON shapes for users, members and teams
(src/sentry/api/serializers/models/organization_member/, team.py, user.py).
"""

from __future__ import annotations

from typing import Any

from ..profiles import LATEST, Profile
from ..state import ORG_ROLES, TEAM_ROLES, Member, Organization, State, Team, User, iso
from .common import Ctx, owners, role_scopes
from .lookups import allowed_roles, effective_team_role, member_count

__all__ = ["ser_member", "ser_member_detail", "ser_organization", "ser_team", "ser_user"]


def ser_user(user: User, profile: Profile = LATEST, *, detailed: bool = False) -> dict[str, Any]:
    """``UserSerializer`` (src/sentry/api/serializers/models/user.py); ``detailed``: its
    ``DetailedUserSerializer`` (adds ``authenticators`` and ``canReset2fa``)."""
    data: dict[str, Any] = {
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
        # ``User.last_active`` defaults to the time the user was created.
        "lastActive": iso(user.last_active or user.date_joined),
        "isSuperuser": False,
        "isStaff": False,
        "experiments": {},
        # ``UserSerializer``: every ``UserEmail`` row of the account, with ``is_verified``.
        "emails": [{"id": str(user.id), "email": user.email, "is_verified": True}]
        + [
            {"id": f"{user.id}{n}", "email": address, "is_verified": verified}
            for n, (address, verified) in enumerate(user.secondary_emails, 1)
        ],
        "avatar": {"avatarType": "letter_avatar", "avatarUuid": None},
        "canReset2fa": True,
    }
    if not profile.user_is_suspended_key:
        del data["isSuspended"]
    if profile.detail_user_detailed and not detailed:
        del data["canReset2fa"]
    if profile.detail_user_detailed and detailed:
        data["authenticators"] = []
    return data


def ser_member(state: State, org: Organization, m: Member) -> dict[str, Any]:
    user = state.users.get(m.user_id) if m.user_id is not None else None
    email = user.email if user else (m.email or "")
    inviter = state.users.get(m.inviter_id) if m.inviter_id is not None else None
    role = ORG_ROLES.get(m.role)
    profile = state.profile
    flags = {f: v for f, v in m.flags.items() if f in profile.member_flags}
    return {
        "id": str(m.id),
        "email": email,
        "name": user.name if user else email,
        "user": ser_user(user, profile) if user else None,
        "role": m.role,
        "roleName": role.name if role else m.role,
        "orgRole": m.role,
        "pending": m.pending,
        "expired": m.token_expired,
        "flags": flags,
        "dateCreated": iso(m.date_created),
        "inviteStatus": m.invite_status,
        # ``get_display_name``: the name, else the e-mail, else the username.
        "inviterName": (inviter.name or inviter.email or inviter.username) if inviter else None,
        profile.roles_from_teams_key: [],
    }


def _org_role_list(ctx: Ctx, allowed: set[str]) -> list[dict[str, Any]]:
    rows = [
        {
            "id": r.id,
            "name": r.name,
            "desc": r.desc,
            "scopes": role_scopes(r.id, ctx.profile),
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
    if not ctx.profile.role_list_team_roles_allowed_key:
        for row in rows:
            del row["isTeamRolesAllowed"]
    return rows


def _team_role_list(ctx: Ctx) -> list[dict[str, Any]]:
    allowed = ctx.has("team:admin") and not ctx.profile.team_role_list_never_allowed
    rows = [
        {
            "id": r.id,
            "name": r.name,
            "desc": r.desc,
            "scopes": list(r.scopes),
            "allowed": allowed,
            "isAllowed": allowed,
            "isRetired": False,
            "isTeamRolesAllowed": True,
            "isMinimumRoleFor": r.is_minimum_role_for,
        }
        for r in TEAM_ROLES.values()
    ]
    if not ctx.profile.role_list_team_roles_allowed_key:
        for row in rows:
            del row["isTeamRolesAllowed"]
    return rows


def _detail_allowed_roles(ctx: Ctx, m: Member) -> set[str]:
    """The roles the details mark ``allowed``. Newer Sentry: those the caller may
    assign. 23.7.1 (organization_member/details.py ``get``): those the *shown*
    member could invite, ``get_allowed_org_roles(request, organization, member)``,
    and none without ``member:admin``."""
    if not ctx.profile.detail_roles_of_target:
        return set(allowed_roles(ctx))
    if not ctx.has("member:admin"):
        return set()
    top = ORG_ROLES[m.role].priority
    return {r.id for r in ORG_ROLES.values() if r.priority <= top and r.id != "billing"}


def ser_member_detail(ctx: Ctx, m: Member, allowed: set[str] | None = None) -> dict[str, Any]:
    """``OrganizationMemberWithRolesSerializer``: the member plus teams and role
    catalogues; ``allowed``: the roles marked allowed (default: as the details show)."""
    data = ser_member(ctx.state, ctx.org, m)
    allowed = _detail_allowed_roles(ctx, m) if allowed is None else allowed
    if ctx.profile.detail_user_detailed and allowed:
        # ``OrganizationMemberWithRolesSerializer``: with allowed roles, the
        # detailed user (``{}`` for an invite) and the invite link.
        user = ctx.state.users.get(m.user_id) if m.user_id is not None else None
        detailed = ser_user(user, ctx.profile, detailed=True) if user else None
        empty: dict[str, Any] | None = {} if ctx.profile.pending_detail_user_empty else None
        data["user"] = detailed if detailed is not None else empty
        origin = ctx.request.url.origin()
        data["invite_link"] = f"{origin}/accept/{m.id}/{m.id:064x}/" if m.pending else None
    teams = ctx.org.teams
    active = [(teams[t], r) for t, r in m.teams.items() if teams[t].active]
    data.update(
        {
            "teams": [t.slug for t, _ in active],
            "teamRoles": [
                {"teamSlug": t.slug, "role": r if ctx.org.team_roles else None} for t, r in active
            ],
            "isOnlyOwner": m.role == "owner" and owners(ctx.org) == 1,
            "orgRoleList": _org_role_list(ctx, allowed),
            "teamRoleList": _team_role_list(ctx),
        }
    )
    data["roles"] = data["orgRoleList"]  # deprecated alias (test_lists_organization_roles)
    return data


def ser_team(
    ctx: Ctx, team: Team, *, viewer: Member | None = None, expand: tuple[str, ...] = ()
) -> dict[str, Any]:
    """``TeamSerializer`` (src/sentry/api/serializers/models/team.py) as ``viewer``
    (default: the caller) sees the team; ``expand``: ``externalTeams``, ``projects``,
    ``organization``."""
    viewer = viewer if viewer is not None else ctx.actor
    role = effective_team_role(viewer, team) if viewer is not None else None
    # ``get_attrs``: with access to the team (a member of it, open membership or a
    # global org role) the scopes of the team role one would hold there.
    global_role = viewer is not None and ORG_ROLES[viewer.role].is_global
    has_access = role is not None or ctx.org.open_membership or global_role
    reach = role or (ORG_ROLES[viewer.role].minimum_team_role if viewer else "contributor")
    access = TEAM_ROLES[reach].scopes if has_access else ()
    avatar: dict[str, Any] = {"avatarType": "letter_avatar", "avatarUuid": None}
    if ctx.profile.team_avatar_url:
        avatar["avatarUrl"] = None
    data: dict[str, Any] = {
        "id": str(team.id),
        "slug": team.slug,
        "name": team.name,
        "dateCreated": iso(team.date_created),
        "isMember": role is not None,
        "teamRole": role,
        "flags": {"idp:provisioned": team.idp_provisioned},
        "access": list(access),
        "hasAccess": has_access,
        "isPending": False,
        "memberCount": member_count(ctx.org, team),
        "avatar": avatar,
    }
    if ctx.profile.team_org_role_key:
        data["orgRole"] = None
    if "externalTeams" in expand:
        data["externalTeams"] = []
    if "projects" in expand:
        data["projects"] = []
    if "organization" in expand:
        data["organization"] = ser_organization(ctx)
    return data


def ser_organization(ctx: Ctx) -> dict[str, Any]:
    """``OrganizationSerializer`` (src/sentry/api/serializers/models/organization.py)."""
    org = ctx.org
    origin = str(ctx.request.url.origin())
    return {
        "id": str(org.id),
        "slug": org.slug,
        "status": {"id": "active", "name": "active"},
        "name": org.name,
        "dateCreated": iso(org.date_created),
        "isEarlyAdopter": False,
        "require2FA": False,
        "requireEmailVerification": False,
        "avatar": {"avatarType": "letter_avatar", "avatarUuid": None},
        "features": [f for f in ctx.profile.org_features if f != "open-membership"]
        + (["open-membership"] if org.open_membership else []),
        "links": {"organizationUrl": origin, "regionUrl": origin},
        "hasAuthProvider": org.scim_enabled,
    }
