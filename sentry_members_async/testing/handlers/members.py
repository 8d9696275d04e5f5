"""``GET/POST organizations/{org}/members/``: the member list and invites (§1, §2).

Sentry's ``OrganizationMemberIndexEndpoint`` and its
``OrganizationMemberRequestSerializer``
(src/sentry/core/endpoints/organization_member_index.py); member details
reuse the serializer's team fields, as Sentry's details endpoint does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..state import ORG_ROLES, TEAM_ROLES, Member, State
from .common import EMAIL, Answer, Ctx, Result, boolean, role_choice
from .invite_quota import invite_quota
from .listing import offset_paginate, tokenize_query
from .lookups import allowed_roles, listed_members
from .serializers import ser_member

__all__ = [
    "filter_members",
    "invite_role",
    "members_get",
    "members_post",
    "role_error",
    "team_assignments",
]

MemberTest = Callable[[Member], bool]


# -- the list's query keys (§1) ------------------------------------------------


def _by_email(state: State, values: list[str], lowered: list[str]) -> MemberTest:
    return lambda m: state.member_email(m).lower() in lowered


def _by_id(state: State, values: list[str], lowered: list[str]) -> MemberTest:
    return lambda m: str(m.id) in values


def _by_user_id(state: State, values: list[str], lowered: list[str]) -> MemberTest:
    return lambda m: m.user_id is not None and str(m.user_id) in values


def _by_scope(state: State, values: list[str], lowered: list[str]) -> MemberTest:
    wanted = set(values)
    return lambda m: bool(wanted & set(ORG_ROLES.get(m.role, ORG_ROLES["member"]).scopes))


def _by_role(state: State, values: list[str], lowered: list[str]) -> MemberTest:
    return lambda m: m.role in values


def _by_invited(state: State, values: list[str], lowered: list[str]) -> MemberTest:
    want = "true" in lowered
    return lambda m: (m.user_id is None) == want


def _by_sso_linked(state: State, values: list[str], lowered: list[str]) -> MemberTest:
    want = "true" in lowered
    return lambda m: m.flags["sso:linked"] == want


def _by_2fa(state: State, values: list[str], lowered: list[str]) -> MemberTest:
    want = "true" in lowered
    return lambda m: m.user_id is not None and state.users[m.user_id].has_2fa == want


def _by_external_users(state: State, values: list[str], lowered: list[str]) -> MemberTest:
    """The emulator has no external users: ``true`` matches nobody, anything else everybody."""
    nobody = "true" in lowered
    return lambda m: not nobody


def _by_text(state: State, values: list[str], lowered: list[str]) -> MemberTest:
    """Free text: a substring of the e-mail, the user's name or username."""

    def hit(m: Member) -> bool:
        email = state.member_email(m).lower()
        user = state.users.get(m.user_id) if m.user_id is not None else None
        texts = [email] + ([user.name.lower(), user.username.lower()] if user else [])
        return any(n in t for n in lowered for t in texts)

    return hit


_MEMBER_FILTERS: dict[str, Callable[[State, list[str], list[str]], MemberTest]] = {
    "email": _by_email,
    "id": _by_id,
    "user.id": _by_user_id,
    "scope": _by_scope,
    "role": _by_role,
    "isInvited": _by_invited,
    "ssoLinked": _by_sso_linked,
    "has2fa": _by_2fa,
    "hasExternalUsers": _by_external_users,
    "query": _by_text,
}


def filter_members(ctx: Ctx, rows: list[Member], query: str) -> list[Member]:
    """The ``query`` keys ``OrganizationMemberIndexEndpoint.get`` reads
    (organization_member_index.py); an unknown key matches nobody."""
    for key, values in tokenize_query(query).items():
        make = _MEMBER_FILTERS.get(key)
        if make is None:
            return []
        test = make(ctx.state, values, [v.lower() for v in values])
        rows = [m for m in rows if test(m)]
    return rows


