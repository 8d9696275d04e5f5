"""Changes a bulk run would send and the token cannot make, refused before they are sent.

The rules are :mod:`..api.capabilities`' (Sentry's, cited there); this reads who
the token acts as once (``GET members/me/``; a 404 means a token with no member
behind it, an integration's), only when a change first needs it: an invite as
``member`` is allowed to every token that may invite, so a run of those sends no
extra request. A refused change ends ``refused`` with a
:class:`~..api.capabilities.ChangeRefusedError` that says why and how to make it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..api.capabilities import Caller, caller_of, check_invite, check_role_change
from ..errors import PermissionDeniedError
from .outcomes import Done, OutcomeKind

if TYPE_CHECKING:
    from ..api.members import MembersAPI
    from ..models import Member
    from .values import ChangeRole, Invite

__all__ = ["Preflight"]


class Preflight:
    """What one bulk run's token may do, read once."""

    def __init__(self, members: MembersAPI, *, scim: bool) -> None:
        self._members = members
        self._scim = scim
        self._caller: Caller | None = None
        self._unknown = False  # the token may not read members/me/: the server decides
        self._lock = asyncio.Lock()

    async def caller(self) -> Caller | None:
        """Who the token acts as; ``None`` when it may not read that (the server decides)."""
        async with self._lock:
            if self._caller is None and not self._unknown:
                try:
                    me = await self._members.find("me")
                except PermissionDeniedError:
                    self._unknown = True
                    return None
                self._caller = caller_of(me, scim=self._scim)
        return self._caller

    async def invite(self, change: Invite) -> Done | None:
        """``failed`` (refused, nothing sent) for an invite the token cannot send, else ``None``."""
        caller = await self.caller() if change.role != "member" else None
        if caller is None:
            return None
        verdict = check_invite(caller, change.role)
        if verdict.allowed:
            return None
        return Done(OutcomeKind.REFUSED, error=verdict.error(change.describe()))

    async def role_change(self, member: Member, change: ChangeRole) -> Done | None:
        """``failed`` (refused, nothing sent) for a role change the token cannot make."""
        caller = await self.caller()
        if caller is None:
            return None
        verdict = check_role_change(caller, member, change.new)
        if verdict.allowed:
            return None
        return Done(OutcomeKind.REFUSED, member.id, verdict.error(change.describe()))
