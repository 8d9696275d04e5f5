"""A watcher's settings, written once: :class:`WatchOptions` (checked when made).

``acme.members.watch(interval=30, budget=0.2)`` and :class:`MemberWatch` take
the same settings; they are declared, defaulted, documented and checked here
only.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from ..errors import ValidationError
from .budget import check_budget
from .stores import CheckpointStore

__all__ = ["WatchOptions"]


def _seconds(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{attribute.name} must be a number of seconds")
    if not math.isfinite(value) or value < 0:
        raise ValidationError(f"{attribute.name} must be a finite number of seconds, at least 0")


def _flag(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise ValidationError(f"{attribute.name} must be a bool")


def _budget(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_budget(value)


def _positive(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{attribute.name} must be a positive integer")


def _store(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, CheckpointStore):
        raise ValidationError("store must have async load(key) and save(key, data)")


def _key(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValidationError("key must be a non-empty string")


@attrs.frozen(kw_only=True)
class WatchOptions:
    """How a :class:`~sentry_members_async.watch.MemberWatch` polls (checked when made).

    Every bad value raises :class:`~sentry_members_async.errors.ValidationError`
    here, before anything is sent.
    """

    #: Seconds between the starts of two polls (stretched when a poll needs more
    #: requests than the budget allows in that time).
    interval: float = attrs.field(default=60.0, validator=_seconds)
    #: Watch team memberships too (``teams_changed``): one more list per team and poll.
    teams: bool = attrs.field(default=False, validator=_flag)
    #: Share of the rate limit the watcher may use (``None``: no share of its own,
    #: the client's limiter only).
    budget: float | None = attrs.field(default=0.2, validator=_budget)
    #: A :class:`CheckpointStore`; ``None``: a :class:`FileStore` in
    #: :func:`default_state_dir`.
    store: CheckpointStore | None = attrs.field(default=None, validator=_store)
    #: The checkpoint's key; ``None``: from the Sentry base URL (scheme, host, port,
    #: path), the org and ``teams``.
    key: str | None = attrs.field(default=None, validator=_key)
    #: On the first poll with an empty store, emit every member (``invited`` or
    #: ``joined``) instead of recording a silent baseline.
    emit_initial: bool = attrs.field(default=False, validator=_flag)
    #: Pages fetched concurrently while listing.
    prefetch: int = attrs.field(default=8, validator=_positive)
    #: Ignore the stored checkpoint (one that is unreadable, say) and start a new
    #: baseline, written over it at the first poll (the key must not be held).
    reset: bool = attrs.field(default=False, validator=_flag)
