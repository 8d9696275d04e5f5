"""Who is already in the org, read before inviting: so a row already there sends no POST.

``bulk.invite`` asks :class:`Existing` about each row before it builds the
invite. Three ways to know (``precheck=``):

* ``"lookup"`` (the default): the rows are read from the input in chunks of at
  most :data:`CHUNK` addresses, and each chunk is looked up with one filtered
  list request (``GET members/?query=email:a email:b ...``; Sentry OR-s the
  ``email`` values: ``OrganizationMemberIndexEndpoint.get`` in
  src/sentry/api/endpoints/organization_member/index.py). One request per 100
  rows, whatever the org's size; the next chunk's lookup runs while the
  current one is sent, and memory holds two chunks. Cheaper than the list
  whenever the batch is smaller than the org, which a re-run always is.
* ``"list"``: one pass over the whole member list (one request per 100
  members, pages fetched in parallel), the org's addresses held in memory.
  Cheaper when the batch is much larger than the org (a first run of 5,000
  rows into an org of 300: 3 requests instead of 50).
* ``"off"``: no read; every row is POSTed and Sentry's "already" answer read
  (one POST per row already there).

A lookup that fails (a 5xx after the retries, a token without ``member:read``)
does not fail its rows: they are POSTed, as with ``"off"``; Sentry's answer
still says when one is already there. A 401 stops the run, as everywhere.

An address this run already sent (a row listed twice) is not sent again: the
later row waits for the first and ends ``already_invited``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Protocol, TypeAlias, TypeVar
from urllib.parse import quote_plus

from ..api._common import check_email
from ..errors import (
    AuthenticationError,
    ConfigurationError,
    PermissionDeniedError,
    SentryError,
    ValidationError,
)
from .outcomes import Done, OutcomeKind

if TYPE_CHECKING:
    from ..api.members import MembersAPI
    from ..models import Member
    from .values import Operation, RunContext


class _Addressed(Protocol):
    """A row with an e-mail address (``rows.InviteRow``; this layer does not import it)."""

    @property
    def email(self) -> str: ...


InviteRow = TypeVar("InviteRow", bound=_Addressed)

__all__ = ["CHUNK", "Existing", "Precheck", "check_precheck"]

#: How ``bulk.invite`` learns who is already there: see the module's text.
Precheck: TypeAlias = Literal["lookup", "list", "off"]
#: Addresses in one lookup request (the list's largest page: one page answers it).
CHUNK = 100
#: Characters of the addresses in one lookup's query, as the URL encodes them. Sentry
#: answers a list with a ``Link`` header that repeats the whole query twice (the
#: previous and the next page: ``build_cursor_link`` in src/sentry/api/base.py), and
#: aiohttp's client refuses a header line over 8190 bytes: 3,800 keeps it under with
#: room for the rest of the URL (100 addresses of 26 characters fit).
QUERY_BUDGET = 3800
#: Outcomes of a send that mean the address is there now.
_THERE = (OutcomeKind.CREATED, OutcomeKind.ALREADY_INVITED, OutcomeKind.ALREADY_MEMBER)


def check_precheck(precheck: object) -> Precheck:
    if precheck == "lookup" or precheck == "list" or precheck == "off":
        return precheck
    raise ValidationError("precheck must be 'lookup', 'list' or 'off'")


def already(member: Member) -> OutcomeKind:
    """The outcome word for an address that is there: the same one the invite's answer gives."""
    return OutcomeKind.ALREADY_INVITED if member.pending else OutcomeKind.ALREADY_MEMBER


def _key(email: str) -> str | None:
    try:
        return check_email(email).lower()
    except ValidationError:
        return None  # the row fails its own checks; nothing to look up


class _Chunk:
    """Rows read together; one lookup request answers for all their addresses."""

    def __init__(self, rows: dict[str, int]) -> None:
        self.rows = rows  # address -> rows with it not checked yet
        self.keys = list(rows)
        self.task: asyncio.Task[dict[str, Member] | None] | None = None
        self.gen = 0  # the number of lookups sent when this one was (0: not sent)


class _Sent:
    """An address this run sent: its outcome once answered, and when it was answered."""

    def __init__(self) -> None:
        self.done: asyncio.Future[Done | None] = asyncio.get_running_loop().create_future()
        self.gen = 0


