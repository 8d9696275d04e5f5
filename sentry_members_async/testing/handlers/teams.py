"""Teams (§5): ``organizations/{org}/teams/`` (src/sentry/core/endpoints/organization_teams.py),
``teams/{org}/{team}/`` (team_details.py) and ``teams/{org}/{team}/members/``
(team_members.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..state import (
    LEGACY_SLUG_RE,
    ORG_ROLES,
    SLUG_MAX,
    SLUG_RE,
    TEAM_ROLES,
    Member,
    Organization,
    State,
    Team,
    slugify,
)
from .common import (
    CONFLICTING_SLUG,
    IDP_TEAM,
    NO_BODY,
    PERMISSION_DENIED,
    SLUG_ERROR,
    Answer,
    Ctx,
    Result,
    digits,
    truthy,
)
from .listing import offset_paginate, tokenize_query
from .lookups import effective_team_role, get_team, listed_members
from .serializers import ser_member, ser_team

__all__ = [
    "INDEX_FROM",
    "delete_team",
    "team_delete",
    "team_get",
    "team_members_get",
    "team_put",
    "team_rows",
    "teams_get",
    "teams_post",
]

_TEAM_SCOPES = {
    "GET": ("team:read", "team:write", "team:admin"),
    "PUT": ("team:write", "team:admin"),
    "DELETE": ("team:admin",),
}


def _filter_teams(rows: list[Team], query: str) -> list[Team]:
    """The ``query`` keys of ``OrganizationTeamsEndpoint.get``; an unknown key matches none."""
    for key, values in tokenize_query(query).items():
        if key == "slug":
            rows = [t for t in rows if t.slug in values]
        elif key == "id":
            if not all(digits(v) for v in values):
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
    return rows


def teams_get(ctx: Ctx) -> Result:
    ctx.require("org:read", "org:write", "org:admin")
    rows = ctx.org.active_teams()
    query = ctx.query.get("query")
    if query:
        rows = _filter_teams(rows, query)
    detailed = ctx.query.get("detailed", "1") != "0"
    expand = ("externalTeams", "projects") if detailed else ()
    return offset_paginate(ctx, rows, lambda t: ser_team(ctx, t, expand=expand))


def _check_slug(ctx: Ctx, slug: Any, errors: dict[str, Any], message: str | None = None) -> None:
    """``SentrySerializerSlugField`` (src/sentry/api/fields/sentry_slug.py); 23.7.1: a
    ``RegexField(r"^[a-z0-9_\\-]+$")`` that lets numeric slugs through."""
    pattern = LEGACY_SLUG_RE if ctx.profile.numeric_slugs else SLUG_RE
    if not isinstance(slug, str) or not pattern.match(slug):
        errors["slug"] = [message or ctx.profile.slug_error or SLUG_ERROR]
    elif len(slug) > SLUG_MAX:
        errors["slug"] = [f"Ensure this field has no more than {SLUG_MAX} characters."]


def _check_name(name: Any, errors: dict[str, Any]) -> None:
    if name is not None and (not isinstance(name, str) or len(name) > 64):
        errors["name"] = ["Ensure this field has no more than 64 characters."]


def _generated_slug(ctx: Ctx, name: str) -> str:
    """``slugify_instance``: the name's slug, made unique with ``-2``, ``-3``..."""
    base = slugify(name)[:SLUG_MAX] or "team"
    slug, n = base, 1
    if digits(base):
        # Sentry's slugify_instance: a generated slug is never entirely numeric
        # (test_generated_slug_not_entirely_numeric).
        base = slug = f"{base[: SLUG_MAX - 7]}-{ctx.state.tick().microsecond ^ 0xA5A5A5:06x}"
    while ctx.org.team_by_slug(slug) is not None:
        n += 1
        slug = f"{base[: SLUG_MAX - len(str(n)) - 1]}-{n}"
    return slug


