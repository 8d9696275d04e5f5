"""Seeding an emulated Sentry: organizations, teams, members, tokens, and what
people do outside the API (accepting an invite, an SSO login).

:class:`Seeding` is a part of :class:`~.emulator.SentryEmulator`; it writes the
emulator's ``state`` directly, as Sentry's own test factories write its
database (src/sentry/testutils/factories.py).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Mapping

from .clock import EmulatorClock
from .profiles import Profile
from .seeding import seed_members
from .state import ORG_ROLES, Member, Organization, State, User

__all__ = ["Seeding"]


class Seeding:
    """The seeding methods of ``SentryEmulator``."""

    seed: int
    state: State
    profile: Profile
    invite_quotas: bool
    _rng: random.Random
    _clock: EmulatorClock

    def _days_ago(self, days: float) -> dt.datetime:
        """The emulator's clock less ``days`` (seeding's invite and login dates)."""
        now = dt.datetime.fromtimestamp(self._clock.now(), dt.timezone.utc)
        return now - dt.timedelta(days=days)

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
        two_factor_ratio: float = 0.3,
        sso_linked_ratio: float = 0.2,
    ) -> list[int]:
        """Add ``n`` realistic, deterministic members; returns their member ids.

        ``pending_ratio`` of them are pending invites (``user: null``);
        ``teams`` (slugs, or a count of the org's first teams) are spread over
        them; ``roles`` weights the org roles (default mostly ``member``);
        ``two_factor_ratio`` and ``sso_linked_ratio`` of the accepted members
        have 2FA and a linked SSO identity.
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
            two_factor_ratio=two_factor_ratio,
            sso_linked_ratio=sso_linked_ratio,
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
        has_2fa: bool = False,
        invited_days_ago: float | None = None,
        expired: bool | None = None,
        user_emails: Iterable[tuple[str, bool]] = (),
        last_login_days_ago: float | None = None,
    ) -> int:
        """Add one member (or, with ``pending``, an invite) as given; returns its id.

        ``teams``: slugs, or slug -> team role (``None``: the org role's default);
        ``inviter``: the e-mail of the member who invited them; ``has_2fa``:
        the account has a second factor; ``invited_days_ago``: the member row's
        ``dateCreated`` that many days before the emulator's clock, and an
        invite older than Sentry's 30 days of validity is ``expired``
        (``INVITE_DAYS_VALID``, src/sentry/models/organizationmember.py) unless
        ``expired`` says otherwise; ``user_emails``: the account's other
        addresses, (address, verified); ``last_login_days_ago``: the account's
        last login and activity.
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
            user = self.state.new_user(email, name or email.split("@", 1)[0], has_2fa=has_2fa)
            user.secondary_emails = [(str(e), bool(v)) for e, v in user_emails]
            if last_login_days_ago is not None:
                user.last_login = user.last_active = self._days_ago(last_login_days_ago)
            member = self.state.new_member(o, role, user=user, inviter_id=inviter_id)
        member.invite_status = invite_status
        member.flags.update(flags or {})
        self._date(member, invited_days_ago, expired)
        self.set_teams(org, email, teams)
        return member.id

    def _date(self, member: Member, days_ago: float | None, expired: bool | None) -> None:
        if days_ago is not None:
            member.date_created = self._days_ago(days_ago)
            member.token_expired = member.pending and days_ago > 30
        if expired is not None:
            member.token_expired = expired

    def user_of(self, org: str, email: str) -> User:
        """The account of the member with ``email`` (an accepted member)."""
        member = self.state.member_by_email(self._org(org), email)
        if member is None or member.user_id is None:
            raise ValueError(f"no accepted member {email!r}")
        return self.state.users[member.user_id]

    def set_user(
        self,
        org: str,
        email: str,
        *,
        has_2fa: bool | None = None,
        add_email: str | None = None,
        verified: bool = True,
        last_login_days_ago: float | None = None,
    ) -> None:
        """Change the account of the member with ``email``: 2FA on or off, one more
        address (``verified`` or not), the last login and activity."""
        user = self.user_of(org, email)
        if has_2fa is not None:
            user.has_2fa = has_2fa
        if add_email is not None:
            user.secondary_emails.append((add_email, verified))
        if last_login_days_ago is not None:
            user.last_login = user.last_active = self._days_ago(last_login_days_ago)
        self._org(org).version += 1

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

    def accept_invite(
        self,
        org: str,
        email: str,
        *,
        account_email: str | None = None,
        keep_invite_address: bool | None = None,
    ) -> int:
        """Turn the pending invite for ``email`` into a member; returns the user id.

        ``account_email``: the invite is accepted by an account whose address
        is another one (getsentry/sentry#19592, #72224): the member then shows
        the account's address, as Sentry clears the invite's e-mail on
        acceptance (``OrganizationMember.approve_member_invitation`` /
        ``set_user``); ``keep_invite_address`` (default: with an
        ``account_email``) adds the invited address to the account as a
        verified secondary address.
        """
        o = self._org(org)
        member = self.state.member_by_email(o, email)
        if member is None or not member.pending:
            raise ValueError(f"no pending invite for {email!r}")
        address = account_email or email
        name = address.split("@", 1)[0].replace(".", " ").title()
        user = self.state.new_user(address, name)
        if account_email is not None and (keep_invite_address is None or keep_invite_address):
            user.secondary_emails.append((email, True))
        self.state.accept(o, member, user)
        return user.id

    def remove_member(self, org: str, email: str) -> None:
        """The member (or invite) with ``email`` leaves, as if removed outside the API."""
        o = self._org(org)
        member = self.state.member_by_email(o, email)
        if member is None:
            raise ValueError(f"no member {email!r}")
        self.state.remove_member(o, member)

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
