"""Members, users, flags and role catalogues, as Sentry's API returns them.

Field names are snake_case; the converter maps them to Sentry's camelCase.
Fields Sentry adds later land in ``extra`` (never dropped, never an error);
role values are kept as strings so new roles decode too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from .ids import MemberId, UserId

__all__ = [
    "MINIMUM_TEAM_ROLE",
    "ORG_ROLE_NAMES",
    "TEAM_ROLE_NAMES",
    "Flags",
    "Member",
    "OrgRole",
    "TeamRole",
    "TeamRoleAssignment",
    "User",
    "UserEmail",
    "effective_team_role",
    "json_name",
]

#: Sentry's organization roles, lowest to highest (``admin`` is retired for new
#: assignments when the org has team roles).
ORG_ROLE_NAMES = ("billing", "member", "admin", "manager", "owner")
#: Sentry's team roles, lowest to highest.
TEAM_ROLE_NAMES = ("contributor", "admin")
#: The team role an organization role holds on every team at least (Sentry's
#: ``OrganizationRole.get_minimum_team_role``, src/sentry/roles/manager.py, from
#: ``SENTRY_TEAM_ROLES`` in src/sentry/conf/server.py: Team Admin
#: ``is_minimum_role_for`` the ``admin`` org role, so for every role above it too).
#: A member's details carry the same in ``orgRoleList[].minimumTeamRole``, which
#: :attr:`Member.minimum_team_role` prefers.
MINIMUM_TEAM_ROLE: Mapping[str, str] = {
    "billing": "contributor",
    "member": "contributor",
    "admin": "admin",
    "manager": "admin",
    "owner": "admin",
}

_EMPTY: Mapping[str, Any] = {}


def effective_team_role(stored: str | None, minimum: str) -> str:
    """The team role a member holds: the stored one, raised to the org role's minimum.

    Sentry stores ``None`` instead of a team role that the org role's minimum
    team role already gives (``_change_team_member_role`` in
    src/sentry/api/endpoints/organization_member/team_details.py), and answers
    ``PUT .../teams/{team}/`` with that stored value: ``{"teamRole": null}`` for
    a manager set to ``contributor``, who stays a team admin. A role this
    package does not know is taken as it is (it cannot be ranked).
    """
    if stored is None:
        return minimum
    if stored not in TEAM_ROLE_NAMES or minimum not in TEAM_ROLE_NAMES:
        return stored
    return max(stored, minimum, key=TEAM_ROLE_NAMES.index)


def json_name(name: str, **kwargs: Any) -> Any:
    """An attrs field whose JSON key is ``name`` (instead of the camelCase default)."""
    metadata = dict(kwargs.pop("metadata", {}))
    metadata["json"] = name
    return attrs.field(metadata=metadata, **kwargs)


def extra_field() -> Any:
    """Unknown JSON keys, kept as they came."""
    return attrs.field(factory=dict, repr=False, eq=False, metadata={"extra": True})


@attrs.frozen(kw_only=True)
class UserEmail:
    id: str
    email: str
    is_verified: bool = json_name("is_verified", default=False)


@attrs.frozen(kw_only=True)
class User:
    """A Sentry user account (present once an invite is accepted)."""

    id: UserId
    name: str = ""
    username: str = ""
    email: str = ""
    avatar_url: str | None = None
    is_active: bool = True
    is_suspended: bool = False
    has_password_auth: bool = False
    is_managed: bool = False
    date_joined: dt.datetime | None = None
    last_login: dt.datetime | None = None
    last_active: dt.datetime | None = None
    has_2fa: bool = False
    is_superuser: bool = False
    is_staff: bool = False
    emails: tuple[UserEmail, ...] = ()
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class Flags:
    """A member's flags (``idp:provisioned`` is ``idp_provisioned`` and so on)."""

    idp_provisioned: bool = json_name("idp:provisioned", default=False)
    idp_role_restricted: bool = json_name("idp:role-restricted", default=False)
    sso_linked: bool = json_name("sso:linked", default=False)
    sso_invalid: bool = json_name("sso:invalid", default=False)
    member_limit_restricted: bool = json_name("member-limit:restricted", default=False)
    partnership_restricted: bool = json_name("partnership:restricted", default=False)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class TeamRoleAssignment:
    """One entry of ``teamRoles``: a team slug and the member's role on it."""

    team_slug: str
    role: str | None = None


