"""The emulator's server state: plain Python, no I/O.

Organizations, users, members (pending invites included), teams, team
memberships with team roles, and auth tokens with scopes and kinds. Member
ids and user ids are separate number sequences, as on Sentry. Role data is
Sentry's default catalogue (billing < member < admin < manager < owner).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass, field

from .profiles import LATEST, Profile

__all__ = [
    "ORG_ROLES",
    "TEAM_ROLES",
    "Member",
    "OrgRole",
    "Organization",
    "State",
    "Team",
    "TeamRole",
    "Token",
    "User",
]


@dataclass(frozen=True)
class _Role:
    """What Sentry's org and team role catalogues share (src/sentry/roles/manager.py)."""

    id: str
    name: str
    desc: str
    scopes: tuple[str, ...]
    priority: int


@dataclass(frozen=True)
class OrgRole(_Role):
    is_retired: bool
    is_global: bool
    is_team_roles_allowed: bool
    minimum_team_role: str


@dataclass(frozen=True)
class TeamRole(_Role):
    is_minimum_role_for: str | None


_MEMBER_SCOPES = (
    "team:read", "project:releases", "org:read", "event:read", "alerts:write",
    "member:read", "alerts:read", "event:admin", "project:read", "event:write",
)  # fmt: skip
_ADMIN_SCOPES = (
    "team:admin", "org:integrations", "project:admin", "team:read", "project:releases",
    "org:read", "team:write", "event:read", "alerts:write", "member:read", "alerts:read",
    "event:admin", "project:read", "event:write", "project:write",
)  # fmt: skip
_MANAGER_SCOPES = (
    "team:admin", "org:integrations", "project:releases", "team:write", "member:read",
    "org:write", "project:write", "project:admin", "team:read", "org:read", "event:read",
    "member:write", "alerts:write", "alerts:read", "event:admin", "project:read",
    "event:write", "member:admin",
)  # fmt: skip
_OWNER_SCOPES = (
    "team:admin", "org:integrations", "project:releases", "org:admin", "team:write",
    "member:read", "org:write", "project:write", "project:admin", "team:read", "org:read",
    "event:read", "member:write", "alerts:write", "org:billing", "alerts:read",
    "event:admin", "project:read", "event:write", "member:admin",
)  # fmt: skip

ORG_ROLES: dict[str, OrgRole] = {
    r.id: r
    for r in (
        OrgRole(
            "billing", "Billing", "Can manage subscription and billing details.",
            ("org:billing",), 0, False, False, False, "contributor",
        ),
        OrgRole(
            "member", "Member",
            "Members can view and act on events, as well as view most other data within the "
            "organization.",
            _MEMBER_SCOPES, 1, False, False, True, "contributor",
        ),
        OrgRole(
            "admin", "Admin",
            "Admin privileges on any teams of which they're a member. They can create new teams "
            "and projects, as well as remove teams and projects on which they already hold "
            "membership (or all teams, if open membership is enabled). Additionally, they can "
            "manage memberships of teams that they are members of. They cannot invite members "
            "to the organization.",
            _ADMIN_SCOPES, 2, True, False, True, "admin",
        ),
        OrgRole(
            "manager", "Manager",
            "Gains admin access on all teams as well as the ability to add and remove members.",
            _MANAGER_SCOPES, 3, False, True, True, "admin",
        ),
        OrgRole(
            "owner", "Owner",
            "Unrestricted access to the organization, its data, and its settings. Can add, "
            "modify, and delete projects and members, as well as make billing and plan changes.",
            _OWNER_SCOPES, 4, False, True, True, "admin",
        ),
    )
}  # fmt: skip

TEAM_ROLES: dict[str, TeamRole] = {
    r.id: r
    for r in (
        TeamRole(
            "contributor", "Contributor",
            "Contributors can view and act on events, as well as view most other data within "
            "the team's projects.",
            ("project:read", "project:releases", "member:read", "team:read", "event:read",
             "alerts:read", "event:write", "org:read"),
            0, None,
        ),
        TeamRole(
            "admin", "Team Admin",
            "Admin privileges on the team. They can create and remove projects, and can manage "
            "the team's memberships.",
            ("project:read", "project:releases", "member:read", "event:admin", "team:write",
             "project:admin", "team:read", "org:integrations", "alerts:write", "team:admin",
             "project:write", "event:read", "alerts:read", "event:write", "org:read"),
            1, "admin",
        ),
    )
}  # fmt: skip

