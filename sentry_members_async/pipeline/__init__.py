"""The request pipeline: configuration, then attempt, classification and retry scheduling.

:class:`SentryClient` is the one client class (``client.org("acme")`` included;
:mod:`sentry_members_async.client` re-exports it). The resources and the
orchestration are typed against the :class:`Requester` protocol it satisfies.
The package's rooms, in the order a request goes through them:

* :mod:`.config`: the client's settings, checked once before any I/O;
* :mod:`.build`: arguments to a :class:`~sentry_members_async.transports.base.Request`;
* :mod:`.protocol`: :class:`Requester`, what the layers above use of a client;
* :mod:`.base`: :class:`SentryClient`, whose :meth:`~SentryClient.request` runs one
  attempt at a time (limiter, transport, :mod:`.redirects`), classifies the
  answer (:mod:`.classify`) and schedules retries with the pure
  :class:`~sentry_members_async.retry.RetryPolicy`;
* :mod:`.observer`: stats, log lines and hooks, in one object.

``BaseClient`` is a deprecated alias of :class:`SentryClient` (the pipeline's
name when ``.org()`` lived on a subclass).
"""

from __future__ import annotations

from .base import BaseClient, SentryClient
from .build import QueryValue, quote_segment
from .classify import error_from_response
from .config import DEFAULT_BASE_URL, DEFAULT_MAX_RESPONSE_SIZE, DEFAULT_MAX_SERVER_PAUSE
from .observer import ClientStats, RequestHook, ResponseHook, RetryEvent, RetryHook
from .protocol import Confirm, Confirmed, Requester

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
    "Requester",
    "ResponseHook",
    "RetryEvent",
    "RetryHook",
    "SentryClient",
    "error_from_response",
    "quote_segment",
]
