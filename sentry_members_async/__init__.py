"""sentry_members_async: an asyncio SDK for Sentry's member, team and SCIM APIs.

The root holds what a user of the SDK needs: the client and the org handle,
every error, the core models, the rows of a roster or an invite file, and the
reports and outcomes of a run. Everything else lives in its own module: the
resources (``.api``, ``.bulk``, ``.org``), the pipeline (``.pipeline``), the
limiters and the retry policy's decision (``.ratelimit``, ``.retry``),
pagination, the transports and their value types (``.transports``), the SCIM
models (``.models``), the change values of a plan (``.reconcile``) and the
watcher's stores, options and states (``.watch``).

Those names were importable from the root before; they still are, with a
``DeprecationWarning`` that names the module to import them from.
"""

from typing import TYPE_CHECKING

from ._version import __version__
from .api import TeamAddResult, TeamJoinResult
from .api.members import AcceptanceResult, InviteStatus
from .changes import BulkAborted, BulkReport, Outcome, OutcomeKind
from .client import SentryClient
from .converter import DecodeError
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    IdpManagedError,
    InsufficientRoleError,
    InviteQuotaError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitedError,
    RedirectError,
    ResponseTooLargeError,
    SentryError,
    ServerError,
    ValidationError,
)
from .models import (
    ORG_ROLE_NAMES,
    TEAM_ROLE_NAMES,
    Flags,
    Member,
    MemberId,
    MemberRef,
    OrgRole,
    Team,
    TeamId,
    TeamMembership,
    TeamRole,
    User,
    UserEmail,
    UserId,
)
from .org import Org
from .ratelimit import RateLimiter
from .reconcile import Change, Plan
from .retry import RetryPolicy
from .rows import (
    DesiredMember,
    InviteRow,
    RosterError,
    RowError,
    load_invite_rows,
    load_roster,
)
from .transports.base import (
    ConnectError,
    RequestTimeoutError,
    ResponseLostError,
    TransportError,
)
from .watch import MemberEvent, MemberWatch

__all__ = [
    "__version__",
    # the client and the org handle
    "Org",
    "SentryClient",
    # errors
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "BulkAborted",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "DecodeError",
    "IdpManagedError",
    "InsufficientRoleError",
    "InviteQuotaError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RedirectError",
    "RequestTimeoutError",
    "ResponseLostError",
    "ResponseTooLargeError",
    "RosterError",
    "RowError",
    "SentryError",
    "ServerError",
    "TransportError",
    "ValidationError",
    # models
    "ORG_ROLE_NAMES",
    "TEAM_ROLE_NAMES",
    "Flags",
    "Member",
    "MemberId",
    "MemberRef",
    "OrgRole",
    "Team",
    "TeamId",
    "TeamMembership",
    "TeamRole",
    "User",
    "UserEmail",
    "UserId",
    # results, reports and outcomes
    "AcceptanceResult",
    "BulkReport",
    "InviteStatus",
    "Outcome",
    "OutcomeKind",
    "TeamAddResult",
    "TeamJoinResult",
    # rosters, invite files and plans
    "Change",
    "DesiredMember",
    "InviteRow",
    "Plan",
    "load_invite_rows",
    "load_roster",
    # limits
    "RateLimiter",
    "RetryPolicy",
    # the membership feed
    "MemberEvent",
    "MemberWatch",
]

_MODULES: dict[str, tuple[str, ...]] = {
    "sentry_members_async.api": ("MembersAPI", "ScimAPI", "TeamsAPI"),
    "sentry_members_async.api.scim": ("ScimSchema",),
    "sentry_members_async.bulk": ("BulkAPI",),
    "sentry_members_async.org": ("OrgAPI", "OrgMembers"),
    "sentry_members_async.pipeline": ("BaseClient", "ClientStats", "RetryEvent"),
    "sentry_members_async.pagination": ("Paginator",),
    "sentry_members_async.ratelimit": ("Limiter", "NoLimiter"),
    "sentry_members_async.retry": ("RetryDecision",),
    "sentry_members_async.models": (
        "ScimEmail",
        "ScimGroup",
        "ScimGroupMember",
        "ScimName",
        "ScimUser",
        "TeamRoleAssignment",
    ),
    "sentry_members_async.reconcile": (
        "AddToTeam",
        "ChangeRole",
        "Invite",
        "RemoveFromTeam",
        "RemoveMember",
        "SetTeamRole",
    ),
    "sentry_members_async.rows": ("RoleRow", "RowBatch", "TeamRow"),
    "sentry_members_async.transports": (
        "Headers",
        "MemoryTransport",
        "Request",
        "Response",
        "Transport",
    ),
    "sentry_members_async.transports.aiohttp": ("AiohttpTransport",),
    "sentry_members_async.watch": (
        "EVENT_KINDS",
        "BudgetLimiter",
        "CheckpointStore",
        "EventKind",
        "FileStore",
        "MemberState",
        "MemoryStore",
        "RedisStore",
        "WatchOptions",
        "WatchStats",
    ),
}

#: The names the root no longer lists, each with the module to import it from.
_MOVED: dict[str, str] = {name: module for module, names in _MODULES.items() for name in names}

if not TYPE_CHECKING:  # mypy keeps flagging a moved name imported from the root

    def __getattr__(name: str) -> object:
        """A moved name, from its module, with a :class:`DeprecationWarning`."""
        module = _MOVED.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        import importlib
        import warnings

        warnings.warn(
            f"sentry_members_async.{name} is deprecated: import it from {module}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(module), name)
