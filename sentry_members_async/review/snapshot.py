"""What a review holds: one record per member or invite, the teams, the counts
and the proof that the reading is complete. Plain values that round-trip
through JSON (schema :data:`SCHEMA`), hashed over their canonical JSON.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

__all__ = [
    "SCHEMA",
    "Changes",
    "Completeness",
    "Review",
    "ReviewMember",
    "ReviewTeam",
    "Summary",
    "canonical_json",
    "parse_time",
]

#: The JSON export's schema name and version; a reader refuses another major version.
SCHEMA = "sentry-members-review/1"
#: Invite ages the summary counts (days).
STALE_DAYS = (7, 30)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text: the same value always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@attrs.frozen(kw_only=True)
class ReviewMember:
    """One member or pending invite, as the review read it.

    ``last_login`` and ``last_active`` are the *account's*, across every
    organization the person belongs to: Sentry does not record activity per
    organization (getsentry/sentry#94883). ``has_2fa`` is ``None`` for an
    invite (no account yet). ``teams`` maps a team slug to the team role held
    there (the stored role raised to the org role's minimum); ``teams_listed`` is
    false for an invite on a Sentry whose team lists leave invites out.
    """

    member_id: str
    email: str
    name: str
    org_role: str
    pending: bool
    expired: bool
    invite_status: str
    date_created: dt.datetime | None
    inviter_name: str | None
    user_id: str | None
    user_email: str | None
    #: Every address of the account: (address, verified).
    emails: tuple[tuple[str, bool], ...]
    has_2fa: bool | None
    sso_linked: bool
    sso_invalid: bool
    idp_provisioned: bool
    idp_role_restricted: bool
    last_login: dt.datetime | None
    last_active: dt.datetime | None
    teams: tuple[tuple[str, str | None], ...]
    teams_listed: bool = True

    def invite_age_days(self, at: dt.datetime) -> float | None:
        """Days since the invite was sent (``None`` for an accepted member)."""
        if not self.pending or self.date_created is None:
            return None
        return (at - self.date_created).total_seconds() / 86400.0

    def to_json(self) -> dict[str, Any]:
        return {
            "memberId": self.member_id,
            "email": self.email,
            "name": self.name,
            "orgRole": self.org_role,
            "pending": self.pending,
            "expired": self.expired,
            "inviteStatus": self.invite_status,
            "dateCreated": _iso(self.date_created),
            "inviterName": self.inviter_name,
            "userId": self.user_id,
            "userEmail": self.user_email,
            "emails": [{"email": e, "verified": v} for e, v in self.emails],
            "has2fa": self.has_2fa,
            "flags": {
                "sso:linked": self.sso_linked,
                "sso:invalid": self.sso_invalid,
                "idp:provisioned": self.idp_provisioned,
                "idp:role-restricted": self.idp_role_restricted,
            },
            "accountLastLogin": _iso(self.last_login),
            "accountLastActive": _iso(self.last_active),
            "teams": [{"slug": s, "role": r} for s, r in self.teams],
            "teamsListed": self.teams_listed,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReviewMember:
        flags = data.get("flags", {})
        return cls(
            member_id=str(data["memberId"]),
            email=data.get("email", ""),
            name=data.get("name", ""),
            org_role=data.get("orgRole", "member"),
            pending=bool(data.get("pending")),
            expired=bool(data.get("expired")),
            invite_status=data.get("inviteStatus", "approved"),
            date_created=parse_time(data.get("dateCreated")),
            inviter_name=data.get("inviterName"),
            user_id=data.get("userId"),
            user_email=data.get("userEmail"),
            emails=tuple((e["email"], bool(e.get("verified"))) for e in data.get("emails", [])),
            has_2fa=data.get("has2fa"),
            sso_linked=bool(flags.get("sso:linked")),
            sso_invalid=bool(flags.get("sso:invalid")),
            idp_provisioned=bool(flags.get("idp:provisioned")),
            idp_role_restricted=bool(flags.get("idp:role-restricted")),
            last_login=parse_time(data.get("accountLastLogin")),
            last_active=parse_time(data.get("accountLastActive")),
            teams=tuple((t["slug"], t.get("role")) for t in data.get("teams", [])),
            teams_listed=bool(data.get("teamsListed", True)),
        )


@attrs.frozen(kw_only=True)
class ReviewTeam:
    """One team: the ``memberCount`` the teams list gave, and the members its list showed."""

    slug: str
    team_id: str
    member_count: int
    listed: int
    pages: int
    #: The team's list was read to its last page, with no member twice.
    complete: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "teamId": self.team_id,
            "memberCount": self.member_count,
            "listed": self.listed,
            "pages": self.pages,
            "complete": self.complete,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReviewTeam:
        return cls(
            slug=data["slug"],
            team_id=str(data.get("teamId", "")),
            member_count=int(data.get("memberCount", 0)),
            listed=int(data.get("listed", 0)),
            pages=int(data.get("pages", 0)),
            complete=bool(data.get("complete")),
        )


@attrs.frozen(kw_only=True)
class Changes:
    """What changed while the review ran (between its first reading and its last)."""

    appeared: tuple[str, ...] = ()
    disappeared: tuple[str, ...] = ()
    #: Each inconsistency the checks found, in words.
    signs: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.appeared or self.disappeared or self.signs)

    def to_json(self) -> dict[str, Any]:
        return {
            "appeared": list(self.appeared),
            "disappeared": list(self.disappeared),
            "signs": list(self.signs),
        }


@attrs.frozen(kw_only=True)
class Completeness:
    """The proof that nothing was missed.

    ``members_walked``: the members on the pages walked; ``members_at_end``:
    the count read at the end (the last page read again: Sentry's API has no
    member count, so the count is the last page's offset plus its length).
    They agree, no member was seen twice, every member on a team list is on
    the member pages and every team list was read to its end, or
    ``changed`` says what moved while the review ran (the review then read
    the org again, up to ``rounds`` times, and holds the last reading).
    """

    members_walked: int
    members_at_end: int
    member_pages: int
    team_pages: int
    requests: int
    rounds: int
    teams_complete: bool
    consistent: bool
    changed: Changes = attrs.field(factory=Changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "membersWalked": self.members_walked,
            "membersAtEnd": self.members_at_end,
            "memberPages": self.member_pages,
            "teamPages": self.team_pages,
            "requests": self.requests,
            "rounds": self.rounds,
            "teamsComplete": self.teams_complete,
            "consistent": self.consistent,
            "changedWhileRunning": self.changed.to_json(),
        }


@attrs.frozen(kw_only=True)
class Summary:
    """The counts a reviewer signs off."""

    members: int
    accepted: int
    pending: int
    owners: int
    managers: int
    without_2fa: int
    sso_not_linked: int
    sso_invalid: int
    idp_provisioned: int
    invites_older_7: int
    invites_older_30: int
    expired: int
    without_team: int
    owners_without_2fa: int
    roles: Mapping[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "members": self.members,
            "accepted": self.accepted,
            "pending": self.pending,
            "owners": self.owners,
            "managers": self.managers,
            "without2fa": self.without_2fa,
            "ssoNotLinked": self.sso_not_linked,
            "ssoInvalid": self.sso_invalid,
            "idpProvisioned": self.idp_provisioned,
            "invitesOlderThan7Days": self.invites_older_7,
            "invitesOlderThan30Days": self.invites_older_30,
            "expired": self.expired,
            "withoutTeam": self.without_team,
            "ownersWithout2fa": self.owners_without_2fa,
            "roles": dict(sorted(self.roles.items())),
        }


def summarize(members: Sequence[ReviewMember], at: dt.datetime) -> Summary:
    """The summary counts of ``members`` as of ``at`` (invite ages)."""
    accepted = [m for m in members if not m.pending]
    ages = [a for m in members if (a := m.invite_age_days(at)) is not None]
    roles: dict[str, int] = {}
    for m in members:
        roles[m.org_role] = roles.get(m.org_role, 0) + 1
    return Summary(
        members=len(members),
        accepted=len(accepted),
        pending=len(members) - len(accepted),
        owners=sum(1 for m in members if m.org_role == "owner"),
        managers=sum(1 for m in members if m.org_role == "manager"),
        without_2fa=sum(1 for m in accepted if not m.has_2fa),
        sso_not_linked=sum(1 for m in accepted if not m.sso_linked),
        sso_invalid=sum(1 for m in accepted if m.sso_invalid),
        idp_provisioned=sum(1 for m in members if m.idp_provisioned),
        invites_older_7=sum(1 for a in ages if a > STALE_DAYS[0]),
        invites_older_30=sum(1 for a in ages if a > STALE_DAYS[1]),
        expired=sum(1 for m in members if m.pending and m.expired),
        without_team=sum(1 for m in accepted if not m.teams),
        owners_without_2fa=sum(1 for m in accepted if m.org_role == "owner" and not m.has_2fa),
        roles=roles,
    )


@attrs.frozen(kw_only=True)
class Review:
    """One consistent snapshot of an organization's members, teams and access.

    ``members`` is in member-id order, ``teams`` in slug order. ``content_hash``
    is the SHA-256 of the canonical JSON of the members and teams (not of the
    times or the request counts), so two reviews of an unchanged org have the
    same hash.
    """

    org: str
    started_at: dt.datetime
    finished_at: dt.datetime
    members: tuple[ReviewMember, ...]
    teams: tuple[ReviewTeam, ...]
    completeness: Completeness | None = None

    @property
    def summary(self) -> Summary:
        return summarize(self.members, self.finished_at)

    def content(self) -> dict[str, Any]:
        """What the hash covers: the members and the teams as read."""
        return {
            "org": self.org,
            "members": [m.to_json() for m in self.members],
            "teams": [
                {"slug": t.slug, "teamId": t.team_id, "memberCount": t.member_count}
                for t in self.teams
            ],
        }

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.content()).encode()).hexdigest()

    def findings(self) -> dict[str, list[ReviewMember]]:
        """Owners without 2FA, invites older than 30 days or expired, members without a team."""
        at = self.finished_at
        return {
            "ownersWithout2fa": [
                m for m in self.members if not m.pending and m.org_role == "owner" and not m.has_2fa
            ],
            "staleInvites": [
                m
                for m in self.members
                if m.pending and (m.expired or (m.invite_age_days(at) or 0) > STALE_DAYS[0])
            ],
            "withoutTeam": [m for m in self.members if not m.pending and not m.teams],
        }
