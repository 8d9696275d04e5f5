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

A stale change ends ``skipped`` with a :class:`~.plan.StaleChangeError` naming the
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
from ..models import Member, MemberId, effective_team_role
from .plan import Plan, Premise, StaleChangeError

if TYPE_CHECKING:
    from ..api.org import OrgContext

__all__ = ["already_there", "not_sent", "read_again", "stale_reason", "unsent"]

#: Members per page of the member list (``members.list``'s default page size).
_PAGE = 100
_TEAM_CHANGES = (AddToTeam, SetTeamRole, RemoveFromTeam)


def _member_of(change: Change) -> MemberId | None:
    return None if isinstance(change, Invite) else change.member_id


def _needs_teams(change: Change, premise: Premise | None) -> bool:
    return isinstance(change, _TEAM_CHANGES) and premise is not None and premise.teams is not None


async def _get_each(org: OrgContext, ids: Iterable[MemberId]) -> dict[MemberId, Member | None]:
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


async def _from_list(org: OrgContext, ids: Collection[MemberId]) -> dict[MemberId, Member | None]:
    """The members of ``ids`` from one pass over the member list (``None``: not listed)."""
    found: dict[MemberId, Member | None] = dict.fromkeys(ids)
    async for member in org.members.list():
        if member.id in found:
            found[member.id] = member
    return found


async def read_again(org: OrgContext, plan: Plan) -> dict[MemberId, Member | None]:
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


async def already_there(org: OrgContext, plan: Plan) -> dict[str, Member]:
    """The people ``plan`` invites who are in the org now (lower-cased e-mail to member).

    One filtered list request per 50 addresses (``email:`` tokens), so an apply
    run again after an earlier one invited them sends no ``POST`` for them.
    """
    emails = sorted({c.email for c in plan.changes if isinstance(c, Invite)}, key=str.lower)
    found: dict[str, Member] = {}
    for start in range(0, len(emails), 50):
        async for member in org.members.list(email=emails[start : start + 50], prefetch=1):
            found[member.email.lower()] = member
    return found


async def unsent(org: OrgContext, plan: Plan) -> dict[int, Done]:
    """What ``apply`` does not send, read now: :func:`not_sent`, and the invites of people
    already in the org (:func:`already_there`), by ``id`` of the change."""
    done = not_sent(plan, await read_again(org, plan))
    there = await already_there(org, plan)
    for change in plan.changes:
        if isinstance(change, Invite) and id(change) not in done:
            outcome = invite_outcome(change, there)
            if outcome is not None:
                done[id(change)] = outcome
    return done


def invite_outcome(invite: Invite, there: Mapping[str, Member]) -> Done | None:
    """``already_invited`` / ``already_member`` for an invitee in the org now, else ``None``."""
    member = there.get(invite.email.lower())
    if member is None:
        return None
    kind = OutcomeKind.ALREADY_INVITED if member.pending else OutcomeKind.ALREADY_MEMBER
    return Done(kind, member.id)


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


def _at_target(change: Change, fresh: Member, held: Mapping[str, str]) -> bool:
    """Whether ``fresh`` is already as ``change`` would leave it (an earlier apply made it)."""
    if isinstance(change, ChangeRole):
        return fresh.org_role == change.new
    if isinstance(change, RemoveFromTeam):
        return change.team not in held
    if isinstance(change, AddToTeam):
        wanted = change.role
        return change.team in held and (
            wanted is None
            or held[change.team] == effective_team_role(wanted, fresh.minimum_team_role)
        )
    if isinstance(change, SetTeamRole):
        return held.get(change.team) == effective_team_role(change.new, fresh.minimum_team_role)
    return False


def _teams_moved(
    premise: Mapping[str, str], fresh: Member, held: Mapping[str, str], own: Iterable[Change]
) -> bool:
    """Whether someone else changed the member's teams since the plan.

    Each team must be as the plan saw it (held roles raised to the member's
    minimum now), or as one of the plan's own changes leaves it.
    """
    minimum = fresh.minimum_team_role
    done = {c.team for c in own if isinstance(c, _TEAM_CHANGES) and _at_target(c, fresh, held)}
    for slug in set(premise) | set(held):
        seen = premise.get(slug)
        if slug in done:
            continue
        if held.get(slug) != (None if seen is None else effective_team_role(seen, minimum)):
            return True
    return False