class Existing(Generic[InviteRow]):
    """What one ``bulk.invite`` run knows of the addresses already in the org."""

    def __init__(self, members: MembersAPI, precheck: Precheck) -> None:
        self._members = members
        self.precheck = precheck
        self._order: list[_Chunk] = []  # chunks with rows not checked yet, oldest first
        self._whole: asyncio.Task[dict[str, Member] | None] | None = None
        self._sent: dict[str, _Sent] = {}
        self._carry: list[InviteRow] = []  # a row read that did not fit its chunk
        self._lookups = 0
        self._tasks: set[asyncio.Task[dict[str, Member] | None]] = set()

    # -- reading the input ----------------------------------------------------------

    def rows(self, source: Iterable[InviteRow]) -> Iterator[InviteRow]:
        """``source``'s rows, read a chunk ahead so each chunk is looked up at once.

        An input that raises raises here only after the rows read before it.
        """
        items = iter(source)
        current, failed = self._read(items)
        while current:
            ahead, failed_ahead = self._read(items) if failed is None else ([], None)
            yield from current
            if failed is not None:
                raise failed
            current, failed = ahead, failed_ahead
        if failed is not None:
            raise failed

    def _read(self, items: Iterator[InviteRow]) -> tuple[list[InviteRow], Exception | None]:
        rows: list[InviteRow] = []
        keys: dict[str, int] = {}
        budget = QUERY_BUDGET
        try:
            while len(keys) < CHUNK:
                row = self._carry.pop() if self._carry else next(items)
                key = _key(row.email) if self.precheck == "lookup" else None
                if key is not None and key not in keys:
                    cost = len(quote_plus(f"email:{key} "))
                    if cost > budget:
                        self._carry.append(row)  # it starts the next chunk
                        break
                    budget -= cost
                rows.append(row)
                if key is not None:
                    keys[key] = keys.get(key, 0) + 1
        except StopIteration:
            pass
        except Exception as exc:  # the caller's input failed: after the rows before it
            return rows, exc
        if keys:
            self._order.append(_Chunk(keys))
        return rows, None

    # -- what is there --------------------------------------------------------------

    async def _fetch(self, keys: list[str] | None) -> dict[str, Member] | None:
        """The members with these addresses (every member with ``None``), by address;
        ``None`` when the read failed (the rows are then sent as they are)."""
        found: dict[str, Member] = {}
        try:
            listing = self._members.list(email=keys, prefetch=1 if keys else 24)
            async with listing as members:
                async for member in members:
                    for email in (member.email, member.user.email if member.user else ""):
                        if email:
                            found.setdefault(email.lower(), member)
        except (AuthenticationError, ConfigurationError):
            raise
        except PermissionDeniedError:
            self.precheck = "off"  # a token that may invite but not read: send them all
            return None
        except SentryError:
            return None
        return found

    def _start(self, chunk: _Chunk) -> None:
        if chunk.task is None:
            self._lookups += 1
            chunk.gen = self._lookups
            chunk.task = asyncio.ensure_future(self._fetch(chunk.keys))
            self._tasks.add(chunk.task)

    def _claim(self, key: str) -> _Chunk | None:
        """The row's chunk (the oldest with a row of this address not checked yet),
        the row counted as checked."""
        for chunk in self._order:
            if chunk.rows.get(key):
                chunk.rows[key] -= 1
                return chunk
        return None

    async def _lookup(self, key: str, chunk: _Chunk | None) -> Member | None:
        if self.precheck == "list":
            if self._whole is None:
                self._lookups += 1
                self._whole = asyncio.ensure_future(self._fetch(None))
                self._tasks.add(self._whole)
            found = await asyncio.shield(self._whole)
            return None if found is None else found.get(key)
        if chunk is None or self.precheck != "lookup":
            return None
        self._start(chunk)
        index = self._order.index(chunk) if chunk in self._order else len(self._order)
        if index + 1 < len(self._order):
            self._start(self._order[index + 1])  # the next chunk's answer comes meanwhile
        assert chunk.task is not None
        found = await asyncio.shield(chunk.task)
        return None if found is None else found.get(key)

    def _forget(self) -> None:
        """Drop the chunks whose rows were all checked, and the sends every lookup
        still to come will see for itself."""
        while self._order and not any(self._order[0].rows.values()):
            self._order.pop(0)
        oldest = min((c.gen for c in self._order if c.gen), default=self._lookups + 1)
        for key in [k for k, s in self._sent.items() if s.done.done() and s.gen < oldest]:
            del self._sent[key]

    async def check(self, row: InviteRow) -> Done | None:
        """What is already true of ``row``'s address, or ``None`` when it is to be sent."""
        key = _key(row.email)
        if key is None or self.precheck == "off":
            return None
        chunk = self._claim(key)
        try:
            if key not in self._sent:
                member = await self._lookup(key, chunk)
                if member is not None:
                    return Done(already(member), member.id)
            sent = self._sent.get(key)  # another row of the address went out meanwhile?
            if sent is None:
                return None
            # Listed twice: the first row's send answers for this one.
            done = await asyncio.shield(sent.done)
        finally:
            self._forget()
        if done is None or done.kind not in _THERE:
            return None
        kind = OutcomeKind.ALREADY_INVITED if done.kind is OutcomeKind.CREATED else done.kind
        return Done(kind, done.member_id)

    def track(self, row: InviteRow, change: Operation) -> Operation:
        """``change``, remembered as this run's send of ``row``'s address once it is sent."""
        key = _key(row.email)
        if key is None or self.precheck == "off":
            return change
        tracked = _TrackedInvite if change.quota_counted else _TrackedProvision
        return tracked(change, self, key)

    def _sending(self, key: str) -> _Sent:
        sent = _Sent()
        self._sent[key] = sent
        return sent

    def _answered(self, sent: _Sent, done: Done | None) -> None:
        sent.gen = self._lookups
        if not sent.done.done():
            sent.done.set_result(done)

    async def aclose(self) -> None:
        """Cancel the lookups no row waited for (the run stopped before them)."""
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in self._tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: no "exception never retrieved"
        self._tasks.clear()


class _Tracked:
    """A change whose address the run remembers from the moment it is sent."""

    quota_counted: ClassVar[bool]

    def __init__(self, change: Operation, existing: Existing[Any], key: str) -> None:
        self.change = change
        self._existing = existing
        self._key = key

    async def run(self, ctx: RunContext) -> Done:
        sent = self._existing._sending(self._key)
        done: Done | None = None
        try:
            done = await self.change.run(ctx)
        finally:
            self._existing._answered(sent, done)
        return done


class _TrackedInvite(_Tracked):
    quota_counted: ClassVar[bool] = True


class _TrackedProvision(_Tracked):
    quota_counted: ClassVar[bool] = False
