"""Waiting for invites to be accepted: ``acme.members.wait_for_acceptance(emails)``.

Each round is one filtered list request per 50 addresses (``email:`` tokens,
OR-ed by Sentry), never one request per e-mail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from ..models import Member
from ..pagination import Paginator
from ._common import AcceptanceResult, check_email

__all__ = ["wait_for_acceptance"]

#: Addresses per list request (``email:`` tokens in one query).
CHUNK = 50


async def wait_for_acceptance(
    listing: Callable[[list[str]], Paginator[Member]],
    emails: Iterable[str],
    *,
    timeout: float,
    interval: float,
) -> AcceptanceResult:
    """Poll ``listing`` (the members with any of these e-mails) until every invite
    for ``emails`` is accepted or gone, or ``timeout`` passes."""
    waiting = {check_email(e).lower(): e for e in emails}
    accepted: set[str] = set()
    missing: set[str] = set()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        keys = sorted(waiting)
        seen: dict[str, Member] = {}
        for start in range(0, len(keys), CHUNK):
            async for member in listing([waiting[k] for k in keys[start : start + CHUNK]]):
                seen[member.email.lower()] = member
        for key in keys:
            found = seen.get(key)
            if found is None:
                missing.add(waiting.pop(key))
            elif not found.pending:
                accepted.add(waiting.pop(key))
        if not waiting or loop.time() + interval > deadline:
            return AcceptanceResult(
                frozenset(accepted), frozenset(waiting.values()), frozenset(missing)
            )
        await asyncio.sleep(interval)
