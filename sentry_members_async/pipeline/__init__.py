"""The request pipeline: configuration, then attempt, classification and retry scheduling.

:class:`BaseClient` is the class
:class:`~sentry_members_async.client.SentryClient` extends; the resources and
the orchestration are typed against it. The package's rooms, in the order a
request goes through them:

* :mod:`.config`: the client's settings, checked once before any I/O;
* :mod:`.build`: arguments to a :class:`~sentry_members_async.transports.base.Request`;
* :mod:`.base`: :class:`BaseClient`, whose :meth:`~BaseClient.request` runs one
  attempt at a time (limiter, transport, :mod:`.redirects`), classifies the
  answer (:mod:`.classify`) and schedules retries with the pure
  :class:`~sentry_members_async.retry.RetryPolicy`;
* :mod:`.observer`: stats, log lines and hooks, in one object.
"""

from __future__ import annotations

from .base import BaseClient, Confirm, Confirmed
from .build import QueryValue, quote_segment
from .classify import error_from_response
from .config import DEFAULT_BASE_URL, DEFAULT_MAX_RESPONSE_SIZE, DEFAULT_MAX_SERVER_PAUSE
from .observer import ClientStats, RequestHook, ResponseHook, RetryEvent, RetryHook

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_SIZE",
    "DEFAULT_MAX_SERVER_PAUSE",
    "BaseClient",
    "ClientStats",
    "Confirm",
    "Confirmed",
    "QueryValue",
    "RequestHook",
    "ResponseHook",
    "RetryEvent",
    "RetryHook",
    "error_from_response",
    "quote_segment",
]