ALL_SCOPES = (
    "org:read", "org:write", "org:admin", "member:read", "member:write", "member:admin",
    "member:invite", "team:read", "team:write", "team:admin",
)  # fmt: skip

SLUG_RE = re.compile(r"^(?![0-9]+$)[a-z0-9_\-]+$")
#: 23.7.1's team slug field: any mix of lower-case letters, digits, ``_`` and ``-``.
LEGACY_SLUG_RE = re.compile(r"^[a-z0-9_\-]+$")
SLUG_MAX = 50
EPOCH = dt.datetime(2023, 1, 2, 9, 0, 0, tzinfo=dt.timezone.utc)


def iso(when: dt.datetime) -> str:
    """Sentry's timestamp format: ISO 8601 with microseconds and a ``Z``."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def slugify(value: str) -> str:
    """Django's slugify as Sentry uses it (ASCII, lower-case, dashes)."""
    value = re.sub(r"[^\w\s-]", "", value.lower(), flags=re.ASCII)
    return re.sub(r"[-\s]+", "-", value).strip("-_")


@dataclass
class User:
    id: int
    email: str
    name: str
    username: str
    date_joined: dt.datetime
    is_active: bool = True
    has_2fa: bool = False
    last_login: dt.datetime | None = None
    #: ``User.last_active`` (``None``: Sentry's default, the time the user was created).
    last_active: dt.datetime | None = None
    #: The account's other addresses (``UserEmail`` rows): (address, verified).
    secondary_emails: list[tuple[str, bool]] = field(default_factory=list)


@dataclass
class Team:
    id: int
    org_id: int
    slug: str
    name: str
    date_created: dt.datetime
    idp_provisioned: bool = False
    active: bool = True


@dataclass
class Member:
    id: int
    org_id: int
    role: str
    date_created: dt.datetime
    #: The invite address; ``None`` once the invite is accepted (the user's wins).
    email: str | None = None
    user_id: int | None = None
    #: ``approved``, ``requested_to_be_invited`` or ``requested_to_join``.
    invite_status: str = "approved"
    inviter_id: int | None = None
    token_expired: bool = False
    flags: dict[str, bool] = field(
        default_factory=lambda: {
            "idp:provisioned": False,
            "idp:role-restricted": False,
            "sso:linked": False,
            "sso:invalid": False,
            "member-limit:restricted": False,
            "partnership:restricted": False,
        }
    )
    #: team id -> team role (``None``: the default for the org role).
    teams: dict[int, str | None] = field(default_factory=dict)

    @property
    def pending(self) -> bool:
        return self.user_id is None


@dataclass
class Organization:
    id: int
    slug: str
    name: str
    date_created: dt.datetime
    scim_enabled: bool = False
    scim_provider: str = "okta"
    open_membership: bool = True
    team_roles: bool = True
    invite_members: bool = True
    #: ``flags.disable_member_invite``: members (without ``member:admin``) may not invite.
    disable_member_invite: bool = False
    invite_rate_limits: bool = False
    #: Answer a pending invitee's re-invite with the older "is already a member"
    #: wording (Sentry before ``validate_email`` told the two apart).
    legacy_reinvite_message: bool = False
    #: SCIM Groups' ``displayName`` is the team slug (older Sentry) instead of its name.
    scim_group_display_slug: bool = False
    members: dict[int, Member] = field(default_factory=dict)
    teams: dict[int, Team] = field(default_factory=dict)
    #: lower-case e-mail -> member id (approved rows only).
    by_email: dict[str, int] = field(default_factory=dict)
    #: user id -> member id.
    by_user: dict[int, int] = field(default_factory=dict)
    #: bumped on every change to the member set; keys the list cache.
    version: int = 0
    #: (version, members in listing order): the members list, cached until a change.
    listing: tuple[int, list[Member]] | None = field(default=None, repr=False, compare=False)
    #: (version, team id -> listed members on it): the team member lists of a large
    #: org, cached until a change (``handlers/teams.py``).
    team_index: tuple[int, dict[int, list[Member]]] | None = field(
        default=None, repr=False, compare=False
    )
    #: (version, team id -> members on it, invites included): the teams list's
    #: ``memberCount`` of a large org, cached until a change (``handlers/lookups.py``).
    team_counts: tuple[int, dict[int, int]] | None = field(default=None, repr=False, compare=False)

    def active_teams(self) -> list[Team]:
        return sorted((t for t in self.teams.values() if t.active), key=lambda t: t.slug)

    def team_by_slug(self, slug: str) -> Team | None:
        for team in self.teams.values():
            if team.active and team.slug == slug:
                return team
        return None


