"""The team role a member holds, read from the team's member list.

``MembersAPI.join_team`` asks for it when a member's details do not say which
role it holds on the team (older Sentry, a race), to report truthfully whether
a join changed anything.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from ..errors import NotFoundError, PermissionDeniedError
from ..models import TEAM_ROLE_NAMES, Member, effective_team_role
from ..pagination import Page, Paginator
from ._common import OrgScope, check_slug, cursor_page

__all__ = ["TEAM_MEMBERS", "TEAM_READ", "TeamAddResult", "TeamJoinResult", "held_team_role"]

#: What adding a member to a team did: ``"added"`` (201), ``"requested"`` (202:
#: an access request was created because the caller may not add directly),
#: ``"unchanged"`` (204: already on the team).
TeamAddResult: TypeAlias = Literal["added", "requested", "unchanged"]

#: What :meth:`MembersAPI.join_team` did: as :data:`TeamAddResult`, or ``"updated"``
#: (already on the team, and the team role it holds there changed).
TeamJoinResult: TypeAlias = Literal["added", "requested", "unchanged", "updated"]

TEAM_MEMBERS = "/api/0/teams/{org}/{team}/members/"
TEAM_READ = ("team:read", "team:write", "team:admin")


async def held_team_role(org: OrgScope, member: Member, team: str) -> str | None:
    """The role ``member`` holds on ``team`` when the details did not say.

    Read from the team's member list (``teamRole``: stored or held, raised
    to the org role's minimum either way). ``None`` when that list does not
    say either (not listed, no ``teamSlug``/``teamRole`` keys, or the token
    may not read it) and the minimum does not decide: a member whose
    minimum is the top team role holds that one, whatever is stored.
    """
    minimum = member.minimum_team_role
    if minimum == TEAM_ROLE_NAMES[-1]:
        return minimum
    path = {"org": org.slug, "team": check_slug(team)}

    async def fetch(cursor: str | None) -> Page[Member]:
        response = await org.client.request(
            "GET",
            TEAM_MEMBERS,
            path_params=path,
            params={"per_page": 100, "cursor": cursor},
            required_scopes=TEAM_READ,
        )
        return cursor_page(response, Member)

    try:
        async with Paginator(cursor_fetch=fetch, page_size=100, prefetch=1) as listed:
            async for row in listed:
                if row.id != member.id:
                    continue
                if row.team_slug != team:  # a list without team keys says nothing
                    return None
                return effective_team_role(row.team_role, minimum)
    except (PermissionDeniedError, NotFoundError):
        return None
    return None
