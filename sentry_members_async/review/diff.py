"""A review compared with an earlier one: who joined, left, changed role, lost 2FA or SSO.

Members are matched by member id (a membership keeps its id when its invite
is accepted); an e-mail that left and came back is a leaver and a joiner.
"""

from __future__ import annotations

from typing import Any

import attrs

from .snapshot import Review, ReviewMember

__all__ = ["ReviewDiff", "RoleChange", "diff_reviews"]


@attrs.frozen(kw_only=True)
class RoleChange:
    email: str
    member_id: str
    before: str
    after: str

    def to_json(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "memberId": self.member_id,
            "before": self.before,
            "after": self.after,
        }


@attrs.frozen(kw_only=True)
class ReviewDiff:
    """What differs between ``previous`` (hash) and this review."""

    previous_hash: str
    previous_finished_at: str
    joined: tuple[ReviewMember, ...]
    left: tuple[ReviewMember, ...]
    role_changed: tuple[RoleChange, ...]
    lost_2fa: tuple[ReviewMember, ...]
    lost_sso: tuple[ReviewMember, ...]

    def __bool__(self) -> bool:
        return bool(self.joined or self.left or self.role_changed or self.lost_2fa or self.lost_sso)

    def counts(self) -> dict[str, int]:
        return {
            "joined": len(self.joined),
            "left": len(self.left),
            "roleChanged": len(self.role_changed),
            "lost2fa": len(self.lost_2fa),
            "lostSso": len(self.lost_sso),
        }

    def to_json(self) -> dict[str, Any]:
        def who(members: tuple[ReviewMember, ...]) -> list[dict[str, str]]:
            return [
                {"email": m.email, "memberId": m.member_id, "orgRole": m.org_role} for m in members
            ]

        return {
            "previousHash": self.previous_hash,
            "previousFinishedAt": self.previous_finished_at,
            "counts": self.counts(),
            "joined": who(self.joined),
            "left": who(self.left),
            "roleChanged": [c.to_json() for c in self.role_changed],
            "lost2fa": who(self.lost_2fa),
            "lostSso": who(self.lost_sso),
        }


def diff_reviews(previous: Review, current: Review) -> ReviewDiff:
    """``current`` compared with ``previous`` (joined, left, role changes, 2FA and SSO lost)."""
    before = {m.member_id: m for m in previous.members}
    after = {m.member_id: m for m in current.members}
    both = [(before[k], after[k]) for k in after if k in before]
    return ReviewDiff(
        previous_hash=previous.content_hash,
        previous_finished_at=previous.finished_at.isoformat(),
        joined=tuple(m for k, m in after.items() if k not in before),
        left=tuple(m for k, m in before.items() if k not in after),
        role_changed=tuple(
            RoleChange(
                email=new.email, member_id=new.member_id, before=old.org_role, after=new.org_role
            )
            for old, new in both
            if old.org_role != new.org_role
        ),
        lost_2fa=tuple(new for old, new in both if old.has_2fa and not new.has_2fa),
        lost_sso=tuple(
            new
            for old, new in both
            if (old.sso_linked and not new.sso_linked) or (new.sso_invalid and not old.sso_invalid)
        ),
    )