def members_get(ctx: Ctx) -> Result:
    ctx.require("member:read", "member:write", "member:admin")
    rows = listed_members(ctx.state, ctx.org)
    query = ctx.query.get("query")
    if query:
        rows = filter_members(ctx, rows, query)
    return offset_paginate(ctx, rows, lambda m: ser_member(ctx.state, ctx.org, m))


# -- the request serializer's fields (§2) --------------------------------------


def _teams_field(ctx: Ctx, raw: Any, errors: dict[str, Any], teams: dict[int, str | None]) -> None:
    """``teams``: slugs of active teams (``validate_teams``)."""
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        errors["teams"] = ["Invalid teams"]
        return
    for slug in raw:
        team = ctx.org.team_by_slug(slug)
        if team is None:
            errors["teams"] = ["Invalid teams"]
            return
        teams[team.id] = None


def _team_roles_field(
    ctx: Ctx, raw: Any, errors: dict[str, Any], teams: dict[int, str | None]
) -> None:
    """``teamRoles``: ``{"teamSlug", "role"}`` items (``validate_teamRoles``)."""
    if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
        errors["teamRoles"] = ["Invalid teams"]
        return
    for item in raw:
        slug, role = item.get("teamSlug"), item.get("role")
        team = ctx.org.team_by_slug(slug) if isinstance(slug, str) else None
        if team is None:
            errors["teamRoles"] = ["Invalid teams"]
            return
        if role is not None and role not in TEAM_ROLES:
            errors["teamRoles"] = ["Invalid team-role"]
            return
        teams[team.id] = role


def team_assignments(
    ctx: Ctx, body: dict[str, Any], errors: dict[str, Any]
) -> dict[int, str | None]:
    """team id -> team role from ``teams`` and ``teamRoles``; field errors go to ``errors``."""
    teams: dict[int, str | None] = {}
    if "teams" in body:
        _teams_field(ctx, body["teams"], errors, teams)
    if "teamRoles" in body and body["teamRoles"] is not None:
        _team_roles_field(ctx, body["teamRoles"], errors, teams)
    return teams


def reinvite_conflict(ctx: Ctx, email: str) -> str | None:
    """``OrganizationMemberRequestSerializer.validate_email`` (POST: requests are replaced).

    A pending invite: "has already been invited"; an accepted member: "is
    already a member" (the older wording for both with ``legacy_reinvite_message``).
    """
    member = ctx.state.member_by_email(ctx.org, email)
    if member is None or member.invite_status != "approved":
        return None
    if member.pending and not ctx.org.legacy_reinvite_message:
        return f"The user {email} has already been invited"
    return f"The user {email} is already a member"


def _email_errors(ctx: Ctx, email: Any) -> list[str]:
    """``email``: ``AllowedEmailField(max_length=75)``, then ``validate_email``. A bad
    address fails both of the field's e-mail validators (DRF's ``EmailField`` adds its
    own to Django's: src/sentry/api/validators/email.py), so the message comes twice."""
    if email is None or email == "":
        return ["This field is required."]
    if not isinstance(email, str) or not EMAIL.match(email):
        return ["Enter a valid email address."] * 2
    if len(email) > 75:
        return ["Ensure this field has no more than 75 characters."]
    conflict = reinvite_conflict(ctx, email)
    return [conflict] if conflict is not None else []


def role_error(ctx: Ctx, role: Any) -> str | None:
    """``orgRole``: a role choice the caller may give (``validate_orgRole``), not retired
    where ``organizations:team-roles`` is on (newer Sentry)."""
    if not role_choice(role, ctx.profile):
        return f'"{role}" is not a valid choice.'
    # 23.7.1: an integration token (no member row) may give no role at all.
    checks = ctx.actor is not None or ctx.profile.invite_validates_both_role_keys
    if checks and role not in allowed_roles(ctx):
        return "You do not have permission to set that org-level role"
    if (
        ctx.profile.invite_refuses_retired_roles
        and ctx.org.team_roles
        and ORG_ROLES[role].is_retired
    ):
        return f"The role '{role}' is deprecated and may no longer be assigned."
    return None


