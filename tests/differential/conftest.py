"""The differential suite: the same raw requests to a real Sentry 23.7.1 and to
the emulator's 23.7 profile (``nox -s live`` starts the real one).

Skipped unless ``$SMA_LIVE_STATE`` names a running server's state file
(``tools/live/harness.py up`` writes it). The emulator is filled from the real
server's database (``mirror.py``) and served on 127.0.0.1; each case is sent to
both, step by step, and compared (``engine.py``). The run ends with
``emulator-vs-real (profile 23.7): A of M agree``.

Two more servers are optional: ``$SMA_LIVE_STATE_RATELIMIT`` (an instance
started with ``SMA_LIVE_RATELIMIT=N``: the generic limiter answers 429s) and
``$SMA_LIVE_STATE_SELF_HOSTED`` (one with ``SMA_LIVE_SELF_HOSTED=1``). Their
cases are skipped, and not counted, when they are not set.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sentry_members_async.testing import RateLimit, SentryEmulator
from sentry_members_async.testing.handlers.invite_quota import INVITE_QUOTA_WINDOW, INVITE_QUOTAS

from ..live.realserver import RealSentry, load
from .engine import Backend
from .mirror import mirror

_TALLY = {"cases": 0, "agree": 0}
#: ``$SMA_DIFF_PROFILE``: the emulator's profile to compare (default 23.7; "latest"
#: shows how far today's sentry.io behaviour is from a 23.7.1 server).
PROFILE = os.environ.get("SMA_DIFF_PROFILE", "23.7")
_DIFFERS: list[str] = []
VARIANT_STATE = {
    "ratelimit": "SMA_LIVE_STATE_RATELIMIT",
    "selfhosted": "SMA_LIVE_STATE_SELF_HOSTED",
}


def record(name: str, differences: list[str]) -> None:
    _TALLY["cases"] += 1
    if differences:
        _DIFFERS.append(name)
    else:
        _TALLY["agree"] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _TALLY["cases"]:
        if _DIFFERS:
            terminalreporter.write_line("differ: " + "; ".join(_DIFFERS))
        terminalreporter.write_line(
            f"emulator-vs-real (profile {PROFILE}): {_TALLY['agree']} of {_TALLY['cases']} agree"
        )


@dataclass
class Pair:
    real: Backend
    emu: Backend
    emulator: SentryEmulator


def _md5(value: object) -> str:
    return hashlib.md5(str(value).encode()).hexdigest()  # noqa: S324 - Sentry's key, not security


def _fill_real_quota(real: RealSentry) -> None:
    """Sets the organization's daily invite counter at its limit (``rl:<md5(key)>:<bucket>``
    with key ``members:invite-by-org:<md5(org id)>``: src/sentry/ratelimits/redis.py and
    ratelimits/utils.py ``for_organization_member_invite``)."""
    key = f"members:invite-by-org:{_md5(real.org_id())}"
    bucket = int(time.time() // INVITE_QUOTA_WINDOW)
    subprocess.run(
        [
            *("redis-cli", "-p", str(real.redis_port), "SET", f"rl:{_md5(key)}:{bucket}"),
            *(str(INVITE_QUOTAS["org"]), "EX", str(INVITE_QUOTA_WINDOW)),
        ],
        check=True,
        capture_output=True,
    )


def _load_variant(env: str) -> RealSentry | None:
    saved = os.environ.get("SMA_LIVE_STATE")
    os.environ["SMA_LIVE_STATE"] = os.environ.get(env, "")
    try:
        return load()
    finally:
        if saved is None:
            del os.environ["SMA_LIVE_STATE"]
        else:
            os.environ["SMA_LIVE_STATE"] = saved


def _request_limit(real: RealSentry) -> int | None:
    """``SENTRY_RATELIMITER_DEFAULT`` of a server whose limiter is on, else None."""
    conf = (Path(real.conf) / "sentry.conf.py").read_text()
    if not re.search(r"^SENTRY_RATELIMITER_ENABLED = True", conf, re.M):
        return None
    found = re.findall(r"^SENTRY_RATELIMITER_DEFAULT = (\d+)", conf, re.M)
    return int(found[-1]) if found else None


def _emulator_for(variant: str, real: RealSentry) -> SentryEmulator:
    if variant == "selfhosted":
        return SentryEmulator(seed=23, profile=PROFILE, self_hosted=True)
    limit = _request_limit(real) if variant == "ratelimit" else None
    if limit is not None:
        return SentryEmulator(seed=23, profile=PROFILE, rate_limit=RateLimit(limit, 1.0, 999))
    return SentryEmulator(seed=23, profile=PROFILE)


def _pair(real: RealSentry, variant: str, stack: contextlib.ExitStack) -> Pair:
    """The real server and an emulator mirroring it, served on 127.0.0.1."""
    real.reset_invite_quota()
    emulator = _emulator_for(variant, real)
    tokens = mirror(real, emulator)
    run = f"{int(time.time() * 1000) % 10**9:x}"
    url = stack.enter_context(emulator.serve_in_thread())

    async def fill_real() -> None:
        await asyncio.to_thread(_fill_real_quota, real)

    async def clear_real() -> None:
        await asyncio.to_thread(real.reset_invite_quota)

    async def fill_emu() -> None:
        org = emulator.state.orgs["acme"]
        window = int(emulator.clock() // INVITE_QUOTA_WINDOW)
        counter = (window, INVITE_QUOTAS["org"])
        emulator.state.invite_counters[f"members:invite-by-org:{org.id}"] = counter

    async def clear_emu() -> None:
        emulator.state.invite_counters.clear()

    return Pair(
        real=Backend(
            "real", real.url, real.tokens, run, fill_quota=fill_real, clear_quota=clear_real
        ),
        emu=Backend("emulator", url, tokens, run, fill_quota=fill_emu, clear_quota=clear_emu),
        emulator=emulator,
    )


@pytest.fixture(scope="session")
def pairs() -> Iterator[Callable[[str], Pair | None]]:
    """The pair of servers for a case's variant (None: that server is not configured)."""
    main = load()
    if main is None:
        if os.environ.get("SMA_LIVE_REQUIRED"):
            pytest.fail("SMA_LIVE_STATE names no running server: run `nox -s live`")
        pytest.skip("no real Sentry: `nox -s live` runs these against one")
    made: dict[str, Pair | None] = {}
    with contextlib.ExitStack() as stack:

        def get(variant: str) -> Pair | None:
            if variant not in made:
                real = main if variant == "main" else _load_variant(VARIANT_STATE[variant])
                made[variant] = _pair(real, variant, stack) if real is not None else None
            return made[variant]

        yield get
