"""Fidelity: Sentry's own endpoint tests, ported, run over HTTP against the emulator.

Each test names the Sentry test file and test function it comes from
(getsentry/sentry, ``tests/sentry/core/endpoints/`` and its ``scim/`` folder).
Checks are counted one by one (``check.eq``): a test fails at its end when any
of its checks did not hold, and the run prints how many held, so the same
tests can be run against an older emulator to measure it.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from sentry_members_async.testing import SentryEmulator
from sentry_members_async.testing.state import Member, Organization, Team

from ..checks import Checks as Checks  # the fidelity tests import it from here

_TALLY = {"checks": 0, "held": 0}


@pytest.fixture
def check() -> Iterator[Checks]:
    checks = Checks(_TALLY)
    yield checks
    if checks.failures:
        pytest.fail("checks that did not hold:\n" + "\n".join(checks.failures))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _TALLY["checks"]:
        line = f"fidelity: {_TALLY['held']} of {_TALLY['checks']} checks held"
        terminalreporter.write_line(line)
        out = os.environ.get("FIDELITY_TALLY")
        if out:
            with open(out, "w", encoding="utf-8") as handle:
                json.dump(_TALLY, handle)


@dataclass
class Reply:
    status: int
    body: Any


@dataclass
class World:
    """Sentry's ``APITestCase`` set-up: an organization whose owner is ``self.user``."""

    emu: SentryEmulator
    session: aiohttp.ClientSession
    base: str
    slug: str = "baz"

    @property
    def org(self) -> Organization:
        return self.emu.state.orgs[self.slug]

    @property
    def owner_token(self) -> str:
        return self.emu.add_token(self.slug)

    def owner(self) -> Member:
        return next(m for m in self.org.members.values() if m.role == "owner")

    def member(
        self, email: str, role: str = "member", teams: tuple[Team, ...] = ()
    ) -> tuple[Member, str]:
        """An accepted member and a user token acting as them."""
        user = self.emu.state.new_user(email, email)  # Sentry's create_user: name = e-mail
        member = self.emu.state.new_member(self.org, role, user=user)
        for team in teams:
            member.teams[team.id] = None
        return member, self.emu.add_token(self.slug, email=email)

    def invite(self, email: str, role: str = "member", inviter: Member | None = None) -> Member:
        return self.emu.state.new_member(
            self.org, role, email=email, inviter_id=inviter.user_id if inviter else None
        )

    def request_row(self, email: str, status: str = "requested_to_be_invited") -> Member:
        member = self.emu.state.new_member(self.org, "member", email=email)
        member.invite_status = status
        self.org.version += 1
        return member

    def team(self, name: str, slug: str | None = None, *, idp: bool = False) -> Team:
        from sentry_members_async.testing.state import slugify

        team = self.emu.state.new_team(self.org, slug or slugify(name), name)
        team.idp_provisioned = idp
        return team

    def fresh(self, email: str) -> Member | None:
        return self.emu.state.member_by_email(self.org, email)

    async def __call__(
        self,
        method: str,
        path: str,
        token: str,
        json_body: Any = None,
        params: dict[str, str] | None = None,
    ) -> Reply:
        url = self.base + path.replace("{org}", self.slug)
        headers = {"Authorization": f"Bearer {token}"}
        async with self.session.request(
            method, url, headers=headers, json=json_body, params=params
        ) as resp:
            raw = await resp.read()
            return Reply(resp.status, json.loads(raw) if raw else None)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    emu = SentryEmulator(seed=31, rate_limit=None)
    emu.add_org("baz", scim=True, owner_email="admin@localhost")
    async with emu.serve() as base, aiohttp.ClientSession() as session:
        yield World(emu, session, base)
