"""Seeding an emulated Sentry: organizations, teams, members, tokens, and what
people do outside the API (accepting an invite, an SSO login).

:class:`Seeding` is a part of :class:`~.emulator.SentryEmulator`; it writes the
emulator's ``state`` directly, as Sentry's own test factories write its
database (src/sentry/testutils/factories.py).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping

from .profiles import Profile
from .seeding import seed_members
from .state import ORG_ROLES, Organization, State

__all__ = ["Seeding"]


class Seeding:
    """The seeding methods of ``SentryEmulator``."""

    seed: int
    state: State
    profile: Profile
    invite_quotas: bool
    _rng: random.Random

    def add_org(
        self,
        slug: str,
        *,
        name: str | None = None,
        scim: bool = False,
        scim_provider: str = "okta",
        open_membership: bool = True,
        team_roles: bool = True,
        invite_rate_limits: bool | None = None,
        legacy_reinvite_message: bool | None = None,
        scim_group_display_slug: bool = False,
        owner_email: str | None = None,
        owner_name: str = "Org Owner",
    ) -> Organization:
        """Create an organization with one owner (the user of default user tokens).

        ``invite_rate_limits``: the daily invite quotas (default: the
        emulator's ``invite_quotas``). ``legacy_reinvite_message``: answer a
        pending invitee's re-invite with the older "is already a member" (default:
        the profile's).
        ``scim_group_display_slug``: SCIM Groups show the slug as ``displayName``
        (older Sentry) instead of the team name.
        """
        if slug in self.state.orgs:
            raise ValueError(f"organization {slug!r} exists")
        org = self.state.new_org(slug, name or slug.replace("-", " ").title())
        org.scim_enabled = scim
        org.scim_provider = scim_provider
        org.open_membership = open_membership
        org.team_roles = team_roles
        org.invite_rate_limits = (
            self.invite_quotas if invite_rate_limits is None else invite_rate_limits
        )
        org.legacy_reinvite_message = (
            self.profile.legacy_reinvite_message
            if legacy_reinvite_message is None
            else legacy_reinvite_message
        )
        org.scim_group_display_slug = scim_group_display_slug
        email = owner_email or f"owner@{slug}.example.com"
        user = self.state.new_user(email, owner_name, has_2fa=True)
        self.state.new_member(org, "owner", user=user)
        return org

    def _org(self, slug: str) -> Organization:
        org = self.state.org(slug)
        if org is None:
            raise KeyError(f"no organization {slug!r}")
        return org

    def add_team(
        self, org: str, slug: str, *, name: str | None = None, idp_provisioned: bool = False
    ) -> str:
        """Create a team; returns its slug."""
        o = self._org(org)
        if o.team_by_slug(slug) is not None:
            raise ValueError(f"team {slug!r} exists")
        team = self.state.new_team(o, slug, name or slug.replace("-", " ").title())
        team.idp_provisioned = idp_provisioned
        return slug

    def add_teams(self, org: str, n: int, *, prefix: str = "team") -> list[str]:
        """Create ``n`` teams named ``{prefix}-01`` ...; returns their slugs."""
        width = max(2, len(str(n)))
        start = len(self._org(org).teams)
        return [
            self.add_team(org, f"{prefix}-{i:0{width}d}") for i in range(start + 1, start + n + 1)
        ]

    def add_members(
        self,
        org: str,
        n: int,
        *,
        pending_ratio: float = 0.05,
        teams: int | Iterable[str] = (),
        roles: Mapping[str, float] | None = None,
        domain: str | None = None,
    ) -> list[int]:
        """Add ``n`` realistic, deterministic members; returns their member ids.

        ``pending_ratio`` of them are pending invites (``user: null``);
        ``teams`` (slugs, or a count of the org's first teams) are spread over
        them; ``roles`` weights the org roles (default mostly ``member``).
        """
        o = self._org(org)
        weights = dict(roles or {"member": 0.9, "admin": 0.04, "manager": 0.05, "billing": 0.01})
        if isinstance(teams, int):
            team_objs = o.active_teams()[:teams]
        else:
            team_objs = [t for t in (o.team_by_slug(s) for s in teams) if t is not None]
        return seed_members(
            self.state,
            o,
            n,
            self._rng,
            pending_ratio=pending_ratio,
            teams=team_objs,
            roles=weights,
            domain=domain or f"{o.slug}.example.com",
        )

    def add_member(
        self,
        org: str,
        email: str,
        *,
        role: str = "member",
        name: str | None = None,
        pending: bool = False,
        invite_status: str = "approved",
        teams: Mapping[str, str | None] | Iterable[str] = (),
        inviter: str | None = None,
        flags: Mapping[str, bool] | None = None,
    ) -> int:
        """Add one member (or, with ``pending``, an invite) as given; returns its id.

        ``teams``: slugs, or slug -> team role (``None``: the org role's default);
        ``inviter``: the e-mail of the member who invited them.
        """
        o = self._org(org)
        if role not in ORG_ROLES:
            raise ValueError(f"unknown role {role!r}")
        if self.state.member_by_email(o, email) is not None:
            raise ValueError(f"{email!r} is already in {org!r}")
        inviter_id = None
        if inviter is not None:
            who = self.state.member_by_email(o, inviter)
            inviter_id = who.user_id if who is not None else None
        if pending:
            member = self.state.new_member(o, role, email=email, inviter_id=inviter_id)
        else:
            user = self.state.new_user(email, name or email.split("@", 1)[0])
            member = self.state.new_member(o, role, user=user, inviter_id=inviter_id)
        member.invite_status = invite_status
        member.flags.update(flags or {})
        self.set_teams(org, email, teams)
        return member.id

    def set_teams(
        self, org: str, email: str, teams: Mapping[str, str | None] | Iterable[str]
    ) -> None:
        """Put the member with ``email`` on exactly these teams (slug -> team role)."""
        o = self._org(org)
        member = self.state.member_by_email(o, email)
        if member is None:
            raise ValueError(f"no member {email!r}")
        roles = dict(teams) if isinstance(teams, Mapping) else dict.fromkeys(teams)
        member.teams = {}
        for slug, team_role in roles.items():
            team = o.team_by_slug(slug)
            if team is None:
                raise ValueError(f"no team {slug!r}")
            member.teams[team.id] = team_role
        o.version += 1

    def accept_invite(self, org: str, email: str) -> int:
        """Turn the pending invite for ``email`` into a member; returns the user id."""
        o = self._org(org)
        member = self.state.member_by_email(o, email)
        if member is None or not member.pending:
            raise ValueError(f"no pending invite for {email!r}")
        name = email.split("@", 1)[0].replace(".", " ").title()
        user = self.state.new_user(email, name)
        self.state.accept(o, member, user)
        return user.id

    def add_invite_request(self, org: str, email: str, *, join: bool = False) -> int:
        """An invite request (or, with ``join``, a join request) for ``email``;
        not listed, replaced by a real invite. Returns its member id."""
        o = self._org(org)
        owner = next(m for m in o.members.values() if m.role == "owner")
        member = self.state.new_member(o, "member", email=email, inviter_id=owner.user_id)
        member.invite_status = "requested_to_join" if join else "requested_to_be_invited"
        self.state.invites_created[(o.slug, email.lower())] -= 1  # a request, not an invite
        o.version += 1
        return member.id

    def sso_login(self, org: str, email: str, *, name: str | None = None) -> int:
        """A person logs in through the org's SSO for the first time; returns the member id.

        As Sentry does (``ApiInviteHelper.from_session_or_email`` in
        src/sentry/api/invite_helper.py, used by src/sentry/auth/helper.py): a
        pending invite for the identity's e-mail is accepted in place (same
        member id); without one, a new member is created just in time with the
        default role and no inviter. Either way the member is ``sso:linked``.
        """
        o = self._org(org)
        member = self.state.member_by_email(o, email)
        if member is not None and not member.pending:
            member.flags["sso:linked"] = True
            o.version += 1
            return member.id
        user = self.state.new_user(email, name or email.split("@", 1)[0].replace(".", " ").title())
        if member is not None:
            self.state.accept(o, member, user)
        else:
            member = self.state.new_member(o, "member", user=user)
        member.flags["sso:linked"] = True
        return member.id
