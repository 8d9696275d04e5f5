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
#: The 23.7 profile closes a kept-alive connection with a FIN when a request came
#: on it after the answer; the real 23.7.1 (uWSGI) answers that request with a
#: reset (measured: 20 of 20 each). The transport re-sends a POST, PUT or DELETE
#: only with the kernel's proof that the server never read it, which a reset
#: gives and that FIN does not, so on the profile some answers are lost that the
#: real server never loses (0 of 1,100 in tests/live/test_transport.py), or an
#: idempotent one is retried and the log shows it twice.
_PROFILE_CLOSE = pytest.mark.xfail(
    strict=False,
    reason="emulator 23.7 profile: FIN where the real uWSGI resets a request sent on a "
    "closing connection (the transport then cannot prove it unread)",
)
BACKENDS = ("emulator", pytest.param("emulator-23.7", marks=_PROFILE_CLOSE), "real")


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
