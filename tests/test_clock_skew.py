"""A client whose clock is minutes off the server's (finding #8 of the 2026-12-03 review).

Sentry's ``X-Sentry-Rate-Limit-Reset`` is an epoch on the server's clock; a
client that compared it with its own clock waited the skew out in every
window (behind), failed at once past ``max_server_pause`` (far behind), or
sent into the server's current window and drew 429s (ahead). The client
learns the server's clock from the answers (``Date``, and the reset itself)
instead. The emulator runs on a shifted clock, so the client's is off by the
skew. The time it costs is measured in ``benchmarks/bench_clock_skew.py``.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from sentry_members_async import SentryClient
from sentry_members_async.testing import SentryEmulator

REQUESTS = 200


@pytest.mark.parametrize(
    "skew",
    [pytest.param(600.0, id="client-10min-behind"), pytest.param(-600.0, id="client-10min-ahead")],
)
async def test_200_requests_at_sentry_io_limits_with_a_skewed_client_clock(skew: float) -> None:
    emu = SentryEmulator.sentry_io(seed=1, latency=(0.02, 0.05), clock=lambda: time.time() + skew)
    emu.add_org("acme")
    token = emu.add_token("acme")
    async with SentryClient(token, base_url="https://sentry.io", transport=emu.transport()) as c:
        acme = c.org("acme")
        results = await asyncio.gather(
            *(acme.members.get("me") for _ in range(REQUESTS)), return_exceptions=True
        )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == []
    assert emu.stats()["rate_limited"] == 0
    statuses = [(r.method, r.path, r.status) for r in emu.requests]
    assert statuses == [("GET", "/api/0/organizations/acme/members/me/", 200)] * REQUESTS
