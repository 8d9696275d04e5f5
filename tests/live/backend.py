"""The real server behind the emulator's test interface: one fixture, two backends.

An integration test written against the emulator reads the server's state
through a handful of ``SentryEmulator`` methods (``members``, ``member``,
``find``, ``reset_log``, ``accept_invite``, ``add_token``, ``serve``).
:class:`RealBackend` answers the same calls from the real Sentry 23.7.1: its
database, its request log and its ORM, so the same test body runs against
both (``tests/integration/conftest.py`` picks the modules). What the real
server cannot do the emulator's way (a token with chosen scopes) skips.
"""

# ruff: noqa: S608
# (SQL built from this suite's own values, on a throwaway server)
from __future__ import annotations

import contextlib
import fnmatch
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from .realserver import _MEMBER_FLAGS, LoggedRequest, RealSentry


@dataclass(frozen=True)
class RealMember:
    """What a test reads of ``SentryEmulator.member()``: id, role, flags, pending."""

    id: int
    email: str
    role: str
    pending: bool
    flags: dict[str, bool]


class RealBackend:
    """The subset of :class:`~sentry_members_async.testing.SentryEmulator` that the
    two-backend integration tests use, answered by the real server."""

    def __init__(self, real: RealSentry) -> None:
        self.real = real
        self._mark = real.log_mark()

    def __repr__(self) -> str:
        return f"RealBackend({self.real.url})"

    # --- tokens and serving: the real server's own ------------------------------
    def add_token(self, org: str, scopes: Iterable[str] | None = None, kind: str = "user",
                  **options: Any) -> str:  # fmt: skip
        if org != self.real.org or scopes is not None or options:
            pytest.skip("a token made with chosen scopes or role: the emulator only")
        return self.real.tokens["scim" if kind == "scim" else "owner"]

    @contextlib.asynccontextmanager
    async def serve(self, *args: Any, **kwargs: Any) -> AsyncIterator[str]:
        yield self.real.url

    @contextlib.contextmanager
    def serve_in_thread(self, *args: Any, **kwargs: Any) -> Iterator[str]:
        yield self.real.url

    # --- state ---------------------------------------------------------------
    def members(self, org: str) -> list[dict[str, Any]]:
        """Every member row as plain data, in id order (as ``SentryEmulator.members``)."""
        rows = self.real.sql(
            "SELECT m.id, coalesce(m.email, u.email), m.role, m.user_id IS NULL,"
            " coalesce(m.user_id::text, '')"
            " FROM sentry_organizationmember m LEFT JOIN auth_user u ON u.id = m.user_id"
            f" WHERE m.organization_id = {self.real.org_id(org)} ORDER BY m.id"
        )
        return [
            {"id": int(i), "email": email, "role": role, "pending": pending == "t",
             "user_id": int(user) if user else None}
            for i, email, role, pending, user in rows
        ]  # fmt: skip

    def member(self, org: str, email: str) -> RealMember | None:
        for row in self.members(org):
            if row["email"].lower() == email.lower():
                flags = self.real.member_flags(row["email"])
                return RealMember(row["id"], row["email"], row["role"], row["pending"],
                                  {name: name in flags for name in _MEMBER_FLAGS})  # fmt: skip
        return None

    def accept_invite(self, org: str, email: str) -> int:
        return self.real.accept_invite(email)

    # --- the request log -----------------------------------------------------
    def reset_log(self) -> None:
        self._mark = self.real.log_mark()

    def find(self, method: str | None = None, path: str | None = None) -> list[LoggedRequest]:
        """The requests the server answered since :meth:`reset_log`, by method and
        path glob (the query string left out, as the emulator logs paths)."""
        found = []
        for entry in self.real.settled_requests_since(self._mark, quiet=0.15):
            bare = LoggedRequest(entry.method, entry.path.split("?", 1)[0], entry.status)
            if method is not None and bare.method != method.upper():
                continue
            if path is not None and not fnmatch.fnmatchcase(bare.path, path):
                continue
            found.append(bare)
        return found