def teams_post(ctx: Ctx) -> Result:
    ctx.require("org:write", "org:admin", "team:write")
    body = ctx.body()
    slug, name = body.get("slug"), body.get("name")
    if not slug and not name:
        raise Answer(400, {"non_field_errors": ["Name or slug is required"]})
    errors: dict[str, Any] = {}
    if slug:
        _check_slug(ctx, slug, errors)
    _check_name(name, errors)
    if errors:
        raise Answer(400, errors)
    if not slug:
        slug = _generated_slug(ctx, str(name))
    if ctx.org.team_by_slug(slug) is not None:
        raise Answer(409, {"non_field_errors": [CONFLICTING_SLUG], "detail": CONFLICTING_SLUG})
    team = ctx.state.new_team(ctx.org, slug, name or slug)
    team.idp_provisioned = truthy(body.get("idp_provisioned", False))
    if ctx.actor is not None:
        creator = ctx.profile.team_creator_role
        ctx.actor.teams[team.id] = creator if ctx.org.team_roles else None
        ctx.org.version += 1
    return 201, ser_team(ctx, team), {}


def team_get(ctx: Ctx) -> Result:
    ctx.require(*_TEAM_SCOPES["GET"])
    team = get_team(ctx, ctx.args["team"])
    return 200, ser_team(ctx, team, expand=ctx.profile.team_detail_expand), {}


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
        _check_slug(ctx, slug, errors, ctx.profile.slug_update_error)
        if not errors and slug != team.slug and ctx.org.team_by_slug(slug) is not None:
            errors["slug"] = [f'The slug "{slug}" is already in use.']
    name = body.get("name")
    _check_name(name, errors)
    if errors:
        raise Answer(400, errors)
    if slug is not None:
        team.slug = slug
    if name is not None:
        team.name = name
    return 200, ser_team(ctx, team, expand=ctx.profile.team_update_expand), {}


def team_delete(ctx: Ctx) -> Result:
    team = get_team(ctx, ctx.args["team"])
    require_team_scope(ctx, team, _TEAM_SCOPES["DELETE"])
    if team.idp_provisioned:
        raise Answer(403, IDP_TEAM)
    delete_team(ctx.org, team)
    return 204, NO_BODY, {}


def delete_team(org: Organization, team: Team) -> None:
    """Deactivate the team and free its slug (Sentry renames a team pending deletion)."""
    team.active = False
    team.slug = f"{team.slug}-{team.id:032x}"[:SLUG_MAX]
    org.version += 1


#: From this many listed members on, the team lists come from an index kept per
#: ``org.version`` (a scan of 100,000 members per page would be the emulator's
#: whole cost in a review); below it, every page scans the members, so a test
#: may change a small org's ``member.teams`` directly. Changes to a large org's
#: team memberships outside the handlers and seeding methods bump ``org.version``.
INDEX_FROM = 2_000


def team_rows(state: State, org: Organization, team: Team) -> list[Member]:
    """The listed members on ``team``, in member-id order."""
    rows = listed_members(state, org)
    if len(rows) < INDEX_FROM:
        return [m for m in rows if team.id in m.teams]
    cached = org.team_index
    if cached is None or cached[0] != org.version:
        index: dict[int, list[Member]] = {}
        for member in rows:
            for team_id in member.teams:
                index.setdefault(team_id, []).append(member)
        cached = org.team_index = (org.version, index)
    return list(cached[1].get(team.id, ()))


def team_members_get(ctx: Ctx) -> Result:
    ctx.require(*_TEAM_SCOPES["GET"])
    team = get_team(ctx, ctx.args["team"])
    state = ctx.state
    rows = team_rows(state, ctx.org, team)
    if ctx.profile.stored_team_roles:
        # 23.7.1 team_members.py: invites too, ``order_by("organizationmember__email",
        # "id")``: accepted members have no e-mail on their row (NULL sorts last).
        rows.sort(key=lambda m: (m.email is None, m.email or "", m.id))
    else:
        # Pending invites are not listed here (newer Sentry; the OpenAPI's user is not
        # nullable).
        rows = [m for m in rows if not m.pending]
        rows.sort(key=lambda m: (state.member_email(m), m.id))

    def serialize(m: Member) -> dict[str, Any]:
        data = ser_member(state, ctx.org, m)
        stored = ctx.profile.stored_team_roles
        data["teamRole"] = m.teams.get(team.id) if stored else effective_team_role(m, team)
        data["teamSlug"] = team.slug
        return data

    return offset_paginate(ctx, rows, serialize)
