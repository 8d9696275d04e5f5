"""An emulated Sentry for tests: ``SentryEmulator`` and its faults.

    from sentry_members_async.testing import SentryEmulator, RateLimit
    from sentry_members_async.testing.faults import Status, ResetBefore, ResetAfter, Slow

The emulator imports nothing of the client side of the package: only the
transport value types and the in-memory transport (``sentry_members_async.transports``).
"""

from .emulator import SentryEmulator
from .faults import Fault, ResetAfter, ResetBefore, Slow, Status, TruncatedBody
from .injection import Injection
from .ratelimit import RateLimit
from .requestlog import LoggedRequest

__all__ = [
    "Fault",
    "Injection",
    "LoggedRequest",
    "RateLimit",
    "ResetAfter",
    "ResetBefore",
    "SentryEmulator",
    "Slow",
    "Status",
    "TruncatedBody",
]
