"""Fixtures: the emulator served on loopback, and a client pointed at it.

One fixture, several backends: the test bodies of the modules in
:data:`MULTI_BACKEND` run against the emulator (its default profile), the
emulator's ``23.7`` profile, and the real Sentry 23.7.1 that ``nox -s live``
starts (``$SMA_LIVE_STATE``; skipped without it). For the real server, ``emu``
is a :class:`tests.live.backend.RealBackend`: the same state and request-log
methods, answered from its database and its log; the org's membership is put
back after each test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import cast

import pytest

from sentry_members_async import Org, SentryClient
from sentry_members_async.testing import SentryEmulator

#: Modules whose bodies run against every backend of :data:`BACKENDS`.
MULTI_BACKEND = frozenset({"test_idp_removal"})
#: The 23.7 profile closes each connection after its answer, as the real server
#: does, and resets a request sent on it meanwhile (testing/server.py), so the
#: transport drops or re-sends exactly as it does on the real 23.7.1.
BACKENDS = ("emulator", "emulator-23.7", "real")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if module in MULTI_BACKEND and "emu" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """Which server ``emu`` is: ``emulator`` unless the module runs on several."""
    return str(getattr(request, "param", "emulator"))


@pytest.fixture
def emu(backend: str) -> Iterator[SentryEmulator]:
    if backend == "real":
        from ..live.backend import RealBackend
        from ..live.realserver import load

        real = load()
        if real is None:
            pytest.skip("no real Sentry: `nox -s live` starts one ($SMA_LIVE_STATE)")
        before = real.snapshot()
        real.reset_invite_quota()
        # Duck-typed: the SentryEmulator methods these tests call, from the real server.
        yield cast(SentryEmulator, RealBackend(real))
        real.restore(before)
        return
    emulator = SentryEmulator(
        seed=5, rate_limit=None, profile="23.7" if backend == "emulator-23.7" else "latest"
    )
    emulator.add_org("acme", scim=True)
    emulator.add_teams("acme", 3)
    emulator.add_members("acme", 30, pending_ratio=0.1, teams=3)
    yield emulator


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
