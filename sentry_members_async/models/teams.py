"""Teams and team memberships."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from .ids import TeamId
from .members import extra_field

__all__ = ["Team", "TeamMembership"]


@attrs.frozen(kw_only=True)
class Team:
    """A team, as seen by the caller (``is_member`` and ``team_role`` are the caller's)."""

    id: TeamId
    slug: str
    name: str = ""
    date_created: dt.datetime | None = None
    is_member: bool = False
    team_role: str | None = None
    flags: Mapping[str, bool] = attrs.field(factory=dict)
    access: tuple[str, ...] = ()
    has_access: bool = False
    is_pending: bool = False
    member_count: int = 0
    avatar: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = extra_field()

    @property
    def idp_provisioned(self) -> bool:
        """Managed through SCIM: the REST API may not change it."""
        return bool(self.flags.get("idp:provisioned", False))


@attrs.frozen(kw_only=True)
class TeamMembership:
    """A member's state on one team (``PUT .../teams/{team}/``)."""

    is_active: bool = True
    team_role: str | None = None
    extra: Mapping[str, Any] = extra_field()
