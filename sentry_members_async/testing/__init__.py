"""An emulated Sentry for tests: ``SentryEmulator`` and its faults.

    from sentry_members_async.testing import SentryEmulator, RateLimit
    from sentry_members_async.testing.faults import Status, ResetBefore, ResetAfter, Slow

The emulator imports nothing of the client side of the package.
"""

from .emulator import Injection, LoggedRequest, RateLimit, SentryEmulator
from .faults import Fault, ResetAfter, ResetBefore, Slow, Status, TruncatedBody

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
