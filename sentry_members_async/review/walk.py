"""Reading an organization for a review: every page once, and nothing past the end.

The requests are planned so that a review costs the pages of the member list,
the pages of the team member lists, the teams list and one re-read of the last
member page, and not one request more:

- Sentry's member list is ``OffsetPaginator`` (cursor ``{per_page}:{page}:0``,
  src/sentry/api/paginator.py; ordered by id in
  src/sentry/api/endpoints/organization_member/index.py), so page ``k`` can be
  asked for before page ``k - 1`` has come back. A page is asked for ahead only
  when it is known to exist: every member seen on a team member list is a
  member, so the org has at least as many members as the team lists show, and
  the pages up to that count are fetched concurrently; the rest follow one by
  one, each after the page before it said there is a next one.
- Each team's member list (``GET /teams/{org}/{team}/members/``,
  src/sentry/api/endpoints/team_members.py) is followed page by page; the teams
  are read concurrently, so the org's teams and members are read in one
  request per page however many members there are (Sentry's member details
  carry a member's teams, but that is one request per member).

Nothing here decides what the pages mean; :mod:`.build` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import attrs

from ..api._common import cursor_page
from ..api.members import MEMBERS
from ..api.members import READ as MEMBER_READ
from ..api.org import OrgAPI
from ..api.teams import READ as TEAM_READ
from ..api.teams import TEAM_MEMBERS
from ..models import Member, Team
from ..pagination import Page, offset_cursor

__all__ = ["MemberWalk", "PAGE_SIZE", "TeamWalk", "read_last_page", "walk_members", "walk_team"]

#: Sentry's largest page (``get_per_page``'s maximum, src/sentry/api/base.py).
PAGE_SIZE = 100


@attrs.define
class MemberWalk:
    """The member list as walked: its pages in order, with the cursor of each."""

    pages: list[list[Member]] = attrs.Factory(list)
    cursors: list[str | None] = attrs.Factory(list)
    #: Whether the cursors were Sentry's offset cursors (pages fetched ahead).
    predictable: bool = False
    requests: int = 0

    @property
    def members(self) -> list[Member]:
        return [m for page in self.pages for m in page]


@attrs.define
class TeamWalk:
    """One team's member list as walked."""

    team: Team
    members: list[Member] = attrs.Factory(list)
    pages: int = 0
    #: Walked until a page said there is no next one.
    exhausted: bool = False


async def _member_page(org: OrgAPI, cursor: str | None) -> Page[Member]:
    response = await org.client.request(
        "GET",
        MEMBERS,
        path_params={"org": org.slug},
        params={"per_page": PAGE_SIZE, "cursor": cursor},
        required_scopes=MEMBER_READ,
    )
    return cursor_page(response, Member)


async def walk_members(org: OrgAPI, known_members: Callable[[], int | None]) -> MemberWalk:
    """Every page of the member list, in order.

    ``known_members()``: a number of members the org is known to have at least
    (``None`` while unknown); the pages it proves to exist are fetched at once.
    """
    walk = MemberWalk()
    page = await _member_page(org, None)
    walk.requests += 1
    walk.pages.append(page.items)
    walk.cursors.append(None)
    guess = offset_cursor(page.next_cursor)
    walk.predictable = guess is not None and guess == (PAGE_SIZE, 1)
    while page.next_cursor is not None:
        index = len(walk.pages)
        known = known_members() if walk.predictable else None
        last_known = -(-known // PAGE_SIZE) - 1 if known else -1
        if last_known > index:
            cursors = [f"{PAGE_SIZE}:{k}:0" for k in range(index, last_known + 1)]
            pages = await asyncio.gather(*(_member_page(org, c) for c in cursors))
            walk.requests += len(pages)
            walk.pages.extend(p.items for p in pages)
            walk.cursors.extend(cursors)
            page = pages[-1]
            if any(not p.items for p in pages):
                break  # members left while the pages were read: the rest is empty
            continue
        cursor = page.next_cursor
        if cursor in walk.cursors:
            break  # a cursor seen before: the list would never end
        page = await _member_page(org, cursor)
        walk.requests += 1
        walk.pages.append(page.items)
        walk.cursors.append(cursor)
    return walk


async def read_last_page(org: OrgAPI, walk: MemberWalk) -> tuple[list[Member], bool, int]:
    """The last walked page read again: its members, whether a page follows, requests."""
    page = await _member_page(org, walk.cursors[-1])
    return page.items, page.next_cursor is not None, 1


async def walk_team(org: OrgAPI, team: Team) -> TeamWalk:
    """One team's member list, every page, one after the other."""
    walk = TeamWalk(team)
    cursor: str | None = None
    seen: set[str | None] = set()
    while True:
        response = await org.client.request(
            "GET",
            TEAM_MEMBERS,
            path_params={"org": org.slug, "team": team.slug},
            params={"per_page": PAGE_SIZE, "cursor": cursor},
            required_scopes=TEAM_READ,
        )
        page = cursor_page(response, Member)
        walk.pages += 1
        walk.members.extend(page.items)
        seen.add(cursor)
        if page.next_cursor is None:
            walk.exhausted = True
            return walk
        if page.next_cursor in seen:
            return walk
        cursor = page.next_cursor
