"""Faults the emulator can inject, per route and per call number.

``emu.inject("POST", "/api/0/organizations/*/members/", ResetAfter(), calls={2})``
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

__all__ = ["Fault", "ResetAfter", "ResetBefore", "Slow", "Status", "TruncatedBody"]


@dataclass(frozen=True)
class Status:
    """Answer with this status, body and headers; the handler does not run."""

    code: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ResetBefore:
    """Drop the connection before the handler runs: nothing changed on the server."""


@dataclass(frozen=True)
class ResetAfter:
    """Run the handler (the change is applied), then drop the connection: answer lost."""


@dataclass(frozen=True)
class Slow:
    """Wait ``seconds`` before handling (past the client's timeout, typically)."""

    seconds: float


@dataclass(frozen=True)
class TruncatedBody:
    """Run the handler, then send only the first ``keep`` bytes of a JSON body."""

    keep: int = 10


Fault: TypeAlias = Status | ResetBefore | ResetAfter | Slow | TruncatedBody
