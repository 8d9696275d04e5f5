"""The emulator's request log: every request as it arrived (credentials
masked), its status (``None`` when the connection was dropped), and the
peak number in flight."""

from __future__ import annotations

import fnmatch
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["LoggedRequest", "RequestLog"]


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the emulator saw it (credentials masked)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]
    body: bytes | None
    #: ``None`` when the connection was dropped instead of answered.
    status: int | None
    at: float

    @property
    def params(self) -> dict[str, str]:
        return dict(self.query)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class RequestLog:
    """Logged requests in arrival-of-answer order, and concurrency counters."""

    def __init__(self) -> None:
        self.entries: list[LoggedRequest] = []
        self.in_flight = 0
        self.peak = 0

    def enter(self) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    def leave(self, entry: LoggedRequest) -> None:
        self.in_flight -= 1
        self.entries.append(entry)

    def stats(self) -> dict[str, Any]:
        by_status = Counter(r.status for r in self.entries if r.status is not None)
        return {
            "requests": len(self.entries),
            "by_status": dict(sorted(by_status.items())),
            "rate_limited": by_status.get(429, 0),
            "dropped": sum(1 for r in self.entries if r.status is None),
            "peak_concurrency": self.peak,
        }

    def find(self, method: str | None, path: str | None) -> list[LoggedRequest]:
        return [
            r
            for r in self.entries
            if (method is None or r.method == method.upper())
            and (path is None or fnmatch.fnmatchcase(r.path, path))
        ]

    def reset(self) -> None:
        self.entries.clear()
        self.peak = 0
