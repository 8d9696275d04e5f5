"""Roster reconcile: compare a desired roster with the live org, then apply the difference.

``plan = await acme.plan(desired)`` returns a :class:`Plan` of typed changes
(invite, change role, add to / remove from a team, set a team role, remove),
printable as a diff; ``report = await acme.apply(plan)`` runs it through the
bulk engine. A plan never removes Owners or the caller unless told to.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

from .api import _common as c
from .api.members import invite_body
from .bulk import BulkReport, Outcome, OutcomeKind, Progress, _QuotaGate, run_bulk
from .errors import NotFoundError, ValidationError
from .models import MemberId

if TYPE_CHECKING:
    from .api.org import OrgAPI

__all__ = [
    "AddToTeam",
    "Change",
    "ChangeRole",
    "DesiredMember",
    "Invite",
    "Plan",
    "RemoveFromTeam",
    "RemoveMember",
    "SetTeamRole",
    "load_roster",
]


def _team_map(value: Any) -> Mapping[str, str | None] | None:
    if value is None:
        return None
    if value == "":
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        # "backend:admin;frontend" -> {"backend": "admin", "frontend": None}
        result: dict[str, str | None] = {}
        for part in value.replace(",", ";").split(";"):
            part = part.strip()
            if part:
                slug, _, role = part.partition(":")
                result[slug.strip()] = role.strip() or None
        return result
    return dict.fromkeys(value)


@attrs.frozen
class DesiredMember:
    """Who should be in the org: e-mail, org role, and teams.

    ``teams`` maps slugs to a team role (or ``None``: any role). Left as
    ``None``, the member's teams are not managed; ``{}`` means no team.
    """

    email: str
    role: str = "member"
    teams: Mapping[str, str | None] | None = attrs.field(default=None, converter=_team_map)


@attrs.frozen
class Invite:
    email: str
    role: str
    teams: Mapping[str, str | None]

    def describe(self) -> str:
        teams = (
            f" to {', '.join(_fmt_team(t, r) for t, r in self.teams.items())}" if self.teams else ""
        )
        return f"+ invite {self.email} as {self.role}{teams}"


@attrs.frozen
class ChangeRole:
    member_id: MemberId
    email: str
    old: str
    new: str

    def describe(self) -> str:
        return f"~ {self.email}: role {self.old} -> {self.new}"


@attrs.frozen
class AddToTeam:
    member_id: MemberId
    email: str
    team: str
    role: str | None = None

    def describe(self) -> str:
        return f"+ {self.email} joins {_fmt_team(self.team, self.role)}"


@attrs.frozen
class SetTeamRole:
    member_id: MemberId
    email: str
    team: str
    old: str | None
    new: str

    def describe(self) -> str:
        return f"~ {self.email}: {self.team} role {self.old} -> {self.new}"


@attrs.frozen
class RemoveFromTeam:
    member_id: MemberId
    email: str
    team: str

    def describe(self) -> str:
        return f"- {self.email} leaves {self.team}"


@attrs.frozen
class RemoveMember:
    member_id: MemberId
    email: str
    role: str

    def describe(self) -> str:
        return f"- remove {self.email} ({self.role})"


Change: TypeAlias = "Invite | ChangeRole | AddToTeam | SetTeamRole | RemoveFromTeam | RemoveMember"


def _fmt_team(team: str, role: str | None) -> str:
    return f"{team} ({role})" if role else team


@attrs.frozen
class Plan:
    """The changes that turn the live org into the desired roster."""

    org: str
    changes: tuple[Change, ...]
    #: Members a removal would have touched but that the plan keeps (owners, the caller).
    kept: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.changes)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def counts(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for change in self.changes:
            name = type(change).__name__
            totals[name] = totals.get(name, 0) + 1
        return totals

    def diff(self) -> str:
        """The plan as a diff: ``+`` added, ``~`` changed, ``-`` removed."""
        lines = [change.describe() for change in self.changes]
        lines += [f"= keep {email} (protected)" for email in self.kept]
        return "\n".join(lines) if lines else "no changes"

    def __str__(self) -> str:
        return self.diff()


def load_roster(
    source: str | os.PathLike[str] | io.TextIOBase | Iterable[Mapping[str, Any]],
) -> list[DesiredMember]:
    """A roster from a CSV (``email,role,teams`` with ``teams`` like ``backend:admin;web``)."""
    if isinstance(source, str | os.PathLike):
        with open(source, newline="", encoding="utf-8-sig") as handle:
            return load_roster(handle)
    records = csv.DictReader(source) if isinstance(source, io.TextIOBase) else source
    roster: list[DesiredMember] = []
    seen: set[str] = set()
    for line, record in enumerate(records, start=2):
        email = str(record.get("email") or "").strip()
        role = str(record.get("role") or "member").strip().lower()
        try:
            c.check_email(email)
            c.check_org_role(role)
            member = DesiredMember(email, role, record.get("teams"))
            for slug, team_role in (member.teams or {}).items():
                c.check_slug(slug)
                if team_role is not None:
                    c.check_team_role(team_role)
        except ValidationError as exc:
            raise ValidationError(f"roster row {line}: {exc}") from None
        if email.lower() in seen:
            raise ValidationError(f"roster row {line}: {email} is listed twice")
        seen.add(email.lower())
        roster.append(member)
    return roster


async def make_plan(
    org: OrgAPI,
    desired: Iterable[DesiredMember | Mapping[str, Any]],
    *,
    remove_missing: bool = True,
    remove_owners: bool = False,
    remove_self: bool = False,
) -> Plan:
    """Compare ``desired`` with the live org (one member list, one list per team)."""
    wanted: dict[str, DesiredMember] = {}
    for item in desired:
        member = item if isinstance(item, DesiredMember) else DesiredMember(**dict(item))
        c.check_email(member.email)
        c.check_org_role(member.role)
        key = member.email.lower()
        if key in wanted:
            raise ValidationError(f"{member.email} is listed twice in the roster")
        wanted[key] = member
    team_slugs = [team.slug async for team in org.teams.list(detailed=False)]
    for member in wanted.values():
        for slug in member.teams or {}:
            if slug not in team_slugs:
                raise ValidationError(f"{member.email}: unknown team {slug!r}")
    me = await org.members.get("me")
    live = {m.email.lower(): m async for m in org.members.list()}
    live_teams: dict[MemberId, dict[str, str | None]] = {}
    gate = asyncio.Semaphore(8)

    async def read_team(slug: str) -> None:
        async with gate:
            async for m in org.teams.members(slug):
                live_teams.setdefault(m.id, {})[slug] = m.team_role

    await asyncio.gather(*(read_team(slug) for slug in team_slugs))
    changes: list[Change] = []
    kept: list[str] = []
    for key, want in wanted.items():
        have = live.get(key)
        if have is None:
            changes.append(Invite(want.email, want.role, dict(want.teams or {})))
            continue
        if have.org_role != want.role:
            changes.append(ChangeRole(have.id, have.email, have.org_role, want.role))
        if want.teams is None:
            continue
        if have.pending:
            current = dict.fromkeys((await org.members.get(have.id)).teams)
        else:
            current = live_teams.get(have.id, {})
        for slug, role in want.teams.items():
            if slug not in current:
                changes.append(AddToTeam(have.id, have.email, slug, role))
            elif role is not None and current[slug] != role:
                changes.append(SetTeamRole(have.id, have.email, slug, current[slug], role))
        changes += [
            RemoveFromTeam(have.id, have.email, slug) for slug in current if slug not in want.teams
        ]
    if remove_missing:
        for key, have in live.items():
            if key in wanted:
                continue
            if (have.org_role == "owner" and not remove_owners) or (
                have.id == me.id and not remove_self
            ):
                kept.append(have.email)
                continue
            changes.append(RemoveMember(have.id, have.email, have.org_role))
    return Plan(org.slug, tuple(changes), tuple(kept))


async def apply_plan(
    org: OrgAPI, plan: Plan, *, progress: Progress | None = None, concurrency: int = 16
) -> BulkReport[Change]:
    """Run every change of ``plan`` through the bulk engine; one outcome per change.

    Invites go through the same daily-quota gate as ``bulk.invite``: one at a
    time until more than Sentry's daily quota were created, and at the first
    :class:`InviteQuotaError` that invite and every later one end ``deferred``
    (``report.deferred()``, ``report.quota``) without being sent; the other
    changes carry on.
    """
    if plan.org != org.slug:
        raise ValidationError(f"this plan is for {plan.org!r}, not {org.slug!r}")
    members = org.members
    gate = _QuotaGate(serial=True)

    async def one(change: Change) -> Outcome[Change]:
        if isinstance(change, Invite):
            body = invite_body(change.email, change.role, team_roles=change.teams)

            async def invite() -> Outcome[Change]:
                member, status = await members.invite_status(change.email, body)
                return Outcome(0, OutcomeKind(status), member.id)

            return await gate.send(change, invite)
        if isinstance(change, ChangeRole):
            await members.update(change.member_id, role=change.new)
            return Outcome(0, OutcomeKind.UPDATED, change.member_id)
        if isinstance(change, AddToTeam):
            added = await members.add_to_team(change.member_id, change.team)
            if added == "requested":
                return Outcome(0, OutcomeKind.REQUESTED, change.member_id)
            if change.role is not None:
                await members.set_team_role(change.member_id, change.team, change.role)
            kind = OutcomeKind.CREATED if added == "added" else OutcomeKind.UNCHANGED
            return Outcome(0, kind, change.member_id)
        if isinstance(change, SetTeamRole):
            await members.set_team_role(change.member_id, change.team, change.new)
            return Outcome(0, OutcomeKind.UPDATED, change.member_id)
        if isinstance(change, RemoveFromTeam):
            await members.remove_from_team(change.member_id, change.team)
            return Outcome(0, OutcomeKind.REMOVED, change.member_id)
        try:
            await members.remove(change.member_id)
        except NotFoundError:  # (a 404 after our own retry is success in remove())
            return Outcome(0, OutcomeKind.NOT_FOUND, change.member_id)
        return Outcome(0, OutcomeKind.REMOVED, change.member_id)

    return await run_bulk(
        plan.changes, one, concurrency=concurrency, progress=progress, on_start=gate.watch
    )
