"""What the watcher knows of one member: :class:`MemberState`, kept in the checkpoint.

Read from the member list's rows only (``acme.members.list()``), so comparing
two states costs no request. The fields added for privilege alerts
(``has_2fa``, ``sso_invalid``, ``idp_provisioned``, ``idp_role_restricted``)
are ``None`` when not known: a pending invite has no user, and a checkpoint
saved by an older release did not keep them (no alert comes from a field that
was not known at both polls).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ..models import Member, MemberId, UserId

__all__ = ["MemberState"]


def _user_id(value: object) -> UserId | None:
    return None if value is None else UserId(str(value))


def _teams_tuple(value: Any) -> tuple[tuple[str, str | None], ...] | None:
    if value is None:
        return None
    return tuple(sorted((str(slug), None if role is None else str(role)) for slug, role in value))


@attrs.frozen(kw_only=True)
class MemberState:
    """What the watcher knows of one member (kept in the checkpoint)."""

    id: MemberId = attrs.field(converter=MemberId)
    email: str
    name: str = ""
    role: str = "member"
    pending: bool = False
    expired: bool = False
    user_id: UserId | None = attrs.field(default=None, converter=_user_id)
    #: Who sent the invite (``None`` for SSO just-in-time members and SCIM pushes).
    inviter: str | None = None
    sso_linked: bool = False
    #: ``flags["sso:invalid"]``: the SSO link exists but is no longer valid.
    sso_invalid: bool | None = None
    #: ``user.has2fa``: the account has two-factor authentication (``None``: no user).
    has_2fa: bool | None = None
    #: ``flags["idp:provisioned"]`` and ``flags["idp:role-restricted"]``: managed by SCIM.
    idp_provisioned: bool | None = None
    idp_role_restricted: bool | None = None
    #: ``(team slug, team role)`` pairs, sorted; ``None`` when teams are not watched.
    teams: tuple[tuple[str, str | None], ...] | None = attrs.field(
        default=None, converter=_teams_tuple
    )

    @classmethod
    def from_member(
        cls, member: Member, teams: Iterable[tuple[str, str | None]] | None = None
    ) -> MemberState:
        return cls(
            id=member.id,
            email=member.email,
            name=member.name,
            role=member.org_role,
            pending=member.pending,
            expired=member.expired,
            user_id=member.user_id,
            inviter=member.inviter_name,
            sso_linked=member.flags.sso_linked,
            # Sentry's list rows carry these (OrganizationMemberSerializer,
            # src/sentry/api/serializers/models/organization_member/base.py: "flags";
            # "user" from UserSerializer, src/sentry/api/serializers/models/user.py:
            # "has2fa"): no request more than the list.
            sso_invalid=member.flags.sso_invalid,
            has_2fa=member.user.has_2fa if member.user is not None else None,
            idp_provisioned=member.flags.idp_provisioned,
            idp_role_restricted=member.flags.idp_role_restricted,
            teams=None if teams is None else tuple(teams),
        )

    @property
    def team_slugs(self) -> frozenset[str]:
        return frozenset(slug for slug, _ in self.teams or ())

    def to_json(self) -> dict[str, Any]:
        data = attrs.asdict(self, recurse=False)
        if self.teams is not None:
            data["teams"] = [list(pair) for pair in self.teams]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MemberState:
        return cls(**data)
