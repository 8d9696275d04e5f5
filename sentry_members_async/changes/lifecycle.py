"""The invite lifecycle in bulk: re-invites through the quota gate, and old invites revoked.

``acme.bulk.reinvite(members)`` and ``acme.bulk.cleanup_invites(older_than_days=N)``
build their changes here (:class:`.values.Reinvite`, :class:`.values.RemoveMember`)
and run them through the one executor.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ..api._common import PendingInvite
from ..errors import ValidationError
from ..models import MemberId
from .executor import Prepare
from .outcomes import Done, OutcomeKind
from .values import Operation, Reinvite, RemoveMember

if TYPE_CHECKING:
    from ..api.members import MembersAPI

__all__ = ["PendingInvite", "reinvite_step", "revoke_step", "stale_invites"]

#: The oldest invite age ``cleanup_invites`` takes, in days (a hundred years).
MAX_DAYS = 36_500


def reinvite_step(members: MembersAPI, regenerate: bool) -> Prepare[MemberId | str]:
    """Each key (member id or e-mail) to its :class:`Reinvite`, or to what is already so."""
    if not isinstance(regenerate, bool):
        raise ValidationError("regenerate must be a bool")

    async def prepare(key: MemberId | str) -> Operation | Done:
        member = await members.find(key)
        if member is None:
            return Done(OutcomeKind.NOT_FOUND)
        if not member.pending:
            return Done(OutcomeKind.ALREADY_MEMBER, member.id)
        return Reinvite(member.id, member.email, regenerate)

    return prepare


async def stale_invites(
    members: MembersAPI, older_than_days: float, expired_only: bool
) -> list[PendingInvite]:
    """The pending invites at least ``older_than_days`` old (only expired ones with
    ``expired_only``), read in full before any is revoked."""
    if isinstance(older_than_days, bool) or not isinstance(older_than_days, int | float):
        raise ValidationError("older_than_days must be a number of days")
    if not 0 <= older_than_days <= MAX_DAYS:
        raise ValidationError(f"older_than_days must be from 0 to {MAX_DAYS:,}")
    age = dt.timedelta(days=older_than_days)
    return [
        invite
        async for invite in members.invites(older_than=age)
        if invite.expired or not expired_only
    ]


async def revoke_step(invite: PendingInvite) -> Operation | Done:
    """An invite to its revocation (``DELETE members/{id}/``; a 404 is ``not_found``)."""
    return RemoveMember(invite.id, invite.email, invite.member.org_role)
