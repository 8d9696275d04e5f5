"""The route table, authentication and dispatch (§9): the one place that says
which path and method go to which handler.

Sources: src/sentry/api/authentication.py, src/sentry/api/base.py,
src/sentry/api/bases/organization.py (``OrganizationPermission``), DRF defaults.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ...transports.base import Request
from ..state import Member, Organization, State, Token
from .admin import emulator_accept
from .common import DOES_NOT_EXIST, PERMISSION_DENIED, Answer, Ctx, Result, Text
from .common import role_scopes as scopes_of
from .member_details import member_delete, member_get, member_put
from .member_teams import member_team_delete, member_team_get, member_team_post, member_team_put
from .members import members_get, members_post
from .scim import scim_schema_get, scim_schemas_get
from .scim_groups import (
    scim_group_delete,
    scim_group_get,
    scim_group_patch,
    scim_group_put,
    scim_groups_get,
    scim_groups_post,
)
from .scim_users import (
    scim_user_delete,
    scim_user_get,
    scim_user_patch,
    scim_user_put,
    scim_users_get,
    scim_users_post,
)
from .teams import team_delete, team_get, team_members_get, team_put, teams_get, teams_post

__all__ = ["ROUTES", "ROUTES_23_7", "authenticate", "catchall", "dispatch"]

Handler = Callable[[Ctx], Result]
WWW_AUTH = {"WWW-Authenticate": 'xBasic realm="api"'}

_O = r"(?P<org>[^/]+)"
_ORG = rf"^/api/0/organizations/{_O}"
_SCIM = rf"{_ORG}/scim/v2"


def _route(pattern: str, **methods: Handler) -> tuple[re.Pattern[str], dict[str, Handler]]:
    return re.compile(pattern), methods


def _not_allowed(*scopes: str) -> Handler:
    """A method the endpoint's permission ``scope_map`` names but the endpoint lacks:
    DRF checks the scopes first (403), then answers 405."""

    def handler(ctx: Ctx) -> Result:
        ctx.require(*scopes)
        raise Answer(405, {"detail": f'Method "{ctx.request.method}" not allowed.'})

    return handler


_MEMBER_WRITE = ("member:write", "member:admin")
_TEAM_WRITE = ("team:write", "team:admin")


_MEMBER = rf"{_ORG}/members/(?P<member_id>[^/]+)"
_TEAM = rf"^/api/0/teams/{_O}/(?P<team>[^/]+)"
Routes = list[tuple[re.Pattern[str], dict[str, Handler]]]
#: Path pattern -> method -> handler; the first pattern that matches decides.
_REST: Routes = [
    _route(
        rf"{_ORG}/members/$",
        GET=members_get,
        POST=members_post,
        PUT=_not_allowed(*_MEMBER_WRITE),
        DELETE=_not_allowed("member:admin"),
    ),
    _route(
        rf"{_MEMBER}/$",
        GET=member_get,
        PUT=member_put,
        DELETE=member_delete,
        POST=_not_allowed(*_MEMBER_WRITE),
    ),
    _route(
        rf"{_MEMBER}/teams/(?P<team>[^/]+)/$",
        GET=member_team_get,
        POST=member_team_post,
        PUT=member_team_put,
        DELETE=member_team_delete,
    ),
    _route(
        rf"{_ORG}/teams/$",
        GET=teams_get,
        POST=teams_post,
        PUT=_not_allowed("org:write", "org:admin", "team:write"),
        DELETE=_not_allowed("org:admin", "team:write"),
    ),
    _route(
        rf"{_TEAM}/$",
        GET=team_get,
        PUT=team_put,
        DELETE=team_delete,
        POST=_not_allowed(*_TEAM_WRITE),
    ),
    _route(
        rf"{_TEAM}/members/$",
        GET=team_members_get,
        POST=_not_allowed(*_TEAM_WRITE),
        PUT=_not_allowed(*_TEAM_WRITE),
        DELETE=_not_allowed("team:admin"),
    ),
]
#: SCIM as newer Sentry routes it: a trailing slash allowed, ids or slugs, Schemas/{id}.
_SCIM_ROUTES: Routes = [
    _route(rf"{_SCIM}/Users/?$", GET=scim_users_get, POST=scim_users_post),
    _route(
        rf"{_SCIM}/Users/(?P<member_id>[^/]+)/?$",
        GET=scim_user_get,
        PUT=scim_user_put,
        PATCH=scim_user_patch,
        DELETE=scim_user_delete,
    ),
    _route(rf"{_SCIM}/Groups/?$", GET=scim_groups_get, POST=scim_groups_post),
    _route(
        rf"{_SCIM}/Groups/(?P<team>[^/]+)/?$",
        GET=scim_group_get,
        PUT=scim_group_put,
        PATCH=scim_group_patch,
        DELETE=scim_group_delete,
    ),
    _route(rf"{_SCIM}/Schemas/?$", GET=scim_schemas_get),
    _route(rf"{_SCIM}/Schemas/(?P<schema>[^/]+)/?$", GET=scim_schema_get),
]
#: SCIM as 23.7.1 routes it (src/sentry/api/urls.py): ``Users$``, ``Users/(\d+)$``,
#: ``Groups$``, ``Groups/(\d+)$``, ``Schemas$``; anything else is the catch-all's.
_SCIM_ROUTES_23_7: Routes = [
    _route(rf"{_SCIM}/Users$", GET=scim_users_get, POST=scim_users_post),
    _route(
        rf"{_SCIM}/Users/(?P<member_id>\d+)$",
        GET=scim_user_get,
        PUT=scim_user_put,
        PATCH=scim_user_patch,
        DELETE=scim_user_delete,
    ),
    _route(rf"{_SCIM}/Groups$", GET=scim_groups_get, POST=scim_groups_post),
    _route(
        rf"{_SCIM}/Groups/(?P<team>\d+)$",
        GET=scim_group_get,
        PUT=scim_group_put,
        PATCH=scim_group_patch,
        DELETE=scim_group_delete,
    ),
    _route(rf"{_SCIM}/Schemas$", GET=scim_schemas_get),
]
#: The emulator's own endpoint (testing/handlers/admin.py): accept an invite from a shell.
_ADMIN: Routes = [
    _route(r"^/_emulator/organizations/(?P<org>[^/]+)/accept/$", POST=emulator_accept)
]
ROUTES: Routes = _REST + _SCIM_ROUTES + _ADMIN
ROUTES_23_7: Routes = _REST + _SCIM_ROUTES_23_7 + _ADMIN
_TRAILING_SLASH = "Route not found, did you forget a trailing slash?"


def catchall(request: Request) -> Result:
    """``CatchallEndpoint`` (src/sentry/api/endpoints/catchall.py): no route matched.

    No authentication. A path without its trailing slash: a hint, as JSON
    (``{"info": ...}``) when the request's content type is JSON, else as text
    with an arrow under the missing slash; any other path: 404, empty.
    """
    path = request.url.path
    if path.endswith("/"):
        return 404, Text("", "text/html; charset=utf-8"), {}
    suggestion = f"try: {path}/"
    content_type = request.headers.get("Content-Type") or ""
    if content_type.startswith("application/json"):
        return 404, {"info": f"{_TRAILING_SLASH} {suggestion}"}, {}
    arrow = " " * (len(suggestion) - 1) + "^"
    return 404, Text(f"{_TRAILING_SLASH}\n\n{suggestion}\n{arrow}\n", "text/plain"), {}


def authenticate(state: State, header: str | None) -> Token:
    """``Authorization: Bearer <token>``, with DRF's and Sentry's 401 wording."""
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


def _access(state: State, token: Token, org: Organization) -> tuple[Member | None, frozenset[str]]:
    """The acting member and the scopes the request holds in ``org``: a user token's
    scopes meet its member's role; an org token holds its own in its org only."""
    if token.kind != "user":
        if token.org_id != org.id:
            raise Answer(403, PERMISSION_DENIED)
        return None, token.scopes
    assert token.user_id is not None
    actor = state.member_of_user(org, token.user_id)
    if actor is None:
        raise Answer(403, PERMISSION_DENIED)
    role_scopes = set(scopes_of(actor.role, state.profile))
    if not org.disable_member_invite:
        # Sentry's access: every member may invite unless members'
        # invites are disabled (``disable_member_invite``).
        role_scopes.add("member:invite")
    return actor, token.scopes & frozenset(role_scopes)


def _handle(
    state: State, request: Request, args: dict[str, str], methods: dict[str, Handler]
) -> Result:
    token = authenticate(state, request.headers.get("Authorization"))
    org = state.org(args["org"])
    if org is None:
        raise Answer(404, DOES_NOT_EXIST)
    actor, scopes = _access(state, token, org)
    handler = methods.get(request.method)
    if handler is None:
        # Not in the permission's ``scope_map`` (PATCH, for one): no scope allows it.
        raise Answer(403, PERMISSION_DENIED)
    return handler(Ctx(state, request, args, request.url.query, token, org, actor, scopes))


def dispatch(state: State, request: Request) -> Result:
    """Answer ``request`` as ``(status, body, headers)``; unknown paths are 404."""
    path = request.url.path
    routes = ROUTES_23_7 if state.profile.scim_strict_routes else ROUTES
    for pattern, methods in routes:
        match = pattern.match(path)
        if match is None:
            continue
        try:
            return _handle(state, request, match.groupdict(), methods)
        except Answer as answer:
            return answer.status, answer.body, answer.headers
    return catchall(request)
