"""``client.org("acme")``: the resources, composed with the orchestration above them.

:class:`~sentry_members_async.api.org.OrgAPI` holds the resources (one method
per endpoint); :class:`Org` adds what is built *on* them: bulk operations,
roster plan/apply and the membership watch. The resources never import this
module, so the layers point one way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .api.members import MembersAPI
from .api.org import OrgAPI
from .bulk import BulkAPI
from .changes import BulkReport, IdpFallback, Progress
from .reconcile import Change, DesiredMember, Plan, apply_plan, make_plan
from .watch import CheckpointStore, MemberWatch, WatchOptions

if TYPE_CHECKING:
    from .pipeline import BaseClient

__all__ = ["Org", "OrgMembers"]


class OrgMembers(MembersAPI):
    """``acme.members``: the members resource, plus :meth:`watch` (composed above it)."""

    def __init__(self, org: OrgAPI) -> None:
        super().__init__(org)
        self._org_api = org

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
        """Membership changes as an async iterator of events (see :mod:`..watch`).

        The keywords are :class:`~sentry_members_async.watch.WatchOptions`' fields
        (spelled out here so that editors, type checkers and this reference show
        them); they are defaulted and checked there, once.
        """
        options = WatchOptions(
            interval=interval,
            teams=teams,
            budget=budget,
            store=store,
            key=key,
            emit_initial=emit_initial,
            prefetch=prefetch,
        )
        return MemberWatch(self._org_api, options)


class Org(OrgAPI):
    """An organization: ``.members``, ``.teams``, ``.scim``, ``.bulk``, ``.plan()``, ``.apply()``"""

    members: OrgMembers

    def __init__(self, client: BaseClient, slug: str) -> None:
        super().__init__(client, slug)
        self.members = OrgMembers(self)
        self.bulk = BulkAPI(self)

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
        Owners and the caller unless ``remove_owners`` / ``remove_self``. Team
        roles are compared as held: a role at or below the org role's minimum
        (admin for a manager or owner) is the minimum, no change.
        """
        return await make_plan(
            self,
            desired,
            remove_missing=remove_missing,
            remove_owners=remove_owners,
            remove_self=remove_self,
        )

    async def apply(
        self,
        plan: Plan,
        *,
        idp_fallback: IdpFallback | None = None,
        progress: Progress | None = None,
        concurrency: int = 16,
    ) -> BulkReport[Change]:
        """Run a :class:`Plan` through the bulk engine; one outcome per change.

        ``idp_fallback="scim"``: a removal Sentry refuses because the identity
        provider provisioned the member goes through SCIM (as ``bulk.remove``).
        An invite's team roles, which Sentry ignores in the invite, are set on
        its team memberships right after it (``failed`` if one does not take).
        """
        return await apply_plan(
            self, plan, idp_fallback=idp_fallback, progress=progress, concurrency=concurrency
        )
