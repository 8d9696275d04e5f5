"""Identifier types: a member id is not a user id.

Sentry's member ids (per organization membership) and user ids (the global
account) are both numeric strings, and mixing them up silently targets the
wrong person. ``MemberId`` and ``UserId`` are distinct ``str`` subclasses:
mypy refuses one where the other is required, and the API refuses a
``UserId`` at run time too.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

__all__ = ["Me", "MemberId", "MemberRef", "TeamId", "UserId"]


class MemberId(str):
    """The id of an organization membership (``/members/{member_id}/``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"MemberId({str.__repr__(self)})"


class UserId(str):
    """The id of a Sentry user account (``member.user.id``). Not a member id."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"UserId({str.__repr__(self)})"


class TeamId(str):
    """The numeric id of a team (SCIM group ids are team ids)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"TeamId({str.__repr__(self)})"


Me: TypeAlias = Literal["me"]
#: What every member-taking method accepts: a member id or ``"me"``.
MemberRef: TypeAlias = "MemberId | Me"
