"""SCIM 2.0 resources: Users (organization members) and Groups (teams)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .ids import MemberId, TeamId
from .members import extra_field

__all__ = ["ScimEmail", "ScimGroup", "ScimGroupMember", "ScimName", "ScimUser"]


@attrs.frozen(kw_only=True)
class ScimEmail:
    value: str
    primary: bool = False
    type: str = "work"


@attrs.frozen(kw_only=True)
class ScimName:
    given_name: str = ""
    family_name: str = ""


@attrs.frozen(kw_only=True)
class ScimUser:
    """A SCIM User: its ``id`` is the member id; ``user_name`` is the e-mail."""

    id: MemberId
    user_name: str
    emails: tuple[ScimEmail, ...] = ()
    name: ScimName = attrs.field(factory=ScimName)
    #: Omitted by Sentry for Azure AD; ``None`` then.
    active: bool | None = None
    sentry_org_role: str = "member"
    schemas: tuple[str, ...] = ()
    meta: Mapping[str, Any] = attrs.field(factory=dict)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ScimGroupMember:
    value: MemberId
    display: str = ""


@attrs.frozen(kw_only=True)
class ScimGroup:
    """A SCIM Group (a team): ``id`` is the team id, ``display_name`` its name
    (older Sentry versions sent the slug)."""

    id: TeamId
    display_name: str
    #: ``None`` when listed with ``excludedAttributes=members``.
    members: tuple[ScimGroupMember, ...] | None = None
    schemas: tuple[str, ...] = ()
    meta: Mapping[str, Any] = attrs.field(factory=dict)
    extra: Mapping[str, Any] = extra_field()
