"""The public API against a real Sentry 23.7.1 (``nox -s live`` starts it).

Skipped unless ``$SMA_LIVE_STATE`` names a running server's state file
(``tools/live/harness.py up`` writes it). Every check is counted
(``check.eq``); the run ends with ``live: N of M checks held``. Each test
asserts on what the server holds or received afterwards (``real.sql``,
``real.requests_since``), not only on what the SDK reports.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from .realserver import RealSentry, load

_TALLY = {"checks": 0, "held": 0}


@dataclass
class Checks:
    failures: list[str] = field(default_factory=list)

    def eq(self, actual: Any, expected: Any, what: str = "") -> None:
        _TALLY["checks"] += 1
        if actual == expected:
            _TALLY["held"] += 1
        else:
            self.failures.append(f"{what}: {actual!r} != {expected!r}")

    def true(self, condition: bool, what: str) -> None:
        self.eq(bool(condition), True, what)


@pytest.fixture
def check() -> Iterator[Checks]:
    checks = Checks()
    yield checks
    if checks.failures:
        pytest.fail("checks that did not hold:\n" + "\n".join(checks.failures))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _TALLY["checks"]:
        line = f"live: {_TALLY['held']} of {_TALLY['checks']} checks held"
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def real() -> RealSentry:
    server = load()
    if server is None:
        if os.environ.get("SMA_LIVE_REQUIRED"):
            pytest.fail("SMA_LIVE_STATE names no running server: run `nox -s live`")
        pytest.skip("no real Sentry: `nox -s live` runs these against one")
    return server
