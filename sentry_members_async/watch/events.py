"""What the watcher compares and what it hands out: member states, events, the pure diff.

Nothing here does I/O: :func:`diff_members` turns two snapshots into the
events between them, so the rules (what counts as ``joined``, when a team change
is reported) can be read, and tested, without a server.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

import attrs

from ..models import MemberId
from .alerts import ALERT_KINDS, AlertKind, alert_detail, alert_kinds
from .states import MemberState

__all__ = [
    "ALERT_KINDS",
    "EVENT_KINDS",
    "EventKind",
    "MemberEvent",
    "MemberState",
    "diff_members",
    "id_key",
    "initial_events",
]

EventKind: TypeAlias = (
    Literal["invited", "joined", "removed", "role_changed", "teams_changed", "invite_expired"]
    | AlertKind
)
#: Every event kind, in the order events of one member are emitted.
EVENT_KINDS: tuple[EventKind, ...] = (
    "invited",
    "joined",
    "role_changed",
    "role_raised",
    "2fa_disabled",
    "sso_link_lost",
    "idp_changed",
    "teams_changed",
    "invite_expired",
    "removed",
)
_KIND_ORDER = {kind: i for i, kind in enumerate(EVENT_KINDS)}


@attrs.frozen(kw_only=True)
class MemberEvent:
    """One change of the org's membership.

    ``member`` is the member now (``None`` for ``removed``); ``before`` what the
    watcher saw at the previous poll (``None`` when it is new). ``id`` is
    stable: the same change, handed out again after a restart, has the same id.
    """

    id: str
    kind: EventKind
    org: str
    member_id: MemberId = attrs.field(converter=MemberId)
    member: MemberState | None
    before: MemberState | None
    observed_at: dt.datetime

    @property
    def email(self) -> str:
        state = self.member or self.before
        return state.email if state is not None else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "alert": self.is_alert,
            "org": self.org,
            "member_id": str(self.member_id),
            "email": self.email,
            "member": self.member.to_json() if self.member is not None else None,
            "before": self.before.to_json() if self.before is not None else None,
            "observed_at": self.observed_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MemberEvent:
        return cls(
            id=data["id"],
            kind=data["kind"],
            org=data["org"],
            member_id=data["member_id"],
            member=MemberState.from_json(data["member"]) if data.get("member") else None,
            before=MemberState.from_json(data["before"]) if data.get("before") else None,
            observed_at=dt.datetime.fromisoformat(data["observed_at"]),
        )

    @property
    def is_alert(self) -> bool:
        """A privilege alert (:data:`ALERT_KINDS`: a role raised to manager or owner,
        2FA turned off, an SSO link lost, IdP flags changed)."""
        return self.kind in ALERT_KINDS

    def describe(self) -> str:
        """One readable line (what the CLI prints on a terminal)."""
        who = f"{self.email} (member {self.member_id})"
        stamp = self.observed_at.strftime("%Y-%m-%d %H:%M:%S")
        return f"{stamp} {self.org} {self.kind:<14} {who}{self._detail()}"

    def _detail(self) -> str:
        """What changed, for :meth:`describe` (empty when the kind says it all)."""
        now, before = self.member, self.before
        if self.kind == "removed":
            return " (invite revoked)" if before is not None and before.pending else ""
        if now is None:
            return ""
        if self.kind in ("invited", "joined"):
            return f" as {now.role}"
        if self.kind in ALERT_KINDS:
            return alert_detail(self.kind, before, now)
        if before is None:
            return ""
        if self.kind == "role_changed":
            return f": {before.role} -> {now.role}"
        if self.kind == "teams_changed":
            added = sorted(now.team_slugs - before.team_slugs)
            left = sorted(before.team_slugs - now.team_slugs)
            parts = [f"+{s}" for s in added] + [f"-{s}" for s in left]
            return f": {' '.join(parts) or 'team roles changed'}"
        return ""


def _event_id(org: str, rev: int, kind: str, member_id: str, epoch: str = "") -> str:
    """Stable across a restart; unique across checkpoints (``epoch``, random, names one)."""
    where = f"{org}\x00{epoch}" if epoch else org  # no epoch: the ids of older releases
    raw = f"{where}\x00{rev}\x00{kind}\x00{member_id}".encode()
    return hashlib.sha256(raw).hexdigest()[:24]


def id_key(member_id: str) -> int:
    """Sort key of a member id: numeric order (Sentry's ids are integers)."""
    return int(member_id) if member_id.isdigit() else -1


def _new_member_kinds(now: MemberState) -> list[EventKind]:
    """A member the previous poll did not see.

    An invite that is already accepted and has an inviter was invited *and*
    joined between the two polls: both events. A member without an inviter
    (SSO just-in-time, a SCIM push) only joined.
    """
    if now.pending:
        return ["invited", "invite_expired"] if now.expired else ["invited"]
    return ["invited", "joined"] if now.inviter is not None else ["joined"]


def _teams_changed(was: MemberState, now: MemberState) -> bool:
    """Team changes count for accepted members whose teams are watched (both polls)."""
    watched = was.teams is not None and now.teams is not None
    accepted = not was.pending and not now.pending
    return watched and accepted and was.teams != now.teams


def _member_kinds(was: MemberState, now: MemberState) -> list[EventKind]:
    """What happened to a member both polls saw, in :data:`EVENT_KINDS` order."""
    kinds: list[EventKind] = []
    if was.pending and not now.pending:
        kinds.append("joined")
    if was.role != now.role:
        kinds.append("role_changed")
    if _teams_changed(was, now):
        kinds.append("teams_changed")
    if now.pending and now.expired and not was.expired:
        kinds.append("invite_expired")
    return kinds


def _event(
    kind: EventKind,
    mid: MemberId,
    now: MemberState | None,
    was: MemberState | None,
    *,
    org: str,
    rev: int,
    observed_at: dt.datetime,
    epoch: str = "",
) -> MemberEvent:
    return MemberEvent(
        id=_event_id(org, rev, kind, mid, epoch),
        kind=kind,
        org=org,
        member_id=mid,
        member=now,
        before=was,
        observed_at=observed_at,
    )


def diff_members(
    before: Mapping[MemberId, MemberState],
    after: Mapping[MemberId, MemberState],
    *,
    org: str,
    rev: int,
    observed_at: dt.datetime,
    epoch: str = "",
) -> list[MemberEvent]:
    """The events that turn ``before`` into ``after`` (pure; ordered by member id, kind).

    ``rev`` is the revision of ``before`` in the checkpoint and ``epoch`` the
    checkpoint's random name: together they make event ids stable across a
    restart, and unique across checkpoints (a reset one starts again at 1). A
    member new since ``before`` who is already accepted and has an inviter
    was invited *and* joined between the two polls: both events. Privilege
    alerts (:data:`ALERT_KINDS`, :mod:`.alerts`) come from the same rows.
    """
    changes: list[tuple[EventKind, MemberId, MemberState | None, MemberState | None]] = []
    for mid, now in after.items():
        was = before.get(mid)
        kinds = _new_member_kinds(now) if was is None else _member_kinds(was, now)
        kinds += alert_kinds(was, now)  # privilege alerts, from the same rows
        changes.extend((kind, mid, now, was) for kind in kinds)
    changes.extend(("removed", mid, None, was) for mid, was in before.items() if mid not in after)
    changes.sort(key=lambda change: (id_key(change[1]), _KIND_ORDER[change[0]]))
    return [
        _event(*change, org=org, rev=rev, observed_at=observed_at, epoch=epoch)
        for change in changes
    ]


def initial_events(
    after: Mapping[MemberId, MemberState], *, org: str, observed_at: dt.datetime, epoch: str = ""
) -> list[MemberEvent]:
    """``emit_initial=True``: one ``invited`` or ``joined`` per member of the first poll."""
    return [
        _event(
            "invited" if now.pending else "joined",
            mid,
            now,
            None,
            org=org,
            rev=0,
            observed_at=observed_at,
            epoch=epoch,
        )
        for mid, now in sorted(after.items(), key=lambda item: id_key(item[0]))
    ]
