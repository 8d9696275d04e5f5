"""Counted checks, for the suites that report how many of their checks held.

``tests/fidelity`` (Sentry's endpoint tests against the emulator) and
``tests/live`` (the SDK against a real Sentry) record every comparison with
``check.eq``: a test fails at its end when any of its checks did not hold,
and the run prints how many held, so one suite can be run against an older
emulator or SDK to measure it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Checks"]


@dataclass
class Checks:
    """One test's checks; every one is counted in ``tally`` (``checks``, ``held``)."""

    tally: dict[str, int]
    failures: list[str] = field(default_factory=list)

    def eq(self, actual: Any, expected: Any, what: str = "") -> None:
        self.tally["checks"] += 1
        if actual == expected:
            self.tally["held"] += 1
        else:
            self.failures.append(f"{what}: {actual!r} != {expected!r}")

    def true(self, condition: bool, what: str) -> None:
        self.eq(bool(condition), True, what)
