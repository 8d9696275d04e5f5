"""``await resolve(acme, directory)``: who in Sentry is who in the directory, with evidence.

Sentry holds several addresses for one person: the member's ``email`` (the
invite's address until the invite is accepted, then the account's), the
account's ``email`` and every address of ``user.emails`` with its
``is_verified`` flag (src/sentry/api/serializers/models/user.py). An invite
can be accepted from another address than the one invited
(getsentry/sentry#19592, #72224), and Sentry does not normalise case
(#27263): joining by ``member.email`` alone misses people. Here every address
Sentry holds is case-folded and looked up among the people's addresses,
aliases and the alias table; each match says which address matched which, and
how.

The result sorts every membership and every person: matched, **leavers still
present** (terminated, still a member or a pending invite), **unknown
members** (no person), **conflicts** (one person with two memberships, an
invite and a member for one person, one member matching two people) and people
without a membership. :meth:`Resolution.plan` turns the leavers into a
guarded removal :class:`~..reconcile.Plan` for ``acme.apply``.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ..api.org import OrgContext
from ..errors import SentryError
from ..models import MemberId
from ..reconcile import Plan, Premise, RemoveMember
from ..reconcile.guards import check_read, check_removals
from .build import record
from .directory import Directory, Person, fold
from .snapshot import Review, ReviewMember

__all__ = ["Conflict", "Evidence", "Kept", "Match", "Resolution", "resolve"]

#: How strong each kind of address Sentry holds is, strongest first.
_SOURCES = ("member email", "user email", "verified user email", "unverified user email")


@attrs.frozen(kw_only=True)
class Evidence:
    """Why a membership is taken for a person: which address matched which, and how."""

    #: The address as Sentry holds it.
    sentry_address: str
    #: ``member email``, ``user email``, ``verified user email`` or ``unverified user email``.
    source: str
    #: The person's address it matched (folded).
    person_address: str
    #: ``email`` (the person's e-mail), ``alias`` (one of theirs) or ``alias table``.
    via: str

    @property
    def verified(self) -> bool:
        """Not only an unverified secondary address of the account."""
        return self.source != "unverified user email"

    def __str__(self) -> str:
        return f"{self.source} {self.sentry_address} = {self.via} {self.person_address}"


@attrs.frozen(kw_only=True)
class Match:
    person: Person
    member: ReviewMember
    evidence: tuple[Evidence, ...]

    @property
    def verified(self) -> bool:
        return any(e.verified for e in self.evidence)


@attrs.frozen(kw_only=True)
class Conflict:
    """``two memberships``, ``invite and member``, ``two invites`` or ``two people``."""

    kind: str
    people: tuple[Person, ...]
    members: tuple[ReviewMember, ...]

    def describe(self) -> str:
        who = ", ".join(p.key for p in self.people)
        what = ", ".join(
            f"{m.email} ({'invite' if m.pending else m.org_role})" for m in self.members
        )
        return f"{self.kind}: {who} <-> {what}"


@attrs.frozen(kw_only=True)
class Kept:
    """A leaver's membership the plan does not remove, and why."""

    match: Match
    reason: str


@attrs.frozen(kw_only=True)
class Resolution:
    """The directory joined with the org (see the module's description)."""

    org: str
    #: Active people and their memberships.
    matched: tuple[Match, ...]
    #: Terminated people still a member or a pending invite.
    leavers: tuple[Match, ...]
    unknown: tuple[ReviewMember, ...]
    conflicts: tuple[Conflict, ...]
    #: Active people with no membership.
    without_membership: tuple[Person, ...]
    org_size: int
    caller_id: str | None = None

    def counts(self) -> dict[str, int]:
        return {
            "matched": len(self.matched),
            "leavers": len(self.leavers),
            "unknown": len(self.unknown),
            "conflicts": len(self.conflicts),
            "withoutMembership": len(self.without_membership),
        }

    def guarded(self, *, remove_owners: bool = False) -> tuple[list[Match], list[Kept]]:
        """The leavers' memberships a plan removes, and those it keeps with the reason."""
        ambiguous = {
            m.member_id for c in self.conflicts if c.kind == "two people" for m in c.members
        }
        remove: list[Match] = []
        kept: list[Kept] = []
        seen: set[str] = set()
        for match in self.leavers:
            member = match.member
            if member.member_id in seen:
                continue
            seen.add(member.member_id)
            reason = None
            if member.member_id in ambiguous:
                reason = "the membership matches more than one person"
            elif not match.verified:
                reason = "matched only through an unverified address of the account"
            elif member.org_role == "owner" and not remove_owners:
                reason = "an Owner (remove_owners=True to remove)"
            elif member.member_id == self.caller_id:
                reason = "the caller's own membership"
            if reason is None:
                remove.append(match)
            else:
                kept.append(Kept(match=match, reason=reason))
        return remove, kept

    def plan(
        self,
        *,
        remove_owners: bool = False,
        duplicate_invites: bool = False,
        max_removals: int | None = None,
        allow_mass_removal: bool = False,
    ) -> Plan:
        """A guarded removal plan of the leavers, for ``acme.apply(plan)``.

        Kept (in ``plan.kept``, reasons from :meth:`guarded`): Owners unless
        ``remove_owners``, the caller, a membership that matches two people,
        and one matched only through an unverified address. ``apply`` reads
        each member again and removes none whose org role changed since
        (the plan's premises). ``duplicate_invites``: also revoke the pending
        invite of an active person who is already a member. The removal limit
        of roster plans applies (:mod:`..reconcile.guards`).
        """
        remove, kept = self.guarded(remove_owners=remove_owners)
        members = [m.member for m in remove]
        if duplicate_invites:
            members += [
                m
                for c in self.conflicts
                if c.kind == "invite and member" and not any(p.terminated for p in c.people)
                for m in c.members
                if m.pending
            ]
        check_read(self.org, self.org_size, None)
        check_removals(
            self.org,
            len(members),
            self.org_size,
            max_removals=max_removals,
            allow_mass_removal=allow_mass_removal,
        )
        changes = tuple(
            RemoveMember(MemberId(m.member_id), m.email, "invite" if m.pending else m.org_role)
            for m in members
        )
        premises = {MemberId(m.member_id): Premise(org_role=m.org_role) for m in members}
        return Plan(
            self.org,
            changes,
            tuple(k.match.member.email for k in kept),
            premises=premises,
            org_size=self.org_size,
        )


