"""Reading an organization for a review: every page once, and nothing past the end.

The requests are planned so that a review costs the pages of the member list,
the pages of the team member lists, the teams list and one re-read of the last
member page, and not one request more:

- Sentry's member list is ``OffsetPaginator`` (cursor ``{per_page}:{page}:0``,
  src/sentry/api/paginator.py; ordered by id in
  src/sentry/api/endpoints/organization_member/index.py), so page ``k`` can be
  asked for before page ``k - 1`` has come back. A page is asked for ahead only
  when it is known to exist: every member seen on a team member list is a
  member, and one not on the pages read so far comes after them, so the org
  has at least the members walked plus those (:class:`Known`); the pages up to
  that count are fetched concurrently, and the few after the last member on a
  team follow one by one, each after the page before it said there is a next.
- Each team's member list (``GET /teams/{org}/{team}/members/``,
  src/sentry/api/endpoints/team_members.py) is followed page by page; the teams
  are read concurrently, so the org's teams and members are read in one
  request per page however many members there are (Sentry's member details
  carry a member's teams, but that is one request per member).

Nothing here decides what the pages mean; :mod:`.build` does.
"""

from __future__ import annotations

import asyncio

import attrs

from ..api._common import cursor_page
from ..api.members import MEMBERS
from ..api.members import READ as MEMBER_READ
from ..api.org import OrgContext
from ..api.teams import READ as TEAM_READ
from ..api.teams import TEAM_MEMBERS
from ..models import Member, Team
from ..pagination import Page, offset_cursor

__all__ = [
    "Known",
    "MemberWalk",
    "PAGE_SIZE",
    "TeamWalk",
    "read_last_page",
    "walk_members",
    "walk_team",
]

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


async def _member_page(org: OrgContext, cursor: str | None) -> Page[Member]:
    response = await org.client.request(
        "GET",
        MEMBERS,
        path_params={"org": org.slug},
        params={"per_page": PAGE_SIZE, "cursor": cursor},
        required_scopes=MEMBER_READ,
    )
    return cursor_page(response, Member)


class Known:
    """What proves member pages to exist before they are read.

    The org has at least as many members as were walked plus those seen on
    team lists and not walked yet (they come later in the list). Both sets
    grow while the pages are read; the count is kept in O(1) per member, and
    :attr:`grew` wakes the member walk when it rises.
    """

    def __init__(self) -> None:
        self._teams: set[str] = set()
        self._walked: set[str] = set()
        self._both = 0
        self.grew = asyncio.Event()

    def on_team(self, member_id: str) -> None:
        if member_id not in self._teams:
            self._teams.add(member_id)
            self._both += member_id in self._walked
            self.grew.set()

    def walked(self, member_id: str) -> None:
        if member_id not in self._walked:
            self._walked.add(member_id)
            self._both += member_id in self._teams

    def at_least(self) -> int:
        """Members the org is known to have (walked, or on a team and still to come)."""
        return len(self._walked) + len(self._teams) - self._both


class _Pages:
    """The member pages by index while they are read out of order."""

    def __init__(self, org: OrgContext, known: Known) -> None:
        self.org = org
        self.known = known
        self.done: dict[int, Page[Member]] = {}
        self.running: dict[asyncio.Task[Page[Member]], int] = {}
        self.started = 1
        self.requests = 0
        self.stop = False

    def start(self, index: int) -> None:
        task = asyncio.ensure_future(_member_page(self.org, f"{PAGE_SIZE}:{index}:0"))
        self.running[task] = index
        self.requests += 1
        self.started = max(self.started, index + 1)

    def start_proven(self) -> None:
        """Every page the known count proves, and the one after a page that says it has a next."""
        last = -(-self.known.at_least() // PAGE_SIZE) - 1
        for index in range(self.started, last + 1):
            self.start(index)
        before = self.done.get(self.started - 1)
        if before is not None and before.next_cursor is not None and before.items:
            self.start(self.started)

    def take(self, task: asyncio.Task[Page[Member]]) -> None:
        index = self.running.pop(task)
        page = task.result()
        self.done[index] = page
        for member in page.items:
            self.known.walked(member.id)
        if not page.items:
            self.stop = True  # members left while the pages were read: the rest is empty

    async def run(self) -> None:
        try:
            while not self.stop:
                self.known.grew.clear()
                self.start_proven()
                if not self.running:
                    return
                grew = asyncio.ensure_future(self.known.grew.wait())
                finished, _ = await asyncio.wait(
                    [*self.running, grew], return_when=asyncio.FIRST_COMPLETED
                )
                grew.cancel()
                for task in finished:
                    if task is not grew:
                        self.take(task)  # type: ignore[arg-type]
        finally:
            for task in self.running:
                task.cancel()
            if self.running:
                await asyncio.gather(*self.running, return_exceptions=True)


async def walk_members(org: OrgContext, known: Known) -> MemberWalk:
    """Every page of the member list, in order.

    The pages ``known`` proves to exist are fetched as soon as they are
    proven, concurrently; the others one after the other, each once the page
    before it said a next one exists. Nothing is asked for past the end.
    """
    walk = MemberWalk()
    page = await _member_page(org, None)
    walk.requests += 1
    for member in page.items:
        known.walked(member.id)
    guess = offset_cursor(page.next_cursor)
    walk.predictable = guess is not None and guess == (PAGE_SIZE, 1)
    if walk.predictable:
        pages = _Pages(org, known)
        pages.done[0] = page
        await pages.run()
        walk.requests += pages.requests
        for index in range(len(pages.done)):
            if index not in pages.done:
                break
            walk.pages.append(pages.done[index].items)
            walk.cursors.append(None if index == 0 else f"{PAGE_SIZE}:{index}:0")
        return walk
    walk.pages.append(page.items)
    walk.cursors.append(None)
    while page.next_cursor is not None and page.next_cursor not in walk.cursors:
        cursor = page.next_cursor
        page = await _member_page(org, cursor)
        walk.requests += 1
        walk.pages.append(page.items)
        walk.cursors.append(cursor)
    return walk


async def read_last_page(org: OrgContext, walk: MemberWalk) -> tuple[list[Member], bool, int]:
    """The last walked page read again: its members, whether a page follows, requests."""
    page = await _member_page(org, walk.cursors[-1])
    return page.items, page.next_cursor is not None, 1


async def walk_team(org: OrgContext, team: Team, known: Known | None = None) -> TeamWalk:
    """One team's member list, every page, one after the other (each member told to ``known``)."""
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
        if known is not None:
            for member in page.items:
                known.on_team(member.id)
        seen.add(cursor)
        if page.next_cursor is None:
            walk.exhausted = True
            return walk
        if page.next_cursor in seen:
            return walk
        cursor = page.next_cursor