@attrs.frozen(kw_only=True)
class _Role:
    """What an organization role and a team role of the catalogue have in common."""

    id: str
    name: str = ""
    desc: str = ""
    scopes: tuple[str, ...] = ()
    allowed: bool = False
    is_allowed: bool = False
    is_retired: bool = False
    is_team_roles_allowed: bool = True
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class OrgRole(_Role):
    """One organization role of the catalogue (``orgRoleList``)."""

    is_global: bool = False
    minimum_team_role: str | None = None


@attrs.frozen(kw_only=True)
class TeamRole(_Role):
    """One team role of the catalogue (``teamRoleList``)."""

    is_minimum_role_for: str | None = None


@attrs.frozen(kw_only=True)
class Member:
    """An organization member, or a pending invite (``pending``, ``user is None``).

    List endpoints fill the summary fields; ``get`` adds ``teams``,
    ``team_roles`` and the role catalogues; team member lists add
    ``team_role`` and ``team_slug``.

    Payloads of every Sentry release decode, and these differences are smoothed:

    - ``user``: a pending invite's details come with ``"user": {}`` (Sentry
      23.7's ``OrganizationMemberWithRolesSerializer`` fills it from
      ``users_by_id.get(..., {})``, src/sentry/api/serializers/models/
      organization_member/expand/roles.py): an empty object is ``None`` for an
      invite (``pending`` true, or an ``inviteStatus`` other than ``approved``).
      An accepted member with ``"user": {}``, and a non-empty user without
      ``id``, are still a :class:`DecodeError` (at ``$.user.id``).
    - ``org_role``: from ``orgRole``, or from the deprecated ``role`` when
      ``orgRole`` is absent (older releases and the public docs' examples send
      only ``role``). A member with neither is a :class:`DecodeError`.
    - ``name``: ``""`` when the payload has no ``name`` (Sentry's serializer
      sends the user's name, or the e-mail for an invite, but older docs'
      examples leave it out). It stays a ``str``; it is never ``None``.
    - ``groupOrgRoles`` (23.7) and ``orgRolesFromTeams`` (newer): the org roles
      the member's teams give, kept as sent in ``extra``.
    """

    id: MemberId
    email: str = ""
    name: str = ""
    user: User | None = None
    org_role: str = "member"
    #: Deprecated alias of ``org_role`` that Sentry still sends.
    role: str | None = None
    role_name: str | None = None
    pending: bool = False
    #: Whether the invite link expired (Sentry sends a bool, or a string in places).
    expired: bool = False
    flags: Flags = attrs.field(factory=Flags)
    date_created: dt.datetime | None = None
    invite_status: str = "approved"
    inviter_name: str | None = None
    teams: tuple[str, ...] = ()
    team_roles: tuple[TeamRoleAssignment, ...] = ()
    invite_link: str | None = json_name("invite_link", default=None)
    is_only_owner: bool | None = None
    org_role_list: tuple[OrgRole, ...] = ()
    team_role_list: tuple[TeamRole, ...] = ()
    #: On team member lists: the member's role on that team, and its slug.
    team_role: str | None = None
    team_slug: str | None = None
    extra: Mapping[str, Any] = extra_field()

    @property
    def user_id(self) -> UserId | None:
        """The account's id (not the member id), once the invite is accepted."""
        return self.user.id if self.user is not None else None

    @property
    def minimum_team_role(self) -> str:
        """The team role ``org_role`` gives on every team (``orgRoleList`` first)."""
        for entry in self.org_role_list:
            if entry.id == self.org_role and entry.minimum_team_role:
                return entry.minimum_team_role
        return MINIMUM_TEAM_ROLE.get(self.org_role, TEAM_ROLE_NAMES[0])

    def team_role_on(self, team_slug: str) -> str | None:
        """The role this member holds on ``team_slug``, from a details payload (``get``).

        The stored ``teamRoles`` entry raised to :attr:`minimum_team_role`
        (:func:`effective_team_role`); ``None`` when the payload does not list
        the member on that team (list payloads carry no ``teamRoles``).
        """
        for entry in self.team_roles:
            if entry.team_slug == team_slug:
                return effective_team_role(entry.role, self.minimum_team_role)
        return None
