"""``client.org("acme")``: one organization's resources, and the orchestration on them.

:class:`Org` is the one org handle. It composes the resource groups
(:class:`~sentry_members_async.api.MembersAPI`, ``TeamsAPI``, ``ScimAPI``, one
method per endpoint) and :class:`~sentry_members_async.bulk.BulkAPI`, one of
each, and adds what is built on them: roster plan/apply, the access review
and the directory join. Those layers and the resources are typed against the
:class:`~sentry_members_async.api.OrgContext` protocol this class satisfies;
none of them imports this module, so the layers point one way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .api import MembersAPI, ScimAPI, TeamsAPI
from .api._common import check_slug
from .bulk import BulkAPI
from .changes import BulkReport, IdpFallback, OutcomeKind, Progress
from .reconcile import Change, DesiredMember, Plan, PlanOptions, apply_plan, make_plan
from .review import Directory, Resolution, Review, load_directory
from .review import resolve as resolve_directory
from .review import review as review_org

if TYPE_CHECKING:
    from .pipeline import SentryClient

__all__ = ["Org", "OrgAPI", "OrgMembers"]

#: Deprecated: ``acme.members``' class when ``.watch()`` lived on a subclass;
#: :class:`~sentry_members_async.api.MembersAPI` has it now. Use ``MembersAPI``.
OrgMembers = MembersAPI


class Org:
    """An organization: ``.members``, ``.teams``, ``.scim``, ``.bulk``, ``.plan()``,
    ``.apply()``, ``.review()``, ``.resolve()``"""

    def __init__(self, client: SentryClient, slug: str) -> None:
        self.client = client
        self.slug = check_slug(slug, "organization")
        self.members = MembersAPI(self)
        self.teams = TeamsAPI(self)
        self.scim = ScimAPI(self)
        self.bulk = BulkAPI(self)
        #: How many members the last plan of this object read (the implausible-read guard's).
        self._last_size: int | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.slug!r})"

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


#: Deprecated: the resource half of the org handle when it was a class pair;
#: :class:`Org` is the one handle now (the resources take an
#: :class:`~sentry_members_async.api.OrgScope`). Use ``Org``.
OrgAPI = Org
