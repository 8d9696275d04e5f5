"""The one engine for changes: change values, the executor, outcomes and the report.

``acme.bulk`` (:mod:`..bulk`) and ``acme.apply(plan)`` (:mod:`..reconcile`)
build the same change values (:mod:`.values`) and run them through one
executor (:mod:`.executor`) that owns concurrency, outcomes, cancellation,
exactly-once and the daily invite-quota gate. Each change's rule lives in the
resource method it calls (``api/``), written once. :mod:`.existing` reads who
is already in the org before a bulk invite sends anything.
"""

from .executor import MAX_DRAIN, Prepare, execute
from .existing import Existing, Precheck, check_precheck
from .idp import (
    IDP_MANAGED_DETAIL,
    IdpFallback,
    IdpManagedError,
    check_idp_fallback,
    is_idp_managed,
)
from .lifecycle import PendingInvite, reinvite_step, revoke_step, stale_invites
from .outcomes import (
    QUOTA_WINDOW,
    BulkAborted,
    BulkReport,
    Done,
    Outcome,
    OutcomeKind,
    Progress,
    ReportWriter,
    Via,
    quota_resets_at,
)
from .preflight import Preflight
from .values import (
    AddToTeam,
    Change,
    ChangeRole,
    Deprovision,
    Invite,
    Operation,
    Reinvite,
    RemoveFromTeam,
    RemoveMember,
    RunContext,
    ScimInvite,
    SetTeamRole,
)

__all__ = [
    "IDP_MANAGED_DETAIL",
    "MAX_DRAIN",
    "QUOTA_WINDOW",
    "AddToTeam",
    "BulkAborted",
    "BulkReport",
    "Change",
    "ChangeRole",
    "Deprovision",
    "Done",
    "Existing",
    "IdpFallback",
    "IdpManagedError",
    "Invite",
    "Operation",
    "Outcome",
    "PendingInvite",
    "OutcomeKind",
    "Precheck",
    "Preflight",
    "Prepare",
    "Progress",
    "RemoveFromTeam",
    "Reinvite",
    "RemoveMember",
    "ReportWriter",
    "RunContext",
    "ScimInvite",
    "SetTeamRole",
    "Via",
    "check_idp_fallback",
    "check_precheck",
    "execute",
    "is_idp_managed",
    "quota_resets_at",
    "reinvite_step",
    "revoke_step",
    "stale_invites",
]
