"""The :class:`Plan` value: the changes, what the plan saw of each member, and its diff."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from ..changes import (
    AddToTeam,
    Change,
    ChangeRole,
    Invite,
    RemoveFromTeam,
    RemoveMember,
    SetTeamRole,
)
from ..errors import SentryError

if TYPE_CHECKING:
    from ..api.capabilities import Verdict
    from ..models import MemberId

__all__ = ["Plan", "Premise", "StaleChangeError"]

#: How each kind of change is named in the diff's summary, in the diff's order.
_KINDS: dict[type, tuple[str, str]] = {
    Invite: ("invite", "invites"),
    ChangeRole: ("role change", "role changes"),
    AddToTeam: ("team join", "team joins"),
    SetTeamRole: ("team role change", "team role changes"),
    RemoveFromTeam: ("team leave", "team leaves"),
    RemoveMember: ("removal", "removals"),
}
_ORDER = {kind: i for i, kind in enumerate(_KINDS)}


@attrs.frozen
class Premise:
    """What a plan saw of a member it changes: the org role, and the team roles held.

    ``apply`` reads the member again and sends none of its changes whose
    premise no longer holds (:class:`StaleChangeError`).
    """

    org_role: str
    #: Team slug to the team role held (raised to the org role's minimum);
    #: ``None`` when the plan did not read the member's teams.
    teams: Mapping[str, str] | None = None


class StaleChangeError(SentryError):
    """A change whose premise no longer holds (the member changed since the plan): not sent.

    Plan again to see what the roster asks of the org as it is now.
    """

    def __init__(self, change: str, reason: str) -> None:
        self.change = change
        self.reason = reason
        super().__init__(f"skipped, stale: {change}: {reason}; plan again")


def _sort_key(change: Change) -> tuple[str, int, str]:
    team = getattr(change, "team", "")
    return change.email.lower(), _ORDER.get(type(change), len(_ORDER)), team


@attrs.frozen
class Plan:
    """The changes that turn the live org into the desired roster.

    Besides the changes, a plan made by ``acme.plan()`` records what it saw
    (``premises``: each changed member's org role and teams; ``org_size``:
    how many members the live read found), which changes the token cannot
    make (``refused``, by index into ``changes``). ``apply`` uses them; a plan
    built by hand without them is applied with what its changes carry.
    """

    org: str
    changes: tuple[Change, ...]
    #: Members a removal would have touched but that the plan keeps (owners, the caller).
    kept: tuple[str, ...] = ()
    #: Index into ``changes`` to the verdict that refuses it (not sent by ``apply``).
    refused: Mapping[int, Verdict] = attrs.field(factory=dict)
    #: Member id to what the plan saw of that member.
    premises: Mapping[MemberId, Premise] = attrs.field(factory=dict)
    #: How many members (and invites) the live read found; ``None`` if unknown.
    org_size: int | None = None
    #: What the roster asks that Sentry cannot do, so the plan does not propose it
    #: (a team role in an org without team roles), one line each, with why.
    not_proposed: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.changes)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def counts(self) -> dict[str, int]:
        """How many changes of each kind: ``{"Invite": 2, "RemoveMember": 1}``."""
        totals: dict[str, int] = {}
        for change in self.changes:
            name = type(change).__name__
            totals[name] = totals.get(name, 0) + 1
        return totals

    @property
    def removals(self) -> int:
        """How many members the plan removes (refused removals included)."""
        return sum(isinstance(c, RemoveMember) for c in self.changes)

    def diff(self) -> str:
        """The plan as text: one line per change, by e-mail, then a summary line.

        ``+`` added, ``~`` changed, ``-`` removed, ``=`` kept (protected),
        ``#`` asked by the roster but not proposed (Sentry cannot do it);
        a change the token cannot make starts with ``!`` and says why and what
        to do instead.
        """
        order = sorted(range(len(self.changes)), key=lambda i: _sort_key(self.changes[i]))
        lines = []
        for i in order:
            line = self.changes[i].describe()
            verdict = self.refused.get(i)
            if verdict is not None:
                line = f"! {line}  [refused: {verdict}]"
            elif verdict is None and getattr(self.changes[i], "idp_fallback", None) == "scim":
                line += " via SCIM (provisioned by the identity provider)"
            lines.append(line)
        lines += [f"= keep {email} (protected)" for email in sorted(self.kept, key=str.lower)]
        lines += [f"# not proposed: {item}" for item in self.not_proposed]
        lines.append(self.summary())
        return "\n".join(lines)

    def summary(self) -> str:
        """One line: how many changes of each kind, refused, kept and not proposed."""
        if not self.changes and not self.kept and not self.not_proposed:
            return "no changes"
        counts: dict[type, int] = {}
        for change in self.changes:
            counts[type(change)] = counts.get(type(change), 0) + 1
        parts = [
            f"{n} {_KINDS[kind][n != 1]}"
            for kind, n in sorted(counts.items(), key=lambda kv: _ORDER.get(kv[0], 99))
        ]
        total = len(self.changes)
        text = f"{total} change{'s' if total != 1 else ''}"
        text += f": {', '.join(parts)}" if parts else ""
        extra = [f"{len(self.refused)} refused"] if self.refused else []
        extra += [f"{len(self.kept)} kept"] if self.kept else []
        extra += [f"{len(self.not_proposed)} not proposed"] if self.not_proposed else []
        return text + (f" ({', '.join(extra)})" if extra else "")

    def __str__(self) -> str:
        return self.diff()
