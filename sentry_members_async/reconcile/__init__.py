"""Roster reconcile: compare a desired roster with the live org, then apply the difference.

``plan = await acme.plan(desired)`` returns a :class:`Plan` of typed changes
(invite, change role, add to / remove from a team, set a team role, remove);
``print(plan.diff())`` shows them, one line each and a summary line;
``report = await acme.apply(plan)`` runs them through the one executor that
bulk operations use (:mod:`..changes`).

Automation that cannot wipe an org:

- Members missing from the roster are kept unless ``remove_missing=True``;
  a plan never removes Owners or the caller unless told to (``kept``).
- With ``remove_missing=True``, :mod:`.guards` refuse (before anything is
  sent) a plan that removes more than 10 % of the org (at least 25) unless
  ``max_removals=N`` or ``allow_mass_removal=True``, and a plan built on an
  empty read or one under half the last plan's (:class:`MassRemovalError`,
  :class:`ImplausibleReadError`).
- Each change is checked against what the token can do
  (:mod:`..api.capabilities`): a change it cannot make is marked ``!`` in
  the diff and not sent (:class:`ChangeRefusedError`); a removal of an
  IdP-provisioned member goes through SCIM when a SCIM token is configured.
- ``apply`` reads the members it changes again and sends nothing whose
  premise changed since the plan (:mod:`.rechecks`, :class:`StaleChangeError`):
  a stale plan never removes or demotes an Owner.
- A second plan after ``apply`` is empty (:mod:`.compare`: team roles
  compared as held; :mod:`.apply`: an invite's team roles set on its
  memberships).
"""

from ..api.capabilities import ChangeRefusedError
from ..changes import (
    AddToTeam,
    Change,
    ChangeRole,
    Invite,
    RemoveFromTeam,
    RemoveMember,
    SetTeamRole,
)
from ..rows import DesiredMember, load_roster
from .apply import apply_plan
from .compare import PlanOptions, make_plan, read_caller
from .guards import (
    MIN_REMOVAL_LIMIT,
    ImplausibleReadError,
    MassRemovalError,
    PlanRefusedError,
    removal_limit,
)
from .plan import Plan, Premise, StaleChangeError

__all__ = [
    "MIN_REMOVAL_LIMIT",
    "AddToTeam",
    "Change",
    "ChangeRefusedError",
    "ChangeRole",
    "DesiredMember",
    "ImplausibleReadError",
    "Invite",
    "MassRemovalError",
    "Plan",
    "PlanOptions",
    "PlanRefusedError",
    "Premise",
    "RemoveFromTeam",
    "RemoveMember",
    "SetTeamRole",
    "StaleChangeError",
    "apply_plan",
    "load_roster",
    "make_plan",
    "read_caller",
    "removal_limit",
]
