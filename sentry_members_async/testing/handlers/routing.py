"""The route table, authentication and dispatch (§9): the one place that says
which path and method go to which handler.

Sources: src/sentry/api/authentication.py, src/sentry/api/base.py,
src/sentry/api/bases/organization.py (``OrganizationPermission``), DRF defaults.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ...transports.base import Request
from ..state import ORG_ROLES, Member, Organization, State, Token
from .common import DOES_NOT_EXIST, PERMISSION_DENIED, Answer, Ctx, Result
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

__all__ = ["ROUTES", "authenticate", "dispatch"]

Handler = Callable[[Ctx], Result]
WWW_AUTH = {"WWW-Authenticate": 'xBasic realm="api"'}

_O = r"(?P<org>[^/]+)"
_ORG = rf"^/api/0/organizations/{_O}"
_SCIM = rf"{_ORG}/scim/v2"


def _route(pattern: str, **methods: Handler) -> tuple[re.Pattern[str], dict[str, Handler]]:
    return re.compile(pattern), methods


_MEMBER = rf"{_ORG}/members/(?P<member_id>[^/]+)"
_TEAM = rf"^/api/0/teams/{_O}/(?P<team>[^/]+)"
#: Path pattern -> method -> handler; the first pattern that matches decides.
ROUTES: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
    _route(rf"{_ORG}/members/$", GET=members_get, POST=members_post),
    _route(rf"{_MEMBER}/$", GET=member_get, PUT=member_put, DELETE=member_delete),
    _route(
        rf"{_MEMBER}/teams/(?P<team>[^/]+)/$",
        GET=member_team_get,
        POST=member_team_post,
        PUT=member_team_put,
        DELETE=member_team_delete,
    ),
    _route(rf"{_ORG}/teams/$", GET=teams_get, POST=teams_post),
    _route(rf"{_TEAM}/$", GET=team_get, PUT=team_put, DELETE=team_delete),
    _route(rf"{_TEAM}/members/$", GET=team_members_get),
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
    role_scopes = set(ORG_ROLES[actor.role].scopes)
    if not org.disable_member_invite:
        # Sentry's access: every member may invite unless members'
        # invites are disabled (``disable_member_invite``).
        role_scopes.add("member:invite")
    return actor, token.scopes & frozenset(role_scopes)


def _handle(
    state: State, request: Request, args: dict[str, str], methods: dict[str, Handler]
) -> Result:
    token = authenticate(state, request.headers.get("Authorization"))
    handler = methods.get(request.method)
    if handler is None:
        raise Answer(405, {"detail": f'Method "{request.method}" not allowed.'})
    org = state.org(args["org"])
    if org is None:
        raise Answer(404, DOES_NOT_EXIST)
    actor, scopes = _access(state, token, org)
    return handler(Ctx(state, request, args, request.url.query, token, org, actor, scopes))


def dispatch(state: State, request: Request) -> Result:
    """Answer ``request`` as ``(status, body, headers)``; unknown paths are 404."""
    path = request.url.path
    for pattern, methods in ROUTES:
        match = pattern.match(path)
        if match is None:
            continue
        try:
            return _handle(state, request, match.groupdict(), methods)
        except Answer as answer:
            return answer.status, answer.body, answer.headers
    return 404, DOES_NOT_EXIST, {}
