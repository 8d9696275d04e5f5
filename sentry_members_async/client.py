"""``SentryClient``: the one client class, re-exported from :mod:`.pipeline`.

The configuration, the request pipeline and ``.org(slug)`` are one class,
:class:`~sentry_members_async.pipeline.SentryClient`; this module is where
users import it from (and ``ClientStats`` and ``RetryEvent``, documented here
before the pipeline moved out).
"""

from __future__ import annotations

from .pipeline import ClientStats, RetryEvent, SentryClient

__all__ = ["ClientStats", "RetryEvent", "SentryClient"]
