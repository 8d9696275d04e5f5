"""``client.org("acme")``: the resources, composed with the orchestration above them.

:class:`~sentry_members_async.api.org.OrgAPI` holds the resources (one method
per endpoint); :class:`Org` adds what is built *on* them: bulk operations,
roster plan/apply and the membership watch. The resources never import this
module, so the layers point one way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .api.members import MembersAPI
from .api.org import OrgAPI
from .bulk import BulkAPI
from .changes import BulkReport, IdpFallback, OutcomeKind, Progress
from .reconcile import Change, DesiredMember, Plan, PlanOptions, apply_plan, make_plan
from .review import Directory, Resolution, Review, load_directory
from .review import resolve as resolve_directory
from .review import review as review_org
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
        reset: bool = False,
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
            reset=reset,
        )
        return MemberWatch(self._org_api, options)


class Org(OrgAPI):
    """An organization: ``.members``, ``.teams``, ``.scim``, ``.bulk``, ``.plan()``,
    ``.apply()``, ``.review()``, ``.resolve()``"""

    members: OrgMembers

    def __init__(self, client: BaseClient, slug: str) -> None:
        super().__init__(client, slug)
        self.members = OrgMembers(self)
        self.bulk = BulkAPI(self)
        #: How many members the last plan of this object read (the implausible-read guard's).
        self._last_size: int | None = None

    async def plan(
        self,
        desired: Iterable[DesiredMember | Mapping[str, Any]],
        *,
        remove_missing: bool = False,
        max_removals: int | None = None,
        allow_mass_removal: bool = False,
        remove_owners: bool = False,
        remove_self: bool = False,
        previous_size: int | None = None,
    ) -> Plan:
        """The changes that make the org match ``desired`` (see :mod:`..reconcile`).

        Nothing is sent but reads. Members not in ``desired`` stay unless
        ``remove_missing=True``; even then Owners and the caller stay unless
        ``remove_owners`` / ``remove_self``. A plan that would remove more than
        10 % of the org (at least 25) raises :class:`~.reconcile.MassRemovalError`
        unless ``max_removals=N`` allows that many or ``allow_mass_removal=True``;
        one built on an empty read, or on one under half the members the last
        plan found (``previous_size``, by default the last plan of this
        ``Org`` object), raises :class:`~.reconcile.ImplausibleReadError`.
        Changes the token cannot make are in ``plan.refused`` (marked ``!``
        in ``plan.diff()``). Team roles are compared as held: a role at or
        below the org role's minimum (admin for a manager or owner) is the
        minimum, no change.
        """
        options = PlanOptions(
            remove_missing=remove_missing,
            remove_owners=remove_owners,
            remove_self=remove_self,
            max_removals=max_removals,
            allow_mass_removal=allow_mass_removal,
            previous_size=self._last_size if previous_size is None else previous_size,
        )
        plan = await make_plan(self, desired, options)
        self._last_size = plan.org_size
        return plan

    async def apply(
        self,
        plan: Plan,
        *,
        idp_fallback: IdpFallback | None = None,
        progress: Progress | None = None,
        concurrency: int = 16,
    ) -> BulkReport[Change]:
        """Run a :class:`Plan` through the bulk engine; one outcome per change.

        The members it changes are read again first: a change whose premise
        changed since the plan (the member gone, made an Owner, another role
        or other teams) is not sent and ends ``skipped`` with a
        :class:`~.reconcile.StaleChangeError`; one the plan found the token
        cannot make ends ``refused`` with a :class:`~.reconcile.ChangeRefusedError`.

        ``idp_fallback="scim"``: a removal Sentry refuses because the identity
        provider provisioned the member goes through SCIM (as ``bulk.remove``).
        An invite's team roles, which Sentry ignores in the invite, are set on
        its team memberships right after it (``failed`` if one does not take).
        """
        report = await apply_plan(
            self, plan, idp_fallback=idp_fallback, progress=progress, concurrency=concurrency
        )
        if plan.org_size is not None:
            # The next plan's implausible-read guard expects the org as this apply left it.
            counts = report.counts()
            removed = counts.get(OutcomeKind.REMOVED, 0) + counts.get(OutcomeKind.NOT_FOUND, 0)
            self._last_size = plan.org_size - removed
        return report

    async def review(self, *, rounds: int = 3) -> Review:
        """One checked snapshot of the org for an access review (see :mod:`..review`):
        every member and invite with role, teams, 2FA, SSO and IdP flags, invite age,
        summary counts, findings, a completeness proof and a content hash. Costs one
        request per member page and per team-member page; read again (``rounds`` at
        most) when the org changes while it is read."""
        return await review_org(self, rounds=rounds)

    async def resolve(
        self, directory: Directory | str | Path, *, snapshot: Review | None = None
    ) -> Resolution:
        """Join the org with a people directory (a :class:`~.review.Directory`, or the
        path of its CSV or JSON file) on every address Sentry holds: matched, leavers
        still present, unknown members, conflicts; ``.plan()`` removes the leavers
        through the guarded plan/apply."""
        if not isinstance(directory, Directory):
            directory = load_directory(Path(directory))
        return await resolve_directory(self, directory, snapshot=snapshot)