def invite_role(ctx: Ctx, body: dict[str, Any], errors: dict[str, Any]) -> tuple[str, Any]:
    """The invite's role key and role (``Profile.invite_role_keys``); role errors go to
    ``errors``. 23.7.1 validates ``role`` and ``orgRole`` both, each defaulting to
    ``member``, and uses ``role``."""
    keys = ctx.profile.invite_role_keys
    key = next((k for k in keys if body.get(k)), keys[-1] if len(keys) > 1 else keys[0])
    if ctx.profile.invite_validates_both_role_keys:
        for name in ("role", "orgRole"):
            if (error := role_error(ctx, body.get(name, "member"))) is not None:
                errors[name] = [error]
        return key, body.get(key, "member")
    role = next((body[k] for k in keys if body.get(k)), "member")
    if (error := role_error(ctx, role)) is not None:
        errors["role" if "role" in body and "orgRole" not in body else "orgRole"] = [error]
    return key, role


# -- the invite's rules (§2) ---------------------------------------------------


def _refuse_integration_role(ctx: Ctx, role: Any) -> None:
    """An integration token (no member row, no allowed roles) invites ``member`` only."""
    if ctx.actor is None and role != "member":
        raise Answer(
            400,
            [
                "Integration tokens are restricted to inviting new members with the member "
                "role only."
            ],
        )


def _refuse_foreign_teams(ctx: Ctx, teams: dict[int, str | None]) -> None:
    """Without ``member:admin`` and with closed membership, a member invites only
    into teams they are on."""
    if (
        teams
        and not ctx.has("member:admin")
        and ctx.has("member:invite")
        and not ctx.org.open_membership
        and ctx.actor is not None
        and any(t not in ctx.actor.teams for t in teams)
    ):
        raise Answer(400, {"detail": "You cannot assign members to teams you are not a member of."})


def _refuse_teams_for_role(role: str, teams: dict[int, str | None]) -> None:
    """A role that cannot hold team roles (billing) gets no teams."""
    if teams and not ORG_ROLES[role].is_team_roles_allowed:
        raise Answer(
            400, {"email": f"The user with a '{role}' role cannot have team-level permissions."}
        )


def _replace_requests(ctx: Ctx, email: str) -> None:
    """Invite and join *requests* for the address are replaced by the invite."""
    for stale in [
        m
        for m in ctx.org.members.values()
        if m.invite_status != "approved" and (m.email or "").lower() == email.lower()
    ]:
        ctx.state.remove_member(ctx.org, stale)


def members_post(ctx: Ctx) -> Result:
    """Invite: ``OrganizationMemberIndexEndpoint.post``, its checks in Sentry's order."""
    ctx.require(*ctx.profile.invite_scopes)
    org = ctx.org
    if not org.invite_members:
        raise Answer(403, {"organization": "Your organization is not allowed to invite members"})
    body = ctx.body()
    if not ctx.profile.invite_validates_both_role_keys:
        _refuse_integration_role(ctx, body.get("orgRole") or body.get("role") or "member")
    errors: dict[str, Any] = {}
    email = body.get("email")
    if email_errors := _email_errors(ctx, email):
        errors["email"] = email_errors
    _key, role = invite_role(ctx, body, errors)
    teams = team_assignments(ctx, body, errors)
    if boolean(body.get("sendInvite", True)) is None:
        errors["sendInvite"] = ["Must be a valid boolean."]
    if errors:
        raise Answer(400, errors)
    assert isinstance(email, str)
    invite_quota(ctx, email)
    _refuse_foreign_teams(ctx, teams)
    _refuse_teams_for_role(role, teams)
    _replace_requests(ctx, email)
    inviter = ctx.actor.user_id if ctx.actor is not None else None
    member = ctx.state.new_member(org, role, email=email, inviter_id=inviter)
    # §2: team *roles* are not applied on invite, only the membership.
    member.teams = dict.fromkeys(teams)
    return 201, ser_member(ctx.state, org, member), {}
