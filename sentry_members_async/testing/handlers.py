"""Sentry's endpoint logic for the emulator, sans-I/O.

``dispatch(state, request)`` returns ``(status, body, headers)``. Each rule
cites the section of ``sentry-behaviour.md`` it follows (§n).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from multidict import MultiDictProxy

from ..transports.base import Request
from .scim_schemas import SCIM_SCHEMA_LIST
from .state import (
    ORG_ROLES,
    SLUG_MAX,
    SLUG_RE,
    TEAM_ROLES,
    Member,
    Organization,
    State,
    Team,
    Token,
    User,
    iso,
    slugify,
)

__all__ = ["NO_BODY", "dispatch"]

NO_BODY: Any = object()
PERMISSION_DENIED = {"detail": "You do not have permission to perform this action."}
DOES_NOT_EXIST = {"detail": "The requested resource does not exist"}
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SCIM_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
SCIM_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
SLUG_ERROR = (
    "Enter a valid slug consisting of lowercase letters, numbers, underscores or hyphens. "
    "It cannot be entirely numeric."
)
CONFLICTING_SLUG = "A team with this slug already exists."
WWW_AUTH = {"WWW-Authenticate": 'xBasic realm="api"'}
#: Django's ``EmailValidator`` as ``AllowedEmailField`` uses it: a dotted domain, or
#: ``localhost`` (its domain allow-list; Sentry's tests invite ``eric@localhost``).
_EMAIL = re.compile(r"^[^@\s]+@(?:[^@\s]+\.[^@\s]+|localhost)$")

Result = tuple[int, Any, dict[str, str]]


def _digits(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` accepts ``"²"``, which ``int`` refuses)."""
    return text.isascii() and text.isdigit()


