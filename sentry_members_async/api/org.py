"""``client.org("acme")``: one organization's resource groups."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..bulk import BulkAPI
from . import _common as c
from .members import MembersAPI
from .scim import ScimAPI
from .teams import TeamsAPI

if TYPE_CHECKING:
    from ..bulk import BulkReport, Progress
    from ..client import SentryClient
    from ..reconcile import Change, DesiredMember, Plan
    from ..watch import CheckpointStore, MemberWatch

__all__ = ["Org", "OrgMembers"]


class OrgMembers(MembersAPI):
    """``acme.members``: the members resource, plus :meth:`watch` (composed above it)."""

    def watch(
        self,
        *,
        interval: float = 60.0,
        teams: bool = False,
        budget: float | None = 0.2,
        store: CheckpointStore | None = None,
        key: str | None = None,
        emit_initial: bool = False,
        prefetch: int = 8,
    ) -> MemberWatch:
        """Membership changes as an async iterator of events (see :mod:`..watch`)."""
        from ..watch import MemberWatch

        return MemberWatch(
            self._org,
            interval=interval,
            teams=teams,
            budget=budget,
            store=store,
            key=key,
            emit_initial=emit_initial,
            prefetch=prefetch,
        )


class Org:
    """An organization handle: ``.members``, ``.teams``, ``.scim``."""

    def __init__(self, client: SentryClient, slug: str) -> None:
        self.client = client
        self.slug = c.check_slug(slug, "organization")
        self.members = OrgMembers(self)
        self.teams = TeamsAPI(self)
        self.scim = ScimAPI(self)
        self.bulk = BulkAPI(self)

    def __repr__(self) -> str:
        return f"Org({self.slug!r})"

    async def plan(
        self,
        desired: Iterable[DesiredMember | Mapping[str, Any]],
        *,
        remove_missing: bool = True,
        remove_owners: bool = False,
        remove_self: bool = False,
    ) -> Plan:
        """The changes that make the org match ``desired`` (see :mod:`..reconcile`).

        Members not in ``desired`` are removed (``remove_missing``), except
        Owners and the caller unless ``remove_owners`` / ``remove_self``.
        """
        from ..reconcile import make_plan

        return await make_plan(
            self,
            desired,
            remove_missing=remove_missing,
            remove_owners=remove_owners,
            remove_self=remove_self,
        )

    async def apply(
        self, plan: Plan, *, progress: Progress | None = None, concurrency: int = 16
    ) -> BulkReport[Change]:
        """Run a :class:`Plan` through the bulk engine; one outcome per change."""
        from ..reconcile import apply_plan

        return await apply_plan(self, plan, progress=progress, concurrency=concurrency)