@dataclass
class Token:
    token: str
    kind: str  # "user" | "integration" | "scim"
    scopes: frozenset[str]
    org_id: int | None
    user_id: int | None = None
    expired: bool = False
    #: An integration's proxy user (SCIM, internal integrations): in no
    #: organization, no name or e-mail; what the token acts as.
    proxy_user_id: int | None = None


class State:
    """Every object of the emulated Sentry, with id sequences of its own."""

    def __init__(self, profile: Profile = LATEST) -> None:
        #: The Sentry release the handlers answer as (``profiles.py``).
        self.profile = profile
        self.orgs: dict[str, Organization] = {}
        self.users: dict[int, User] = {}
        self.tokens: dict[str, Token] = {}
        self._org_ids = itertools.count(101)
        self._user_ids = itertools.count(280_094_367_301)
        self._member_ids = itertools.count(57_377_908_101)
        self._team_ids = itertools.count(4_502_349_234_101)
        self._clock = itertools.count()
        #: number of invites created per (org slug, lower-case e-mail): detects duplicates.
        self.invites_created: dict[tuple[str, str], int] = {}
        #: the emulator's clock (epoch seconds), set before each request is handled.
        self.now: float = 0.0
        #: daily invite quota counters: key -> (fixed 24 h window number, count).
        self.invite_counters: dict[str, tuple[int, int]] = {}

    def tick(self) -> dt.datetime:
        """A deterministic, increasing timestamp."""
        return EPOCH + dt.timedelta(seconds=next(self._clock) * 37, microseconds=123_456)

    def org(self, slug_or_id: str) -> Organization | None:
        org = self.orgs.get(slug_or_id)
        if org is None and (slug_or_id.isascii() and slug_or_id.isdigit()):
            org = next((o for o in self.orgs.values() if o.id == int(slug_or_id)), None)
        return org

    def new_org(self, slug: str, name: str) -> Organization:
        org = Organization(next(self._org_ids), slug, name, self.tick())
        self.orgs[slug] = org
        return org

    def new_user(self, email: str, name: str, *, has_2fa: bool = False) -> User:
        user = User(next(self._user_ids), email, name, email, self.tick(), has_2fa=has_2fa)
        self.users[user.id] = user
        return user

    def new_member(
        self,
        org: Organization,
        role: str,
        *,
        user: User | None = None,
        email: str | None = None,
        inviter_id: int | None = None,
    ) -> Member:
        member = Member(
            next(self._member_ids),
            org.id,
            role,
            self.tick(),
            email=None if user is not None else email,
            user_id=user.id if user is not None else None,
            inviter_id=inviter_id,
        )
        org.members[member.id] = member
        org.by_email[(user.email if user is not None else email or "").lower()] = member.id
        if user is not None:
            org.by_user[user.id] = member.id
        org.version += 1
        if user is None and email is not None:
            key = (org.slug, email.lower())
            self.invites_created[key] = self.invites_created.get(key, 0) + 1
        return member

    def new_team(self, org: Organization, slug: str, name: str) -> Team:
        team = Team(next(self._team_ids), org.id, slug, name, self.tick())
        org.teams[team.id] = team
        return team

    def member_email(self, member: Member) -> str:
        if member.user_id is not None:
            return self.users[member.user_id].email
        return member.email or ""

    def member_by_email(self, org: Organization, email: str) -> Member | None:
        member_id = org.by_email.get(email.lower())
        return org.members.get(member_id) if member_id is not None else None

    def remove_member(self, org: Organization, member: Member) -> None:
        org.members.pop(member.id, None)
        org.by_email.pop(self.member_email(member).lower(), None)
        if member.user_id is not None:
            org.by_user.pop(member.user_id, None)
        org.version += 1

    def accept(self, org: Organization, member: Member, user: User) -> None:
        org.by_email.pop(self.member_email(member).lower(), None)
        member.user_id, member.email = user.id, None
        org.by_email[user.email.lower()] = member.id
        org.by_user[user.id] = member.id
        org.version += 1

    def member_of_user(self, org: Organization, user_id: int) -> Member | None:
        member_id = org.by_user.get(user_id)
        return org.members.get(member_id) if member_id is not None else None
