"""Faults and latency armed on routes (a method and a path glob).

``Injections`` decides, per request, which armed fault fires (by call
number, by a seeded ratio, or always); ``RouteLatency`` how long an answer
waits. The fault values themselves are in ``faults.py``.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .faults import Fault

__all__ = ["Injection", "Injections", "Latency", "RouteLatency"]

Latency = float | tuple[float, float]


def _route_matches(method: str, pattern: str, request_method: str, path: str) -> bool:
    return method in ("*", request_method) and fnmatch.fnmatchcase(path, pattern)


@dataclass
class Injection:
    """A fault armed on a route; ``remove()`` disarms it."""

    method: str
    pattern: str
    fault: Fault
    calls: frozenset[int] | None
    ratio: float | None
    seen: int = 0
    fired: int = 0
    _owner: Injections | None = field(default=None, repr=False)

    def matches(self, method: str, path: str) -> bool:
        return _route_matches(self.method, self.pattern, method, path)

    def remove(self) -> None:
        if self._owner is not None:
            self._owner.disarm(self)


class Injections:
    """The armed faults, in arming order; iterate for their ``seen``/``fired`` counts."""

    def __init__(self, rng: random.Random) -> None:
        self._armed: list[Injection] = []
        self._rng = rng

    def __iter__(self) -> Iterator[Injection]:
        return iter(list(self._armed))

    def arm(
        self,
        method: str,
        path_pattern: str,
        fault: Fault,
        calls: Iterable[int] | None,
        ratio: float | None,
    ) -> Injection:
        if ratio is not None and not 0.0 <= ratio <= 1.0:
            raise ValueError("ratio must be within [0, 1]")
        injection = Injection(
            method.upper(),
            path_pattern,
            fault,
            frozenset(calls) if calls is not None else None,
            ratio,
            _owner=self,
        )
        self._armed.append(injection)
        return injection

    def disarm(self, injection: Injection) -> None:
        if injection in self._armed:
            self._armed.remove(injection)

    def clear(self) -> None:
        self._armed.clear()

    def pick(self, method: str, path: str) -> Fault | None:
        """The first matching injection that fires; every matching one counts the call."""
        chosen: Fault | None = None
        for injection in self._armed:
            if not injection.matches(method, path):
                continue
            injection.seen += 1
            if self._fires(injection) and chosen is None:
                injection.fired += 1
                chosen = injection.fault
        return chosen

    def _fires(self, injection: Injection) -> bool:
        if injection.calls is not None:
            return injection.seen in injection.calls
        if injection.ratio is not None:
            return self._rng.random() < injection.ratio
        return True


class RouteLatency:
    """Latency per route (first match wins) over a default; ranges drawn from ``rng``."""

    def __init__(self, rng: random.Random) -> None:
        self._routes: list[tuple[str, str, Latency]] = []
        self._rng = rng

    def set(self, method: str, path_pattern: str, latency: Latency) -> None:
        self._routes.append((method.upper(), path_pattern, latency))

    def delay(self, default: Latency, method: str, path: str) -> float:
        value = default
        for m, pattern, lat in self._routes:
            if _route_matches(m, pattern, method, path):
                value = lat
                break
        if isinstance(value, tuple):
            return self._rng.uniform(*value)
        return float(value)
