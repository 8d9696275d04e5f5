"""What a plan refuses to propose: mass removals, and removals built on an implausible read.

A roster applied from cron must not wipe an organization because a CSV lost
its rows or a read came back short (Sentry's member list answers ``[]`` to a
query it does not understand: ``queryset.none()`` in
src/sentry/api/endpoints/organization_member/index.py). So ``plan()``, when
it would remove members, raises before anything is sent:

- :class:`MassRemovalError` when it would remove more than
  :func:`removal_limit` members (10 % of the org, at least
  :data:`MIN_REMOVAL_LIMIT`), unless ``max_removals=N`` raises the limit or
  ``allow_mass_removal=True`` lifts it;
- :class:`ImplausibleReadError` when the live read found no member at all
  (every org has an Owner), or fewer than half the members the last plan
  for the same org found (``previous_size=``; ``acme.plan`` passes the size
  its previous plan of this ``Org`` object recorded in ``Plan.org_size``).
  A job that runs in a new process each time can keep ``plan.org_size`` and
  pass it back as ``previous_size``.
"""

from __future__ import annotations

from ..errors import ValidationError

__all__ = [
    "MIN_REMOVAL_LIMIT",
    "ImplausibleReadError",
    "MassRemovalError",
    "PlanRefusedError",
    "check_read",
    "check_removals",
    "removal_limit",
]

#: The fewest removals a plan may propose without being asked: 25.
MIN_REMOVAL_LIMIT = 25
#: The share of the org a plan may remove without being asked: 10 %.
REMOVAL_SHARE = 0.10
#: A read smaller than this share of the previous plan's is implausible.
SHRINK_SHARE = 0.5


class PlanRefusedError(ValidationError):
    """``plan()`` refused to propose the removals; nothing was sent."""


class MassRemovalError(PlanRefusedError):
    """The plan would remove more members than its limit.

    ``removals`` (how many it would remove), ``org_size`` (members read),
    ``limit`` (the most it may remove without being asked).
    """

    def __init__(self, org: str, removals: int, org_size: int, limit: int) -> None:
        self.org = org
        self.removals = removals
        self.org_size = org_size
        self.limit = limit
        super().__init__(
            f"the plan for {org} would remove {removals} of its {org_size} members, more than "
            f"the limit of {limit} (10 % of the org, at least {MIN_REMOVAL_LIMIT}); nothing "
            f"was sent. If the roster is complete and these removals are meant, plan with "
            f"max_removals={removals} (command line: --max-removals {removals}) or "
            f"allow_mass_removal=True; remove_missing=False keeps the members missing from "
            f"the roster"
        )


class ImplausibleReadError(PlanRefusedError):
    """The live read looks wrong (empty, or far smaller than before): no removal is proposed.

    ``org_size`` (members read), ``previous_size`` (the last plan's, if known).
    """

    def __init__(self, org: str, org_size: int, previous_size: int | None) -> None:
        self.org = org
        self.org_size = org_size
        self.previous_size = previous_size
        if org_size == 0:
            why = "found no member at all (an organization always has an Owner)"
        else:
            why = f"found {org_size} members where the last plan found {previous_size}"
        super().__init__(
            f"the member list of {org} {why}: a plan that removes members is not built on "
            f"such a read; nothing was sent. Check the token and the organization; if the "
            f"org really shrank, plan with allow_mass_removal=True"
        )


def removal_limit(org_size: int, max_removals: int | None = None) -> int:
    """The most removals a plan may propose: ``max_removals``, else 10 % of the org (>= 25)."""
    if max_removals is not None:
        if max_removals < 0:
            raise ValidationError("max_removals must be 0 or more")
        return max_removals
    return max(int(org_size * REMOVAL_SHARE), MIN_REMOVAL_LIMIT)


def check_read(
    org: str, org_size: int, previous_size: int | None, *, allow_mass_removal: bool = False
) -> None:
    """Raise :class:`ImplausibleReadError` for an empty read, or (unless
    ``allow_mass_removal``) one under half the last plan's."""
    shrank = previous_size is not None and org_size < previous_size * SHRINK_SHARE
    if org_size == 0 or (shrank and not allow_mass_removal):
        raise ImplausibleReadError(org, org_size, previous_size)


def check_removals(
    org: str,
    removals: int,
    org_size: int,
    *,
    max_removals: int | None = None,
    allow_mass_removal: bool = False,
) -> None:
    """Raise :class:`MassRemovalError` when ``removals`` exceed the limit (unless allowed)."""
    if allow_mass_removal:
        return
    limit = removal_limit(org_size, max_removals)
    if removals > limit:
        raise MassRemovalError(org, removals, org_size, limit)