def _addresses(member: ReviewMember) -> dict[str, tuple[str, str]]:
    """Every address Sentry holds for ``member``: folded -> (as held, source), strongest kept."""
    held: list[tuple[str, str]] = [(member.email, "member email")]
    if member.user_email:
        held.append((member.user_email, "user email"))
    held += [(e, "verified user email" if v else "unverified user email") for e, v in member.emails]
    found: dict[str, tuple[str, str]] = {}
    for address, source in held:
        key = fold(address)
        if not key:
            continue
        if key not in found or _SOURCES.index(source) < _SOURCES.index(found[key][1]):
            found[key] = (address, source)
    return found


def _index(directory: Directory) -> dict[str, list[tuple[int, str, str]]]:
    """A folded address -> (person index, the person's address, how)."""
    index: dict[str, list[tuple[int, str, str]]] = {}
    for n, person in enumerate(directory.people):
        for k, address in enumerate(person.addresses()):
            index.setdefault(address, []).append((n, address, "email" if k == 0 else "alias"))
    for alias, target in directory.aliases.items():
        for n, _, _ in list(index.get(target, [])):
            index.setdefault(alias, []).append((n, target, "alias table"))
    return index


def _matches(directory: Directory, members: Sequence[ReviewMember]) -> list[Match]:
    index = _index(directory)
    found: list[Match] = []
    for member in members:
        by_person: dict[int, list[Evidence]] = {}
        for key, (address, source) in _addresses(member).items():
            for n, person_address, via in index.get(key, []):
                evidence = Evidence(
                    sentry_address=address, source=source, person_address=person_address, via=via
                )
                if evidence not in by_person.setdefault(n, []):
                    by_person[n].append(evidence)
        found += [
            Match(person=directory.people[n], member=member, evidence=tuple(ev))
            for n, ev in sorted(by_person.items())
        ]
    return found


def _conflicts(matches: Sequence[Match]) -> list[Conflict]:
    by_member: dict[str, list[Match]] = {}
    by_person: dict[int, list[Match]] = {}
    for match in matches:
        by_member.setdefault(match.member.member_id, []).append(match)
        by_person.setdefault(id(match.person), []).append(match)
    conflicts = [
        Conflict(kind="two people", people=tuple(m.person for m in ms), members=(ms[0].member,))
        for ms in by_member.values()
        if len(ms) > 1
    ]
    for ms in by_person.values():
        if len(ms) < 2:
            continue
        pending = [m for m in ms if m.member.pending]
        kind = (
            "two invites"
            if len(pending) == len(ms)
            else "invite and member"
            if pending
            else "two memberships"
        )
        conflicts.append(
            Conflict(kind=kind, people=(ms[0].person,), members=tuple(m.member for m in ms))
        )
    return conflicts


def join(
    org: str, directory: Directory, members: Sequence[ReviewMember], caller_id: str | None = None
) -> Resolution:
    """The resolution of ``members`` against ``directory`` (no I/O)."""
    matches = _matches(directory, members)
    matched_ids = {m.member.member_id for m in matches}
    people_with = {id(m.person) for m in matches}
    return Resolution(
        org=org,
        matched=tuple(m for m in matches if not m.person.terminated),
        leavers=tuple(m for m in matches if m.person.terminated),
        unknown=tuple(m for m in members if m.member_id not in matched_ids),
        conflicts=tuple(_conflicts(matches)),
        without_membership=tuple(
            p for p in directory.people if not p.terminated and id(p) not in people_with
        ),
        org_size=len(members),
        caller_id=caller_id,
    )


async def _caller(org: OrgContext) -> str | None:
    try:
        me = await org.members.get("me")
    except SentryError:
        return None  # an integration token is no member
    return str(me.id)


async def resolve(
    org: OrgContext, directory: Directory, *, snapshot: Review | None = None
) -> Resolution:
    """Join ``directory`` with the org's members and invites (see the module).

    Reads the member list (or uses ``snapshot``, a :class:`Review` already
    taken) and the caller's membership (``members/me``, kept out of any plan).
    """
    if snapshot is not None:
        members = list(snapshot.members)
    else:
        members = [record(m, [], False) async for m in org.members.list()]
    return join(org.slug, directory, members, await _caller(org))
