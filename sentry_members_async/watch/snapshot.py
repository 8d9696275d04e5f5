"""One poll's reading of the org: the member list (and team lists), then confirmations.

Listing is offset-paginated (``order_by("id")`` with Sentry's
``OffsetPaginator``: ``OrganizationMemberIndexEndpoint.get`` in
src/sentry/api/endpoints/organization_member/index.py), so a member removed while a poll
pages through the list can shift another row past a page boundary. A member
missing from a poll is therefore confirmed with one ``GET members/{id}/``
before ``removed`` is emitted; a team change is confirmed the same way.

The lists are read through the resources' paginators (they own the paging,
prefetch and cancellation); this module only composes them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

import attrs

from ..api import MembersAPI, TeamsAPI
from ..errors import NotFoundError
from ..models import Member, MemberId
from ..pagination import Paginator
from .events import MemberState

__all__ = ["SnapshotReader"]

T = TypeVar("T")
Teams = list[tuple[str, str | None]]


class SnapshotReader:
    """Reads an org's membership as ``{member id: MemberState}`` (``teams``: with team lists),
    through its members and teams resources."""

    def __init__(
        self, members: MembersAPI, team_lists: TeamsAPI, *, teams: bool, prefetch: int
    ) -> None:
        self.members = members
        self.team_lists = team_lists
        self.teams = teams
        self.prefetch = prefetch

    async def read(self) -> dict[MemberId, MemberState]:
        """The member list, and with ``teams`` each accepted member's teams."""
        listed = await _drain(self.members.list(prefetch=self.prefetch))
        members = {member.id: member for member in listed}
        if not self.teams:
            return {mid: MemberState.from_member(m) for mid, m in members.items()}
        on_teams = await self._team_lists()
        return {
            mid: MemberState.from_member(m, () if m.pending else on_teams.get(mid, ()))
            for mid, m in members.items()
        }

    async def _team_lists(self) -> dict[MemberId, Teams]:
        """``(team slug, team role)`` pairs of every member on a team."""
        teams = await _drain(self.team_lists.list(detailed=False, prefetch=self.prefetch))
        slugs = [team.slug for team in teams]
        # Several teams at once, each with a short prefetch: most teams are a few
        # pages, and a long prefetch would fetch pages past their end.
        gate = asyncio.Semaphore(max(1, self.prefetch // 2))

        async def read(slug: str) -> list[tuple[MemberId, str | None]]:
            async with gate:
                rows = await _drain(self.team_lists.members(slug, prefetch=2))
            return [(m.id, m.team_role) for m in rows]

        on_teams: dict[MemberId, Teams] = {}
        lists = await gather_all([read(slug) for slug in slugs])
        for slug, rows in zip(slugs, lists, strict=True):
            for mid, team_role in rows:
                on_teams.setdefault(mid, []).append((slug, team_role))
        return on_teams

    def _doubtful(
        self, before: Mapping[MemberId, MemberState], current: Mapping[MemberId, MemberState]
    ) -> list[MemberId]:
        """Members gone from the list, or (``teams``) whose team slugs changed."""
        return [mid for mid, was in before.items() if self._in_doubt(was, current.get(mid))]

    def _in_doubt(self, was: MemberState, now: MemberState | None) -> bool:
        if now is None:
            return True
        accepted = not was.pending and not now.pending
        return self.teams and accepted and was.team_slugs != now.team_slugs

    async def confirm(
        self, before: Mapping[MemberId, MemberState], current: dict[MemberId, MemberState]
    ) -> dict[MemberId, MemberState]:
        """Confirm disappearances and team changes with one ``GET members/{id}/`` each.

        A row can slip past a page boundary when another row is removed while
        the poll pages through the list; the detail shows whether it is gone.
        """
        doubtful = self._doubtful(before, current)
        gate = asyncio.Semaphore(self.prefetch)

        async def detail(mid: MemberId) -> Member | None:
            async with gate:
                try:
                    return await self.members.get(mid)
                except NotFoundError:
                    return None

        details = await gather_all([detail(mid) for mid in doubtful])
        for mid, found in zip(doubtful, details, strict=True):
            self._settle(mid, found, before[mid], current)
        return current

    def _settle(
        self,
        mid: MemberId,
        found: Member | None,
        was: MemberState,
        current: dict[MemberId, MemberState],
    ) -> None:
        """Put what the detail showed into ``current``."""
        now = current.get(mid)
        if found is None:
            current.pop(mid, None)
        elif now is None:
            current[mid] = MemberState.from_member(found, was.teams if self.teams else None)
        else:
            # The detail lists team slugs only: keep the roles the lists showed.
            roles = dict(now.teams or ())
            old_roles = dict(was.teams or ())
            teams_now = [(s, roles.get(s, old_roles.get(s))) for s in found.teams]
            current[mid] = attrs.evolve(now, teams=teams_now)


async def _drain(listing: Paginator[T]) -> list[T]:
    """Every item of a list; leaving early (an error, a cancel) stops its prefetch."""
    async with listing:
        return await listing.collect()


async def gather_all(coros: list[Coroutine[Any, Any, T]]) -> list[T]:
    """``gather`` that leaves nothing running when one fails or we are cancelled."""
    tasks = [asyncio.ensure_future(coro) for coro in coros]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