class Answer(Exception):
    def __init__(self, status: int, body: Any = NO_BODY, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def scim_error(status: int, detail: str) -> Answer:
    """``SCIMApiError``: the body reaches the wire flat (no ``"detail"`` wrapper)."""
    return Answer(status, {"schemas": [SCIM_ERROR], "detail": detail})


#: ``ParseError(detail=SCIM_400_INVALID_FILTER)``: DRF sends a dict detail as the body itself.
INVALID_FILTER = {"schemas": [SCIM_ERROR], "scimType": "invalidFilter"}


@dataclass
class Ctx:
    state: State
    request: Request
    args: dict[str, str]
    query: MultiDictProxy[str]
    token: Token
    org: Organization
    actor: Member | None
    scopes: frozenset[str]

    def has(self, *scopes: str) -> bool:
        return any(s in self.scopes for s in scopes)

    def require(self, *scopes: str) -> None:
        if not self.has(*scopes):
            raise Answer(403, PERMISSION_DENIED)

    def body(self) -> dict[str, Any]:
        raw = self.request.body or b""
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise Answer(400, {"detail": f"JSON parse error - {exc}"}) from None
        if not isinstance(data, dict):
            raise Answer(
                400,
                {
                    "non_field_errors": [
                        f"Invalid data. Expected a dictionary, but got {type(data).__name__}."
                    ]
                },
            )
        return data


# -- serializers (Sentry's documented shapes) --------------------------------


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


def allowed_roles(ctx: Ctx) -> list[str]:
    """``get_allowed_org_roles``: roles at or below the acting member's (§2)."""
    if ctx.actor is None:
        return []
    top = ORG_ROLES[ctx.actor.role].priority
    return [r.id for r in ORG_ROLES.values() if r.priority <= top]


def ser_member_detail(ctx: Ctx, m: Member) -> dict[str, Any]:
    data = ser_member(ctx.state, ctx.org, m)
    teams = ctx.org.teams
    active = [(teams[t], r) for t, r in m.teams.items() if teams[t].active]
    allowed = set(allowed_roles(ctx))
    data.update(
        {
            "teams": [t.slug for t, _ in active],
            "teamRoles": [
                {"teamSlug": t.slug, "role": r if ctx.org.team_roles else None} for t, r in active
            ],
            "isOnlyOwner": m.role == "owner" and owners(ctx.org) == 1,
            "orgRoleList": [
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
            ],
            "teamRoleList": [
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
            ],
        }
    )
    data["roles"] = data["orgRoleList"]  # deprecated alias (test_lists_organization_roles)
    return data


def effective_team_role(m: Member, team: Team) -> str | None:
    if team.id not in m.teams:
        return None
    explicit = m.teams[team.id]
    minimum = ORG_ROLES[m.role].minimum_team_role if m.role in ORG_ROLES else "contributor"
    if explicit is None:
        return minimum
    return max(explicit, minimum, key=lambda r: TEAM_ROLES[r].priority)


def member_count(org: Organization, team: Team) -> int:
    return sum(1 for m in org.members.values() if team.id in m.teams)


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


def owners(org: Organization) -> int:
    return sum(1 for m in org.members.values() if m.role == "owner" and not m.pending)


# -- pagination (§6) -----------------------------------------------------------


def per_page(ctx: Ctx, default: int = 100, maximum: int = 100) -> int:
    raw = ctx.query.get("per_page")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Answer(400, {"detail": "Invalid per_page parameter."}) from None
    if value < 0:
        raise Answer(400, {"detail": "Invalid per_page parameter."})
    if value > maximum:
        raise Answer(400, {"detail": f"Invalid per_page value. Cannot exceed {maximum}."})
    return value


def parse_cursor(raw: str | None) -> tuple[int, int, int]:
    if raw is None or raw == "":
        return 0, 0, 0
    bits = raw.split(":")
    try:
        if len(bits) != 3:
            raise ValueError(raw)
        value = float(bits[0]) if "." in bits[0] else int(bits[0])
        return int(value), int(bits[1]), int(bits[2])
    except (ValueError, TypeError, OverflowError):
        raise Answer(400, {"detail": "Invalid cursor parameter."}) from None


def link_header(ctx: Ctx, nxt: tuple[str, bool], prev: tuple[str, bool]) -> str:
    url = ctx.request.url
    base = str(url.with_query(None).with_fragment(None))
    query = urlencode([(k, v) for k, v in ctx.query.items() if k != "cursor"])
    uri = f"{base}?{query}"
    return ", ".join(
        f'<{uri}&cursor={cursor}>; rel="{name}"; results="{"true" if has else "false"}"; '
        f'cursor="{cursor}"'
        for name, (cursor, has) in (("previous", prev), ("next", nxt))
    )


def offset_paginate(ctx: Ctx, rows: Sequence[Any], serialize: Callable[[Any], Any]) -> Result:
    """Sentry's ``OffsetPaginator``: cursor ``{per_page}:{page}:{is_prev}``."""
    limit = per_page(ctx)
    value, page, _is_prev = parse_cursor(ctx.query.get("cursor"))
    if page < 0 or value < 0:
        raise Answer(400, {"detail": "Pagination offset cannot be negative"})
    offset = page * value
    stop = offset + (value or limit) + 1
    results = list(rows[offset:stop])
    if value != limit:
        results = results[-(limit + 1) :]
    nxt = (f"{limit}:{page + 1}:0", len(results) > limit)
    prev = (f"{limit}:{page - 1}:1", page > 0)
    body = [serialize(row) for row in results[:limit]]
    return 200, body, {"Link": link_header(ctx, nxt, prev)}


# -- tokenize_query (§1) -------------------------------------------------------


def tokenize_query(text: str) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for token in re.findall(r'(?:[^\s"]+|"[^"]*")+', text):
        if ":" in token:
            key, value = token.split(":", 1)
            value = value.strip('"')
            if key:
                result.setdefault(key, []).append(value)
                continue
        result.setdefault("query", []).append(token.strip('"'))
    return result


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


def filter_members(ctx: Ctx, rows: list[Member], query: str) -> list[Member]:
    state = ctx.state
    for key, values in tokenize_query(query).items():
        lowered = [v.lower() for v in values]
        if key == "email":
            rows = [m for m in rows if state.member_email(m).lower() in lowered]
        elif key == "id":
            rows = [m for m in rows if str(m.id) in values]
        elif key == "user.id":
            rows = [m for m in rows if m.user_id is not None and str(m.user_id) in values]
        elif key == "scope":
            rows = [
                m
                for m in rows
                if set(values) & set(ORG_ROLES.get(m.role, ORG_ROLES["member"]).scopes)
            ]
        elif key == "role":
            rows = [m for m in rows if m.role in values]
        elif key == "isInvited":
            want = "true" in lowered
            rows = [m for m in rows if (m.user_id is None) == want]
        elif key == "ssoLinked":
            want = "true" in lowered
            rows = [m for m in rows if m.flags["sso:linked"] == want]
        elif key == "has2fa":
            want = "true" in lowered
            rows = [
                m for m in rows if m.user_id is not None and state.users[m.user_id].has_2fa == want
            ]
        elif key == "hasExternalUsers":
            rows = [] if "true" in lowered else rows
        elif key == "query":
            needles = lowered

            def hit(m: Member, needles: list[str] = needles) -> bool:
                email = state.member_email(m).lower()
                user = state.users.get(m.user_id) if m.user_id is not None else None
                texts = [email] + ([user.name.lower(), user.username.lower()] if user else [])
                return any(n in t for n in needles for t in texts)

            rows = [m for m in rows if hit(m)]
        else:
            return []
    return rows


# -- members (§1, §2, §3) ------------------------------------------------------


def get_member(ctx: Ctx, raw: str) -> Member:
    if raw == "me":
        if ctx.actor is None:
            raise Answer(404, DOES_NOT_EXIST)
        return ctx.actor
    if not _digits(raw):
        raise Answer(404, DOES_NOT_EXIST)
    member = ctx.org.members.get(int(raw))
    if member is None or member.invite_status != "approved":
        raise Answer(404, DOES_NOT_EXIST)
    return member


def members_get(ctx: Ctx) -> Result:
    ctx.require("member:read", "member:write", "member:admin")
    rows = listed_members(ctx.state, ctx.org)
    query = ctx.query.get("query")
    if query:
        rows = filter_members(ctx, rows, query)
    return offset_paginate(ctx, rows, lambda m: ser_member(ctx.state, ctx.org, m))


def _team_list(ctx: Ctx, body: dict[str, Any], errors: dict[str, Any]) -> dict[int, str | None]:
    teams: dict[int, str | None] = {}
    if "teams" in body:
        raw = body["teams"]
        if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
            errors["teams"] = ["Invalid teams"]
        else:
            for slug in raw:
                team = ctx.org.team_by_slug(slug)
                if team is None:
                    errors["teams"] = ["Invalid teams"]
                    break
                teams[team.id] = None
    if "teamRoles" in body and body["teamRoles"] is not None:
        raw = body["teamRoles"]
        if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
            errors["teamRoles"] = ["Invalid teams"]
            return teams
        for item in raw:
            slug, role = item.get("teamSlug"), item.get("role")
            team = ctx.org.team_by_slug(slug) if isinstance(slug, str) else None
            if team is None:
                errors["teamRoles"] = ["Invalid teams"]
                break
            if role is not None and role not in TEAM_ROLES:
                errors["teamRoles"] = ["Invalid team-role"]
                break
            teams[team.id] = role
    return teams


#: ``for_organization_member_invite`` (src/sentry/ratelimits/utils.py, ``DEFAULT_CONFIG``):
#: invites per user or token, per organization and per e-mail in an organization,
#: each in a fixed 24 h window.
INVITE_QUOTAS = {"user": 100, "org": 100, "email": 10}
INVITE_QUOTA_WINDOW = 24 * 3600
ERR_RATE_LIMITED = "You are being rate limited for too many invitations."


def invite_quota(ctx: Ctx, email: str) -> None:
    """Count one invite against the daily quotas; 429 when any is exceeded.

    As in Sentry, every counter is bumped on every attempt (refused ones too:
    ``any()`` over a tuple that evaluated each ``is_limited``), and only when
    the organization has ``organizations:invite-members-rate-limits``.
    """
    org = ctx.org
    if not org.invite_rate_limits:
        return
    who = f"user:{ctx.token.user_id}" if ctx.token.user_id is not None else ctx.token.token
    window = int(ctx.state.now // INVITE_QUOTA_WINDOW)
    limited = False
    for key, limit in (
        (f"members:invite-by-user:{who}", INVITE_QUOTAS["user"]),
        (f"members:invite-by-org:{org.id}", INVITE_QUOTAS["org"]),
        (f"members:org-invite-to-email:{org.id}-{email.lower()}", INVITE_QUOTAS["email"]),
    ):
        start, count = ctx.state.invite_counters.get(key, (window, 0))
        count = count + 1 if start == window else 1
        ctx.state.invite_counters[key] = (window, count)
        limited = limited or count > limit
    if limited:
        raise Answer(429, {"detail": ERR_RATE_LIMITED})


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


_TRUE = {"t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1"}
_FALSE = {"f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0"}


def _boolean(value: Any) -> bool | None:
    """DRF's ``BooleanField``: ``True``/``False``, 1/0 and their usual spellings; else None.

    (Sentry's tests send ``reinvite=1``.)
    """
    if value is True or value is False:
        return bool(value)
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    return None


def _truthy(value: Any) -> bool:
    return _boolean(value) is True


def _role_choice(value: Any) -> bool:
    return isinstance(value, str) and value in ORG_ROLES


def members_post(ctx: Ctx) -> Result:
    ctx.require("member:write", "member:admin", "member:invite")
    org = ctx.org
    if not org.invite_members:
        raise Answer(403, {"organization": "Your organization is not allowed to invite members"})
    body = ctx.body()
    role_key = "role" if "role" in body and "orgRole" not in body else "orgRole"
    role = body.get("orgRole") or body.get("role") or "member"
    allowed = allowed_roles(ctx)
    if ctx.actor is None and role != "member":
        raise Answer(
            400,
            [
                "Integration tokens are restricted to inviting new members with the member "
                "role only."
            ],
        )
    errors: dict[str, Any] = {}
    email = body.get("email")
    if email is None or email == "":
        errors["email"] = ["This field is required."]
    elif not isinstance(email, str) or not _EMAIL.match(email):
        errors["email"] = ["Enter a valid email address."]
    elif len(email) > 75:
        errors["email"] = ["Ensure this field has no more than 75 characters."]
    else:
        conflict = reinvite_conflict(ctx, email)
        if conflict is not None:
            errors["email"] = [conflict]
    if not _role_choice(role):
        errors[role_key] = [f'"{role}" is not a valid choice.']
    elif ctx.actor is not None and role not in allowed:
        errors[role_key] = ["You do not have permission to set that org-level role"]
    elif org.team_roles and ORG_ROLES[role].is_retired:
        errors[role_key] = [f"The role '{role}' is deprecated and may no longer be assigned."]
    teams = _team_list(ctx, body, errors)
    if _boolean(body.get("sendInvite", True)) is None:
        errors["sendInvite"] = ["Must be a valid boolean."]
    if errors:
        raise Answer(400, errors)
    assert isinstance(email, str)
    invite_quota(ctx, email)
    if (
        teams
        and not ctx.has("member:admin")
        and ctx.has("member:invite")
        and not org.open_membership
        and ctx.actor is not None
        and any(t not in ctx.actor.teams for t in teams)
    ):
        raise Answer(400, {"detail": "You cannot assign members to teams you are not a member of."})
    if teams and not ORG_ROLES[role].is_team_roles_allowed:
        raise Answer(
            400, {"email": f"The user with a '{role}' role cannot have team-level permissions."}
        )
    # Invite and join *requests* for the address are replaced by the invite.
    for stale in [
        m
        for m in org.members.values()
        if m.invite_status != "approved" and (m.email or "").lower() == email.lower()
    ]:
        ctx.state.remove_member(org, stale)
    inviter = ctx.actor.user_id if ctx.actor is not None else None
    member = ctx.state.new_member(org, role, email=email, inviter_id=inviter)
    # §2: team *roles* are not applied on invite, only the membership.
    member.teams = dict.fromkeys(teams)
    return 201, ser_member(ctx.state, org, member), {}


def member_get(ctx: Ctx) -> Result:
    ctx.require("member:read", "member:write", "member:admin")
    member = get_member(ctx, ctx.args["member_id"])
    return 200, ser_member_detail(ctx, member), {}


def member_put(ctx: Ctx) -> Result:
    ctx.require("member:invite", "member:write", "member:admin")
    org = ctx.org
    member = get_member(ctx, ctx.args["member_id"])
    if member.flags["partnership:restricted"]:
        raise Answer(
            403,
            {
                "detail": "This member is managed by an active partnership and cannot be "
                "modified until the end of the partnership."
            },
        )
    body = ctx.body()
    errors: dict[str, Any] = {}
    role_key = "role" if "role" in body and "orgRole" not in body else "orgRole"
    role = body.get("orgRole") or body.get("role")
    if role is not None and not _role_choice(role):
        errors[role_key] = [f'"{role}" is not a valid choice.']
    for flag in ("reinvite", "regenerate"):
        if flag in body and _boolean(body[flag]) is None:
            errors[flag] = ["Must be a valid boolean."]
    teams = _team_list(ctx, body, errors)
    if errors:
        raise Answer(400, errors)
    can_manage = ctx.has("member:invite", "member:admin")
    if ctx.actor is not None and not ctx.has("member:admin"):
        # A member (``member:invite`` at most) may only resend invites they sent
        # (test_member_reinvite_pending_member, test_member_can_only_reinvite).
        if (
            not _truthy(body.get("reinvite"))
            or set(body) - {"reinvite", "regenerate"}
            or not member.pending
            or org.disable_member_invite
            or not ctx.has("member:invite")
        ):
            raise Answer(403, PERMISSION_DENIED)
        if member.inviter_id != ctx.actor.user_id:
            raise Answer(403, {"detail": "You cannot modify invitations sent by someone else."})
    if _truthy(body.get("reinvite")):
        if set(body) - {"reinvite", "regenerate"}:
            raise Answer(
                403,
                {
                    "detail": "You cannot modify member details when resending an invitation. "
                    "Separate requests are required."
                },
            )
        if member.pending:
            if (
                not ctx.has("member:admin")
                and (ctx.actor is None or member.inviter_id != ctx.actor.user_id)
                and not can_manage
            ):
                raise Answer(403, PERMISSION_DENIED)
            if _truthy(body.get("regenerate")):
                if not ctx.has("member:admin"):
                    raise Answer(400, {"detail": "You are missing the member:admin scope."})
                member.token_expired = False
            elif member.token_expired:
                raise Answer(
                    400,
                    {
                        "detail": "You cannot resend an expired invitation without "
                        "regenerating the token."
                    },
                )
            invite_quota(ctx, ctx.state.member_email(member))
            return 200, ser_member_detail(ctx, member), {}
        if org.scim_enabled and not member.flags["sso:linked"]:
            return 200, ser_member_detail(ctx, member), {}
        raise Answer(
            400, {"detail": "You cannot send an invitation to a user who is already a full member."}
        )
    if not can_manage:
        raise Answer(403, PERMISSION_DENIED)
    new_role = role or member.role
    if role is not None and role != member.role:
        if ctx.actor is None:
            # An integration token has no member row, so no role to assign from
            # (test_with_internal_integration: 400).
            raise Answer(400, {role_key: ["You do not have permission to set that org-level role"]})
        if role not in allowed_roles(ctx):
            raise Answer(403, {"role": "You do not have permission to assign the given role."})
        if ctx.actor is not None and (
            ORG_ROLES[member.role].priority > ORG_ROLES[ctx.actor.role].priority
        ):
            raise Answer(
                403, {"role": "You do not have permission to assign a role to the given user."}
            )
        if ctx.actor is not None and member.id == ctx.actor.id:
            raise Answer(400, {"detail": "You cannot make changes to your own role."})
        if org.team_roles and ORG_ROLES[role].is_retired:
            raise Answer(
                400, {"detail": f"The role '{role}' is deprecated and may no longer be assigned."}
            )
    if ("teamRoles" in body or "teams" in body) and not ORG_ROLES[new_role].is_team_roles_allowed:
        raise Answer(
            400,
            {"detail": f"The user with a '{new_role}' role cannot have team-level permissions."},
        )
    if "teamRoles" in body or "teams" in body:
        member.teams = {t: (r if org.team_roles else None) for t, r in teams.items()}
    if role is not None and role != member.role:
        member.role = role
        minimum = TEAM_ROLES[ORG_ROLES[role].minimum_team_role].priority
        for team_id, team_role in list(member.teams.items()):
            if team_role is not None and TEAM_ROLES[team_role].priority <= minimum:
                member.teams[team_id] = None
    org.version += 1
    return 200, ser_member_detail(ctx, member), {}


def member_delete(ctx: Ctx) -> Result:
    ctx.require("member:read", "member:write", "member:admin")
    org = ctx.org
    member = get_member(ctx, ctx.args["member_id"])
    missing_admin = {"detail": "You are missing the member:admin scope."}
    is_self = ctx.actor is not None and ctx.actor.id == member.id
    if not is_self:
        if ctx.actor is None and not ctx.has("member:admin"):
            raise Answer(400, missing_admin)
        if not ctx.has("member:admin"):
            if ctx.has("member:invite") and org.invite_members:
                if not member.pending:
                    raise Answer(400, missing_admin)
                if ctx.actor is None or member.inviter_id != ctx.actor.user_id:
                    raise Answer(
                        400, {"detail": "You cannot modify invitations sent by someone else."}
                    )
            else:
                raise Answer(400, missing_admin)
        elif ctx.actor is not None and (
            ORG_ROLES[member.role].priority > ORG_ROLES[ctx.actor.role].priority
        ):
            raise Answer(
                400, {"detail": "You cannot remove a member who has more access than you."}
            )
    if member.role == "owner" and not member.pending and owners(org) <= 1:
        raise Answer(
            403, {"detail": "You cannot remove the only remaining owner of the organization."}
        )
    if member.flags["idp:provisioned"]:
        raise Answer(
            403, {"detail": "This user is managed through your organization's identity provider."}
        )
    if member.flags["partnership:restricted"]:
        raise Answer(
            403,
            {
                "detail": "This member is managed by an active partnership and cannot be "
                "modified until the end of the partnership."
            },
        )
    ctx.state.remove_member(org, member)
    return 204, NO_BODY, {}


# -- member teams (§4) ---------------------------------------------------------


def get_team(ctx: Ctx, raw: str) -> Team:
    org = ctx.org
    team: Team | None
    if _digits(raw):
        team = org.teams.get(int(raw))
        if team is not None and not team.active:
            team = None
    else:
        team = org.team_by_slug(raw)
    if team is None:
        raise Answer(404, DOES_NOT_EXIST)
    return team


def is_team_admin(ctx: Ctx, team: Team) -> bool:
    if ctx.actor is None:
        return ctx.has("team:admin", "team:write")
    if ORG_ROLES[ctx.actor.role].is_global and "team:admin" in ORG_ROLES[ctx.actor.role].scopes:
        return True
    return effective_team_role(ctx.actor, team) == "admin"


_MEMBER_TEAM_SCOPES = (
    "org:read", "org:write", "org:admin", "member:read", "member:write", "member:admin",
)  # fmt: skip


def member_team_get(ctx: Ctx) -> Result:
    ctx.require(*_MEMBER_TEAM_SCOPES)
    member = get_member(ctx, ctx.args["member_id"])
    team = get_team(ctx, ctx.args["team"])
    if team.id not in member.teams:
        raise Answer(404, DOES_NOT_EXIST)
    return 200, {"isActive": True, "teamRole": effective_team_role(member, team)}, {}


def member_team_post(ctx: Ctx) -> Result:
    ctx.require(*_MEMBER_TEAM_SCOPES)
    member = get_member(ctx, ctx.args["member_id"])
    team = get_team(ctx, ctx.args["team"])
    if team.id in member.teams:
        return 204, NO_BODY, {}
    if team.idp_provisioned:
        raise Answer(
            403, {"detail": "This team is managed through your organization's identity provider."}
        )
    global_access = ctx.org.open_membership or ctx.has("org:write")
    if not global_access and not is_team_admin(ctx, team):
        return 202, NO_BODY, {}
    member.teams[team.id] = None
    ctx.org.version += 1
    return 201, ser_team(ctx, team, viewer=member), {}


def member_team_put(ctx: Ctx) -> Result:
    ctx.require(*_MEMBER_TEAM_SCOPES)
    member = get_member(ctx, ctx.args["member_id"])
    team = get_team(ctx, ctx.args["team"])
    if team.id not in member.teams:
        raise Answer(404, DOES_NOT_EXIST)
    body = ctx.body()
    role = body.get("teamRole")
    if role is not None and role not in TEAM_ROLES:
        raise Answer(400, NO_BODY)
    if not is_team_admin(ctx, team):
        raise Answer(400, {"detail": "You do not have permission to edit that user's membership."})
    if role is not None and ctx.org.team_roles:
        minimum = ORG_ROLES[member.role].minimum_team_role
        stored = None if TEAM_ROLES[role].priority <= TEAM_ROLES[minimum].priority else role
        member.teams[team.id] = stored
        ctx.org.version += 1
    return 200, {"isActive": True, "teamRole": effective_team_role(member, team)}, {}


def member_team_delete(ctx: Ctx) -> Result:
    ctx.require(*_MEMBER_TEAM_SCOPES)
    member = get_member(ctx, ctx.args["member_id"])
    team = get_team(ctx, ctx.args["team"])
    is_self = ctx.actor is not None and ctx.actor.id == member.id
    if not is_self and not is_team_admin(ctx, team):
        raise Answer(400, {"detail": "You do not have permission to edit that user's membership."})
    if team.idp_provisioned:
        raise Answer(
            403, {"detail": "This team is managed through your organization's identity provider."}
        )
    if member.teams.pop(team.id, "absent") != "absent":
        ctx.org.version += 1
    return 200, ser_team(ctx, team, viewer=member), {}


# -- teams (§5) ----------------------------------------------------------------


def teams_get(ctx: Ctx) -> Result:
    ctx.require("org:read", "org:write", "org:admin")
    rows = ctx.org.active_teams()
    query = ctx.query.get("query")
    if query:
        for key, values in tokenize_query(query).items():
            if key == "slug":
                rows = [t for t in rows if t.slug in values]
            elif key == "id":
                if not all(_digits(v) for v in values):
                    raise Answer(400, {"detail": "Invalid id value"})
                rows = [t for t in rows if str(t.id) in values]
            elif key == "hasExternalTeams":
                rows = [] if "true" in values else rows
            elif key == "query":
                rows = [
                    t
                    for t in rows
                    if any(v.lower() in t.slug or v.lower() in t.name.lower() for v in values)
                ]
            else:
                rows = []
    detailed = ctx.query.get("detailed", "1") != "0"
    return offset_paginate(ctx, rows, lambda t: ser_team(ctx, t, detailed=detailed))


def _check_slug(slug: Any, errors: dict[str, Any]) -> None:
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        errors["slug"] = [SLUG_ERROR]
    elif len(slug) > SLUG_MAX:
        errors["slug"] = [f"Ensure this field has no more than {SLUG_MAX} characters."]


def teams_post(ctx: Ctx) -> Result:
    ctx.require("org:write", "org:admin", "team:write")
    body = ctx.body()
    slug, name = body.get("slug"), body.get("name")
    if not slug and not name:
        raise Answer(400, {"non_field_errors": ["Name or slug is required"]})
    errors: dict[str, Any] = {}
    if slug:
        _check_slug(slug, errors)
    if name is not None and (not isinstance(name, str) or len(name) > 64):
        errors["name"] = ["Ensure this field has no more than 64 characters."]
    if errors:
        raise Answer(400, errors)
    if not slug:
        base = slugify(str(name))[:SLUG_MAX] or "team"
        slug, n = base, 1
        if _digits(base):
            # Sentry's slugify_instance: a generated slug is never entirely numeric
            # (test_generated_slug_not_entirely_numeric).
            base = slug = f"{base[: SLUG_MAX - 7]}-{ctx.state.tick().microsecond ^ 0xA5A5A5:06x}"
        while ctx.org.team_by_slug(slug) is not None:
            n += 1
            slug = f"{base[: SLUG_MAX - len(str(n)) - 1]}-{n}"
    if ctx.org.team_by_slug(slug) is not None:
        raise Answer(409, {"non_field_errors": [CONFLICTING_SLUG], "detail": CONFLICTING_SLUG})
    team = ctx.state.new_team(ctx.org, slug, name or slug)
    team.idp_provisioned = _truthy(body.get("idp_provisioned", False))
    if ctx.actor is not None:
        ctx.actor.teams[team.id] = "admin" if ctx.org.team_roles else None
    return 201, ser_team(ctx, team), {}


_TEAM_SCOPES = {
    "GET": ("team:read", "team:write", "team:admin"),
    "PUT": ("team:write", "team:admin"),
    "DELETE": ("team:admin",),
}
IDP_TEAM = {"detail": "This team is managed through your organization's identity provider."}


def team_get(ctx: Ctx) -> Result:
    ctx.require(*_TEAM_SCOPES["GET"])
    return 200, ser_team(ctx, get_team(ctx, ctx.args["team"]), detailed=True), {}


def require_team_scope(ctx: Ctx, team: Team, scopes: Sequence[str]) -> None:
    """Sentry's ``TeamPermission`` / ``access.has_team_scope``: the org role's scopes
    count on a team the member can reach (global role, open membership, or on the
    team); the team role's scopes count on the member's own team
    (test_team_details.py: test_member_with_team_role, test_admin_without_team_membership)."""
    actor = ctx.actor
    if actor is None:
        ctx.require(*scopes)
        return
    reach = ORG_ROLES[actor.role].is_global or ctx.org.open_membership or team.id in actor.teams
    if reach and ctx.has(*scopes):
        return
    team_role = effective_team_role(actor, team)
    if team_role is not None and any(
        s in TEAM_ROLES[team_role].scopes and s in ctx.token.scopes for s in scopes
    ):
        return
    raise Answer(403, PERMISSION_DENIED)


def team_put(ctx: Ctx) -> Result:
    team = get_team(ctx, ctx.args["team"])
    require_team_scope(ctx, team, _TEAM_SCOPES["PUT"])
    if team.idp_provisioned:
        raise Answer(403, IDP_TEAM)
    body = ctx.body()
    errors: dict[str, Any] = {}
    slug = body.get("slug")
    if slug is not None:
        _check_slug(slug, errors)
        if not errors and slug != team.slug and ctx.org.team_by_slug(slug) is not None:
            errors["slug"] = [f'The slug "{slug}" is already in use.']
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 64):
        errors["name"] = ["Ensure this field has no more than 64 characters."]
    if errors:
        raise Answer(400, errors)
    if slug is not None:
        team.slug = slug
    if name is not None:
        team.name = name
    return 200, ser_team(ctx, team, detailed=True), {}


def team_delete(ctx: Ctx) -> Result:
    team = get_team(ctx, ctx.args["team"])
    require_team_scope(ctx, team, _TEAM_SCOPES["DELETE"])
    if team.idp_provisioned:
        raise Answer(403, IDP_TEAM)
    _delete_team(ctx.org, team)
    return 204, NO_BODY, {}


def _delete_team(org: Organization, team: Team) -> None:
    team.active = False
    team.slug = f"{team.slug}-{team.id:032x}"[:SLUG_MAX]
    org.version += 1


def team_members_get(ctx: Ctx) -> Result:
    ctx.require(*_TEAM_SCOPES["GET"])
    team = get_team(ctx, ctx.args["team"])
    state = ctx.state
    # Pending invites are not listed here (newer Sentry; the OpenAPI's user is not nullable).
    rows = [m for m in listed_members(state, ctx.org) if team.id in m.teams and not m.pending]
    rows.sort(key=lambda m: (state.member_email(m), m.id))

    def serialize(m: Member) -> dict[str, Any]:
        data = ser_member(state, ctx.org, m)
        data["teamRole"] = effective_team_role(m, team)
        data["teamSlug"] = team.slug
        return data

    return offset_paginate(ctx, rows, serialize)


# -- SCIM (§8) -----------------------------------------------------------------


def scim_require(ctx: Ctx, scopes: Sequence[str]) -> None:
    if not ctx.org.scim_enabled:
        raise Answer(403, PERMISSION_DENIED)
    ctx.require(*scopes)


def scim_page(ctx: Ctx) -> tuple[int, int]:
    errors: dict[str, list[str]] = {}
    values: dict[str, int] = {}
    for name, default, minimum in (("startIndex", 1, 1), ("count", 100, 0)):
        raw = ctx.query.get(name)
        if raw is None:
            values[name] = default
            continue
        try:
            values[name] = int(raw)
        except ValueError:
            errors[name] = ["A valid integer is required."]
            continue
        if values[name] < minimum:
            errors[name] = [f"Ensure this value is greater than or equal to {minimum}."]
    if errors:
        raise Answer(400, errors)
    return values["startIndex"], values["count"]


def scim_filter(ctx: Ctx) -> str | None:
    raw = ctx.query.get("filter")
    if raw is None:
        return None
    invalid = Answer(400, INVALID_FILTER)
    parts = raw.split(" eq ")
    if len(parts) != 2 or "," in raw:
        raise invalid
    key, value = parts[0].strip(), parts[1].strip()
    if key not in ("userName", "value", "displayName") or len(value) < 2:
        raise invalid
    if value[0] != '"' or value[-1] != '"':
        raise invalid
    value = value[1:-1]
    if " and " in value.lower() or " or " in value.lower() or '"' in value:
        raise invalid
    if key == "value" and not _digits(value):
        raise invalid
    return value


def scim_list(ctx: Ctx, rows: Sequence[Any], serialize: Callable[[Any], Any]) -> Result:
    start, count = scim_page(ctx)
    page = rows[start - 1 : start - 1 + count]
    return (
        200,
        {
            "schemas": [SCIM_LIST],
            "totalResults": len(rows),
            "startIndex": start,
            "itemsPerPage": len(page),
            "Resources": [serialize(r) for r in page],
        },
        {},
    )


def ser_scim_user(ctx: Ctx, m: Member) -> dict[str, Any]:
    email = ctx.state.member_email(m)
    data: dict[str, Any] = {
        "schemas": [SCIM_USER],
        "id": str(m.id),
        "userName": email,
        "emails": [{"primary": True, "value": email, "type": "work"}],
        "name": {"familyName": "N/A", "givenName": "N/A"},
        "active": True,
        "meta": {"resourceType": "User"},
        "sentryOrgRole": m.role,
    }
    if ctx.org.scim_provider == "azure":
        del data["active"]
    return data


def scim_users_get(ctx: Ctx) -> Result:
    scim_require(ctx, ("member:read", "member:write", "member:admin"))
    wanted = scim_filter(ctx)
    state = ctx.state
    rows = listed_members(state, ctx.org)
    if wanted is not None:
        rows = [m for m in rows if state.member_email(m).lower() == wanted.lower()]
    # ``order_by("email", "id")`` on the member row: accepted members have no
    # e-mail there (NULL sorts last), so invites come first
    # (test_get_members_no_filter__invited).
    rows = sorted(rows, key=lambda m: (m.email is None, m.email or "", m.id))
    return scim_list(ctx, rows, lambda m: ser_scim_user(ctx, m))


_SCIM_ROLES = ("billing", "member", "admin", "manager")


def scim_users_post(ctx: Ctx) -> Result:
    scim_require(ctx, ("member:write", "member:admin"))
    body = ctx.body()
    email = body.get("userName")
    if not isinstance(email, str) or not _EMAIL.match(email):
        raise Answer(400, {"userName": ["Enter a valid email address."]})
    raw_role = body.get("sentryOrgRole")
    role = raw_role.lower() if isinstance(raw_role, str) and raw_role else None
    if role is not None and role not in _SCIM_ROLES:
        raise scim_error(400, "Invalid organization role.")
    existing = ctx.state.member_by_email(ctx.org, email)
    if existing is not None and existing.invite_status == "approved":
        raise scim_error(409, "User already exists in the database.")
    if existing is not None:
        # An invite request for the address becomes the invite, its token renewed
        # (test_post_users_successful_existing_invite).
        existing.invite_status = "approved"
        existing.token_expired = False
        existing.role = role or existing.role
        ctx.org.version += 1
        return 201, ser_scim_user(ctx, existing), {}
    member = ctx.state.new_member(ctx.org, role or "member", email=email)
    member.flags["idp:provisioned"] = True
    member.flags["idp:role-restricted"] = role is not None
    return 201, ser_scim_user(ctx, member), {}


def scim_member(ctx: Ctx) -> Member:
    raw = ctx.args["member_id"]
    member = ctx.org.members.get(int(raw)) if _digits(raw) else None
    if member is None or member.invite_status != "approved":
        raise scim_error(404, "The requested resource does not exist")
    return member


def scim_user_get(ctx: Ctx) -> Result:
    scim_require(ctx, ("member:read", "member:write", "member:admin"))
    return 200, ser_scim_user(ctx, scim_member(ctx)), {}


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def _scim_remove(ctx: Ctx, member: Member) -> Result:
    if member.role == "owner" and not member.pending and owners(ctx.org) <= 1:
        raise Answer(
            403, {"detail": "You cannot remove the only remaining owner of the organization."}
        )
    ctx.state.remove_member(ctx.org, member)
    return 204, NO_BODY, {}


def scim_user_patch(ctx: Ctx) -> Result:
    scim_require(ctx, ("member:write", "member:admin"))
    member = scim_member(ctx)
    body = ctx.body()
    ops = body.get("Operations")
    if not isinstance(ops, list) or not ops:
        raise Answer(400, {"Operations": ["This field is required."]})
    if len(ops) > 100:
        # The Users PATCH serializer's own limit (test_member_detail_patch_too_many_ops);
        # Groups answer "Too many patch ops sent, limit is 100."
        detail = json.dumps(
            {"Operations": ["Ensure this field has no more than 100 elements."]},
            separators=(",", ":"),
        )
        raise scim_error(400, detail)
    for op in ops:
        if not isinstance(op, dict) or str(op.get("op", "")).lower() != "replace":
            detail = json.dumps({"Operations": [{"op": ['"invalid" is not a valid choice.']}]})
            raise scim_error(400, detail)
    if member.flags["partnership:restricted"]:
        raise Answer(
            403,
            {
                "detail": "This member is managed by an active partnership and cannot be "
                "modified until the end of the partnership."
            },
        )
    for op in ops:
        value, path = op.get("value"), op.get("path")
        deactivate = (path == "active" and _is_false(value)) or (
            path is None and isinstance(value, dict) and _is_false(value.get("active"))
        )
        if not deactivate:
            raise scim_error(400, "Invalid Patch Operation.")
    return _scim_remove(ctx, member)


def scim_user_put(ctx: Ctx) -> Result:
    """Role sync (Sentry's ``SCIMMemberRoleUpdateTests``): ``sentryOrgRole`` set makes
    the role IdP-managed (``idp:role-restricted``); blank hands it back (a
    restricted member returns to the default role; an unrestricted one keeps
    theirs). Owners are never changed, only flagged as provisioned."""
    scim_require(ctx, ("member:write", "member:admin"))
    member = scim_member(ctx)
    body = ctx.body()
    raw = body.get("sentryOrgRole")
    role = raw.lower() if isinstance(raw, str) and raw else None
    if role is not None and role not in _SCIM_ROLES:
        raise scim_error(400, "Invalid organization role.")
    if member.flags["partnership:restricted"]:
        raise Answer(
            403,
            {
                "detail": "This member is managed by an active partnership and cannot be "
                "modified until the end of the partnership."
            },
        )
    flags = member.flags
    if member.role == "owner":
        flags["idp:provisioned"] = True
        flags["idp:role-restricted"] = False
    elif role is not None:
        member.role = role
        flags["idp:role-restricted"] = True
    elif flags["idp:role-restricted"]:
        member.role = "member"
        flags["idp:role-restricted"] = False
    ctx.org.version += 1
    return 200, ser_scim_user(ctx, member), {}


def scim_user_delete(ctx: Ctx) -> Result:
    scim_require(ctx, ("member:admin",))
    member = scim_member(ctx)
    if member.flags["partnership:restricted"]:
        raise Answer(
            403,
            {
                "detail": "This member is managed by an active partnership and cannot be "
                "modified until the end of the partnership."
            },
        )
    return _scim_remove(ctx, member)


def ser_scim_group(ctx: Ctx, team: Team, *, members: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schemas": [SCIM_GROUP],
        "id": str(team.id),
        # Sentry's SCIM team tests (test_scim_team_index.py): the team *name*;
        # older versions sent the slug (``scim_group_display_slug``).
        "displayName": team.slug if ctx.org.scim_group_display_slug else team.name,
        "meta": {"resourceType": "Group"},
    }
    if members:
        rows = sorted(
            (m for m in ctx.org.members.values() if team.id in m.teams), key=lambda m: m.id
        )[:10000]
        data["members"] = [{"value": str(m.id), "display": ctx.state.member_email(m)} for m in rows]
    return data


def _members_excluded(ctx: Ctx) -> bool:
    return "members" in ",".join(ctx.query.getall("excludedAttributes", [])).split(",")


def scim_groups_get(ctx: Ctx) -> Result:
    scim_require(ctx, ("team:read", "team:write", "team:admin"))
    wanted = scim_filter(ctx)
    rows = ctx.org.active_teams()
    if wanted is not None:
        slug = slugify(wanted)
        rows = [t for t in rows if t.slug.lower() == slug]
    exclude = _members_excluded(ctx)
    return scim_list(ctx, rows, lambda t: ser_scim_group(ctx, t, members=not exclude))


def scim_groups_post(ctx: Ctx) -> Result:
    scim_require(ctx, ("team:write", "team:admin"))
    body = ctx.body()
    name = body.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise Answer(400, {"displayName": ["This field is required."]})
    slug = slugify(name)[:SLUG_MAX]
    if not slug or not SLUG_RE.match(slug):
        raise Answer(400, {"slug": [SLUG_ERROR]})
    if ctx.org.team_by_slug(slug) is not None:
        raise Answer(409, {"non_field_errors": [CONFLICTING_SLUG], "detail": CONFLICTING_SLUG})
    team = ctx.state.new_team(ctx.org, slug, name)
    team.idp_provisioned = True
    return 201, ser_scim_group(ctx, team), {}


def scim_team(ctx: Ctx) -> Team:
    raw = ctx.args["team"]
    team: Team | None
    if _digits(raw):
        team = ctx.org.teams.get(int(raw))
        team = team if team is not None and team.active else None
    else:
        team = ctx.org.team_by_slug(raw)
    if team is None:
        raise scim_error(404, "Group not found.")
    return team


def scim_group_get(ctx: Ctx) -> Result:
    scim_require(ctx, ("team:read", "team:write", "team:admin"))
    team = scim_team(ctx)
    return 200, ser_scim_group(ctx, team, members=not _members_excluded(ctx)), {}


_REMOVE_PATH = re.compile(r'^members\[value eq "(\d+)"\]$')


def scim_group_patch(ctx: Ctx) -> Result:
    scim_require(ctx, ("team:write", "team:admin"))
    team = scim_team(ctx)
    body = ctx.body()
    if "schemas" not in body:
        raise Answer(400, {"schemas": ["This field is required."]})
    ops = body.get("Operations")
    if not isinstance(ops, list):
        raise Answer(400, {"Operations": ["This field is required."]})
    if len(ops) > 100:
        raise scim_error(400, "Too many patch ops sent, limit is 100.")
    org = ctx.org
    invalid_filter = Answer(400, INVALID_FILTER)
    for op in ops:
        kind = str(op.get("op", "")).lower() if isinstance(op, dict) else ""
        if kind not in ("add", "remove", "replace"):
            # The PATCH serializer's choice error, JSON-encoded in the SCIM detail
            # (test_scim_team_details_invalid_patch_op).
            name = op.get("op") if isinstance(op, dict) else op
            detail = json.dumps({"Operations": [{"op": [f'"{name}" is not a valid choice.']}]})
            raise scim_error(400, detail)

    def lookup(value: Any) -> Member:
        raw = str(value.get("value") if isinstance(value, dict) else value)
        member = org.members.get(int(raw)) if _digits(raw) else None
        if member is None:
            raise scim_error(404, "User not found.")
        return member

    # All operations apply together or not at all: plan first, then apply.
    plan: list[Callable[[], None]] = []
    new_name: str | None = None
    for op in ops:
        kind = str(op.get("op", "")).lower() if isinstance(op, dict) else ""
        path, value = (op.get("path"), op.get("value")) if isinstance(op, dict) else (None, None)
        if kind == "add" and path == "members" and isinstance(value, list):
            plan.extend(_joiner(m, team) for m in [lookup(v) for v in value])
        elif kind == "remove" and isinstance(path, str) and path.startswith("members"):
            if path == "members" and isinstance(value, list):
                targets = [lookup(v) for v in value]
            else:
                match = _REMOVE_PATH.match(path)
                if not match:
                    raise invalid_filter
                targets = [lookup(match.group(1))]
            plan.extend(_leaver(m, team) for m in targets)
        elif kind == "replace" and path == "members" and isinstance(value, list):
            keep = {m.id for m in (lookup(v) for v in value)}

            def replace(keep: set[int] = keep) -> None:
                for m in org.members.values():
                    if m.id in keep:
                        m.teams.setdefault(team.id, None)
                    else:
                        m.teams.pop(team.id, None)

            plan.append(replace)
        elif (
            kind == "replace"
            and path is None
            and isinstance(value, dict)
            and "displayName" in value
        ):
            new_name = str(value["displayName"])
        elif kind == "replace" and path == "displayName" and isinstance(value, str):
            new_name = value
        elif kind == "replace":
            raise scim_error(400, "Invalid Replace attr. Only displayName and members supported.")
        else:
            raise scim_error(400, "Invalid Patch Operation.")
    if new_name is not None:
        slug = slugify(new_name)[:SLUG_MAX]
        if not slug or not SLUG_RE.match(slug):
            raise Answer(400, {"slug": [SLUG_ERROR]})
        other = org.team_by_slug(slug)
        if other is not None and other.id != team.id:
            raise scim_error(400, "Database Integrity Error.")
    for step in plan:
        step()
    if new_name is not None:
        team.name, team.slug = new_name, slugify(new_name)[:SLUG_MAX]
    team.idp_provisioned = True
    org.version += 1
    return 204, NO_BODY, {}


def _joiner(member: Member, team: Team) -> Callable[[], None]:
    def join() -> None:
        member.teams.setdefault(team.id, None)

    return join


def _leaver(member: Member, team: Team) -> Callable[[], None]:
    def leave() -> None:
        member.teams.pop(team.id, None)

    return leave


def scim_group_put(ctx: Ctx) -> Result:
    """Groups have no PUT in Sentry's scope map: permission denied (test_scim_team_details)."""
    scim_require(ctx, ("team:read", "team:write", "team:admin"))
    raise Answer(403, PERMISSION_DENIED)


_SCHEMA_READ = ("member:read", "member:write", "member:admin", "team:read", "team:write")


def _schema_doc(ctx: Ctx, schema: dict[str, Any]) -> dict[str, Any]:
    location = (
        f"{ctx.request.url.origin()}/api/0/organizations/{ctx.org.slug}/scim/v2/Schemas/"
        f"{schema['id']}"
    )
    return {
        "schemas": [SCIM_SCHEMA],
        "id": schema["id"],
        "name": schema["name"],
        "description": schema["description"],
        "attributes": schema["attributes"],
        "meta": {"resourceType": "Schema", "location": location},
    }


def scim_schemas_get(ctx: Ctx) -> Result:
    """``OrganizationSCIMSchemaIndex`` (src/sentry/core/endpoints/scim/schemas.py):
    the User and Group schemas as a ListResponse; paging parameters are ignored."""
    scim_require(ctx, _SCHEMA_READ)
    if "filter" in ctx.query:
        raise Answer(400, INVALID_FILTER)
    docs = [_schema_doc(ctx, s) for s in SCIM_SCHEMA_LIST]
    body = {
        "schemas": [SCIM_LIST],
        "totalResults": len(docs),
        "startIndex": 1,
        "itemsPerPage": len(docs),
        "Resources": docs,
    }
    return 200, body, {}


def scim_schema_get(ctx: Ctx) -> Result:
    scim_require(ctx, _SCHEMA_READ)
    for schema in SCIM_SCHEMA_LIST:
        if schema["id"] == ctx.args["schema"]:
            return 200, _schema_doc(ctx, schema), {}
    raise scim_error(404, "Schema not found.")


def scim_group_delete(ctx: Ctx) -> Result:
    scim_require(ctx, ("team:admin",))
    _delete_team(ctx.org, scim_team(ctx))
    return 204, NO_BODY, {}


# -- routing and authentication (§9) ---------------------------------------------

_O = r"(?P<org>[^/]+)"
ROUTES: list[tuple[re.Pattern[str], dict[str, Callable[[Ctx], Result]]]] = [
    (
        re.compile(rf"^/api/0/organizations/{_O}/members/$"),
        {"GET": members_get, "POST": members_post},
    ),
    (
        re.compile(rf"^/api/0/organizations/{_O}/members/(?P<member_id>[^/]+)/$"),
        {"GET": member_get, "PUT": member_put, "DELETE": member_delete},
    ),
    (
        re.compile(
            rf"^/api/0/organizations/{_O}/members/(?P<member_id>[^/]+)/teams/(?P<team>[^/]+)/$"
        ),
        {
            "GET": member_team_get,
            "POST": member_team_post,
            "PUT": member_team_put,
            "DELETE": member_team_delete,
        },
    ),
    (
        re.compile(rf"^/api/0/organizations/{_O}/teams/$"),
        {"GET": teams_get, "POST": teams_post},
    ),
    (
        re.compile(rf"^/api/0/teams/{_O}/(?P<team>[^/]+)/$"),
        {"GET": team_get, "PUT": team_put, "DELETE": team_delete},
    ),
    (
        re.compile(rf"^/api/0/teams/{_O}/(?P<team>[^/]+)/members/$"),
        {"GET": team_members_get},
    ),
    (
        re.compile(rf"^/api/0/organizations/{_O}/scim/v2/Users/?$"),
        {"GET": scim_users_get, "POST": scim_users_post},
    ),
    (
        re.compile(rf"^/api/0/organizations/{_O}/scim/v2/Users/(?P<member_id>[^/]+)/?$"),
        {
            "GET": scim_user_get,
            "PUT": scim_user_put,
            "PATCH": scim_user_patch,
            "DELETE": scim_user_delete,
        },
    ),
    (
        re.compile(rf"^/api/0/organizations/{_O}/scim/v2/Groups/?$"),
        {"GET": scim_groups_get, "POST": scim_groups_post},
    ),
    (
        re.compile(rf"^/api/0/organizations/{_O}/scim/v2/Groups/(?P<team>[^/]+)/?$"),
        {
            "GET": scim_group_get,
            "PUT": scim_group_put,
            "PATCH": scim_group_patch,
            "DELETE": scim_group_delete,
        },
    ),
    (
        re.compile(rf"^/api/0/organizations/{_O}/scim/v2/Schemas/?$"),
        {"GET": scim_schemas_get},
    ),
    (
        re.compile(rf"^/api/0/organizations/{_O}/scim/v2/Schemas/(?P<schema>[^/]+)/?$"),
        {"GET": scim_schema_get},
    ),
]


def authenticate(state: State, header: str | None) -> Token:
    if not header:
        raise Answer(401, {"detail": "Authentication credentials were not provided."}, WWW_AUTH)
    parts = header.split()
    if not parts or parts[0].lower() != "bearer":
        raise Answer(401, {"detail": "Authentication credentials were not provided."}, WWW_AUTH)
    if len(parts) == 1:
        raise Answer(401, {"detail": "Invalid token header. No credentials provided."}, WWW_AUTH)
    if len(parts) > 2:
        raise Answer(
            401,
            {"detail": "Invalid token header. Token string should not contain spaces."},
            WWW_AUTH,
        )
    token = state.tokens.get(parts[1])
    if token is None:
        raise Answer(401, {"detail": "Invalid token"}, WWW_AUTH)
    if token.expired:
        raise Answer(401, {"detail": "Token expired"}, WWW_AUTH)
    return token


def dispatch(state: State, request: Request) -> Result:
    path = request.url.path
    for pattern, methods in ROUTES:
        match = pattern.match(path)
        if match is None:
            continue
        try:
            token = authenticate(state, request.headers.get("Authorization"))
            handler = methods.get(request.method)
            if handler is None:
                raise Answer(405, {"detail": f'Method "{request.method}" not allowed.'})
            args = match.groupdict()
            org = state.org(args["org"])
            if org is None:
                raise Answer(404, DOES_NOT_EXIST)
            actor: Member | None = None
            if token.kind == "user":
                assert token.user_id is not None
                actor = state.member_of_user(org, token.user_id)
                if actor is None:
                    raise Answer(403, PERMISSION_DENIED)
                role_scopes = set(ORG_ROLES[actor.role].scopes)
                if not org.disable_member_invite:
                    # Sentry's access: every member may invite unless members'
                    # invites are disabled (``disable_member_invite``).
                    role_scopes.add("member:invite")
                scopes = token.scopes & frozenset(role_scopes)
            else:
                if token.org_id != org.id:
                    raise Answer(403, PERMISSION_DENIED)
                scopes = token.scopes
            ctx = Ctx(state, request, args, request.url.query, token, org, actor, scopes)
            return handler(ctx)
        except Answer as answer:
            return answer.status, answer.body, answer.headers
    return 404, {"detail": "The requested resource does not exist"}, {}
