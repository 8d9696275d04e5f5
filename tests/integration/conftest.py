"""Fixtures: the emulator served on loopback, and a client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sentry_members_async import Org, SentryClient
from sentry_members_async.testing import SentryEmulator


@pytest.fixture
def emu() -> SentryEmulator:
    emulator = SentryEmulator(seed=5, rate_limit=None)
    emulator.add_org("acme", scim=True)
    emulator.add_teams("acme", 3)
    emulator.add_members("acme", 30, pending_ratio=0.1, teams=3)
    return emulator


@pytest.fixture
async def client(emu: SentryEmulator) -> AsyncIterator[SentryClient]:
    token = emu.add_token("acme")
    scim_token = emu.add_token("acme", kind="scim")
    async with (
        emu.serve() as base_url,
        SentryClient(token, base_url=base_url, scim_token=scim_token) as c,
    ):
        yield c


@pytest.fixture
def acme(client: SentryClient) -> Org:
    return client.org("acme")
