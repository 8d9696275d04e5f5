"""pytest plugin (entry point ``pytest11``): fixtures for your own tests.

* ``sentry_emulator``: a fresh :class:`SentryEmulator` (seed 0, no rate limit)
  with an organization ``acme`` (SCIM on), its owner, and the teams
  ``team-01`` to ``team-03`` and ``backend``. Seed more with
  ``sentry_emulator.add_members("acme", 100)``.
* ``sentry_token``: an owner's user token for ``acme``.
* ``sentry_base_url``: the emulator served over HTTP on 127.0.0.1 (from a
  background thread, so it works with any async test runner).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .emulator import SentryEmulator


@pytest.fixture
def sentry_emulator() -> SentryEmulator:
    emulator = SentryEmulator(seed=0, rate_limit=None)
    emulator.add_org("acme", scim=True)
    emulator.add_teams("acme", 3)
    emulator.add_team("acme", "backend")
    return emulator


@pytest.fixture
def sentry_token(sentry_emulator: SentryEmulator) -> str:
    return sentry_emulator.add_token("acme")


@pytest.fixture
def sentry_base_url(sentry_emulator: SentryEmulator) -> Iterator[str]:
    with sentry_emulator.serve_in_thread() as url:
        yield url