def stale_reason(
    change: Change, premise: Premise | None, fresh: Member, own: Iterable[Change] = ()
) -> str | None:
    """Why ``change`` no longer holds for ``fresh`` (the member as read now), or ``None``.

    ``own``: the plan's changes of the same member (an earlier apply of the
    plan may have made some: their result is no change by someone else).
    """
    own = list(own)
    expected = premise.org_role if premise is not None else _carried_role(change)
    allowed = {expected} | {c.new for c in own if isinstance(c, ChangeRole)}
    if isinstance(change, ChangeRole | RemoveMember):
        allowed = {expected}
    if fresh.org_role == "owner" and "owner" not in allowed:
        was = f"was {expected}" if expected else "the plan did not say it changes an Owner"
        return f"{fresh.email} is an Owner now ({was}); a stale plan never changes an Owner"
    if expected is not None and fresh.org_role not in allowed:
        return f"org role changed since the plan: {expected} -> {fresh.org_role}"
    teams = premise.teams if premise is not None else None
    if teams is not None and isinstance(change, _TEAM_CHANGES):
        held = _held(fresh)
        if _teams_moved(teams, fresh, held, own):
            return f"teams changed since the plan: {_teams_text(teams)} -> {_teams_text(held)}"
    return None


def _one(
    change: Change, premise: Premise | None, now: Member | None, own: list[Change]
) -> Done | None:
    """What a change ends as without being sent, or ``None`` to send it."""
    member_id = _member_of(change)
    if now is None:
        if isinstance(change, RemoveMember):
            return Done(OutcomeKind.NOT_FOUND, member_id)
        why = "the member is no longer in the organization"
        return Done(OutcomeKind.SKIPPED, member_id, StaleChangeError(change.describe(), why))
    if isinstance(change, ChangeRole) and now.org_role == change.new:
        return Done(OutcomeKind.UNCHANGED, member_id)  # made already
    reason = stale_reason(change, premise, now, own)
    if reason is not None:
        return Done(OutcomeKind.SKIPPED, member_id, StaleChangeError(change.describe(), reason))
    # A team change is compared only where the member's details were read (a premise
    # with teams): a member from the list has no teams to compare.
    # Nor while the member's own org role change is still to come: the minimum team
    # role moves with it (a manager's admin is a member's contributor).
    read_teams = _needs_teams(change, premise) and not any(
        isinstance(c, ChangeRole) and c.new != now.org_role for c in own
    )
    if read_teams and _at_target(change, now, _held(now)):
        return Done(OutcomeKind.UNCHANGED, member_id)
    return None


def not_sent(plan: Plan, fresh: Mapping[MemberId, Member | None]) -> dict[int, Done]:
    """The outcome of each change ``apply`` does not send, by ``id`` of the change.

    Refused changes (the plan's verdicts) and stale ones (:func:`stale_reason`);
    the removal of a member already gone is ``not_found``; a change an earlier
    apply of the same plan made already is ``unchanged``.
    """
    own: dict[MemberId, list[Change]] = {}
    for change in plan.changes:
        member_id = _member_of(change)
        if member_id is not None:
            own.setdefault(member_id, []).append(change)
    done: dict[int, Done] = {}
    for i, change in enumerate(plan.changes):
        member_id = _member_of(change)
        verdict = plan.refused.get(i)
        if verdict is not None:
            refusal = verdict.error(change.describe())
            done[id(change)] = Done(OutcomeKind.REFUSED, member_id, refusal)
            continue
        if member_id is None:
            continue
        outcome = _one(change, plan.premises.get(member_id), fresh.get(member_id), own[member_id])
        if outcome is not None:
            done[id(change)] = outcome
    return done
