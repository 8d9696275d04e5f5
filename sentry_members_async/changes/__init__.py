"""The one engine for changes: change values, the executor, outcomes and the report.

``acme.bulk`` (:mod:`..bulk`) and ``acme.apply(plan)`` (:mod:`..reconcile`)
build the same change values (:mod:`.values`) and run them through one
executor (:mod:`.executor`) that owns concurrency, outcomes, cancellation,
exactly-once and the daily invite-quota gate. Each change's rule lives in the
resource method it calls (``api/``), written once.
"""

from .executor import QUOTA_PROBE, Prepare, execute
from .idp import (
    IDP_MANAGED_DETAIL,
    IdpFallback,
    IdpManagedError,
    check_idp_fallback,
    is_idp_managed,
)
from .outcomes import (
    BulkAborted,
    BulkCancelled,
    BulkReport,
    Done,
    Outcome,
    OutcomeKind,
    Progress,
    ReportWriter,
    Via,
)
from .values import (
    AddToTeam,
    Change,
    ChangeRole,
    Deprovision,
    Invite,
    Operation,
    RemoveFromTeam,
    RemoveMember,
    RunContext,
    ScimInvite,
    SetTeamRole,
)

__all__ = [
    "IDP_MANAGED_DETAIL",
    "QUOTA_PROBE",
    "AddToTeam",
    "BulkAborted",
    "BulkCancelled",
    "BulkReport",
    "Change",
    "ChangeRole",
    "Deprovision",
    "Done",
    "IdpFallback",
    "IdpManagedError",
    "Invite",
    "Operation",
    "Outcome",
    "OutcomeKind",
    "Prepare",
    "Progress",
    "RemoveFromTeam",
    "RemoveMember",
    "ReportWriter",
    "RunContext",
    "ScimInvite",
    "SetTeamRole",
    "Via",
    "check_idp_fallback",
    "execute",
    "is_idp_managed",
]
