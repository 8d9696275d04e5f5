"""Before ``apply`` sends a plan: the members it touches read again, and each change's premise.

A plan can be applied long after it was made (a confirmation prompt, a review
step, a CI job applying a saved plan). ``apply`` therefore reads each member
it changes again (``GET members/{id}/``, 8 at a time), or, when that is
cheaper for changes that need only the org role (removals, role changes of
more members than the member list has pages), walks the member list once.
A change whose premise no longer holds is not sent:

- the member is gone: a removal ends ``not_found``, anything else is stale;
- the member became an Owner since the plan (or is one and the plan did not
  know it): stale. A stale plan never removes or demotes an Owner;
- the member's org role is not the one the plan saw: stale;
- for a team change, the member's teams or team roles (as held) are not those
  the plan saw: stale.

A stale change ends ``failed`` with a :class:`~.plan.StaleChangeError` naming the
reason; plan again to see what the roster asks of the org as it is now.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING

from ..changes import (
    AddToTeam,
    Change,
    ChangeRole,
    Done,
    Invite,
    OutcomeKind,
    RemoveFromTeam,
    RemoveMember,
    SetTeamRole,
)
from ..errors import NotFoundError
from ..models import Member, MemberId
from .plan import Plan, Premise, StaleChangeError

if TYPE_CHECKING:
    from ..api.org import OrgAPI

__all__ = ["not_sent"]

#: Members per page of the member list (``members.list``'s default page size).
_PAGE = 100
_TEAM_CHANGES = (AddToTeam, SetTeamRole, RemoveFromTeam)


def _member_of(change: Change) -> MemberId | None:
    return None if isinstance(change, Invite) else change.member_id


def _needs_teams(change: Change, premise: Premise | None) -> bool:
    return isinstance(change, _TEAM_CHANGES) and premise is not None and premise.teams is not None


async def _get_each(org: OrgAPI, ids: Iterable[MemberId]) -> dict[MemberId, Member | None]:
    """Each member's details, 8 at a time (``None``: no such member now)."""
    found: dict[MemberId, Member | None] = {}
    gate = asyncio.Semaphore(8)

    async def one(member_id: MemberId) -> None:
        async with gate:
            try:
                found[member_id] = await org.members.get(member_id)
            except NotFoundError:
                found[member_id] = None

    await asyncio.gather(*(one(member_id) for member_id in ids))
    return found


async def _from_list(org: OrgAPI, ids: Collection[MemberId]) -> dict[MemberId, Member | None]:
    """The members of ``ids`` from one pass over the member list (``None``: not listed)."""
    found: dict[MemberId, Member | None] = dict.fromkeys(ids)
    async for member in org.members.list():
        if member.id in found:
            found[member.id] = member
    return found


async def read_again(org: OrgAPI, plan: Plan) -> dict[MemberId, Member | None]:
    """The members ``plan`` changes, as they are now."""
    detailed: set[MemberId] = set()
    role_only: set[MemberId] = set()
    for change in plan.changes:
        member_id = _member_of(change)
        if member_id is None:
            continue
        if _needs_teams(change, plan.premises.get(member_id)):
            detailed.add(member_id)
        else:
            role_only.add(member_id)
    role_only -= detailed
    pages = math.ceil(plan.org_size / _PAGE) if plan.org_size else None
    if pages is not None and len(role_only) > pages:
        fresh = await _from_list(org, role_only)
    else:
        detailed |= role_only
        fresh = {}
    fresh.update(await _get_each(org, detailed))
    return fresh


def _carried_role(change: Change) -> str | None:
    """The org role a change says the member had (for a plan built by hand)."""
    if isinstance(change, ChangeRole):
        return change.old
    if isinstance(change, RemoveMember):
        return change.role
    return None


def _held(member: Member) -> dict[str, str]:
    """The team roles ``member`` holds, from its details."""
    return {slug: member.team_role_on(slug) or member.minimum_team_role for slug in member.teams}


def _teams_text(teams: Mapping[str, str]) -> str:
    return ", ".join(f"{slug} ({role})" for slug, role in sorted(teams.items())) or "none"


def stale_reason(change: Change, premise: Premise | None, fresh: Member) -> str | None:
    """Why ``change`` no longer holds for ``fresh`` (the member as read now), or ``None``."""
    expected = premise.org_role if premise is not None else _carried_role(change)
    if fresh.org_role == "owner" and expected != "owner":
        was = f"was {expected}" if expected else "the plan did not say it changes an Owner"
        return f"{fresh.email} is an Owner now ({was}); a stale plan never changes an Owner"
    if expected is not None and fresh.org_role != expected:
        return f"org role changed since the plan: {expected} -> {fresh.org_role}"
    if premise is not None and premise.teams is not None and isinstance(change, _TEAM_CHANGES):
        now = _held(fresh)
        if now != dict(premise.teams):
            return (
                f"teams changed since the plan: {_teams_text(premise.teams)} -> {_teams_text(now)}"
            )
    return None


def not_sent(plan: Plan, fresh: Mapping[MemberId, Member | None]) -> dict[int, Done]:
    """The outcome of each change ``apply`` does not send, by ``id`` of the change.

    Refused changes (the plan's verdicts) and stale ones (:func:`stale_reason`);
    the removal of a member already gone is ``not_found``.
    """
    done: dict[int, Done] = {}
    for i, change in enumerate(plan.changes):
        member_id = _member_of(change)
        verdict = plan.refused.get(i)
        if verdict is not None:
            refused = verdict.error(change.describe())
            done[id(change)] = Done(OutcomeKind.FAILED, member_id, refused)
            continue
        if member_id is None:
            continue
        now = fresh.get(member_id)
        if now is None:
            if isinstance(change, RemoveMember):
                done[id(change)] = Done(OutcomeKind.NOT_FOUND, member_id)
            else:
                why = "the member is no longer in the organization"
                done[id(change)] = Done(
                    OutcomeKind.FAILED, member_id, StaleChangeError(change.describe(), why)
                )
            continue
        reason = stale_reason(change, plan.premises.get(member_id), now)
        if reason is not None:
            error = StaleChangeError(change.describe(), reason)
            done[id(change)] = Done(OutcomeKind.FAILED, member_id, error)
    return done
