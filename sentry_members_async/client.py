"""``SentryClient``: the request pipeline, plus ``.org(slug)``.

The configuration and the pipeline live in :mod:`sentry_members_async.pipeline`
(:class:`~sentry_members_async.pipeline.BaseClient`); this module adds only the
entry point to an organization, which is composed of everything above the
pipeline (resources, bulk, plan/apply, watch). Keeping ``.org()`` here, at the
top, is what lets every other layer import only downward.
"""

from __future__ import annotations

from .org import Org
from .pipeline import BaseClient, ClientStats, RetryEvent

# ClientStats and RetryEvent were documented here before the pipeline moved out.
__all__ = ["ClientStats", "RetryEvent", "SentryClient"]


class SentryClient(BaseClient):
    """An asyncio client for Sentry's member, team and SCIM APIs.

    Configure it once, share it between tasks, close it when done
    (``async with SentryClient() as client: ...``); ``client.org("acme")``
    is the way in to one organization.

    :param token: an auth token (user token or internal-integration token).
        Falls back to ``SENTRY_AUTH_TOKEN``.
    :param base_url: the Sentry URL; falls back to ``SENTRY_URL``, then
        ``https://sentry.io``. Self-hosted URLs with a path prefix work.
    :param region: ``"us"`` or ``"de"``: use ``https://{region}.sentry.io``.
    :param scim_token: the SCIM bearer token used for SCIM paths; falls back to
        ``SENTRY_SCIM_TOKEN``, then to ``token``.
    :param transport: any :class:`Transport`; by default an
        :class:`~sentry_members_async.transports.aiohttp.AiohttpTransport`.
        The client closes only a transport it created itself.
    :param user_agent: prepended to ``sentry-members-async/<version>``.
    :param timeout: seconds allowed per request.
    :param allow_insecure_http: permit ``http://`` to a non-loopback host.
    :param on_request: callables (sync or async) given each request, with
        credentials masked, before it is sent.
    :param on_response: callables given each response, with credentials masked.
    :param on_retry: callables given a :class:`RetryEvent` before each retry.
    :param limiter: the rate limiter shared by every request; by default a
        :class:`~sentry_members_async.ratelimit.RateLimiter` that learns
        Sentry's limits from its headers. ``NoLimiter()`` turns it off.
    :param rate_limit: the token's limit if you know it, ``(requests, window
        seconds)``, e.g. ``(40, 1.0)`` on sentry.io: the default limiter then
        skips its probe and uses the whole limit from the first request (the
        server's headers still win). Not with ``limiter=``.
    :param retry: the :class:`~sentry_members_async.retry.RetryPolicy`.
    :param max_server_pause: the longest pause, in seconds, a server can impose
        (``Retry-After`` on a 429, or a rate-limit window's reset); a request
        that would wait longer fails at once with
        :class:`~sentry_members_async.errors.RateLimitedError` (its
        ``retry_after`` is the full wait). Applies to the default limiter and to
        retries; a ``limiter`` you pass has its own ``max_pause``.
    :param max_response_size: the largest answer body, in bytes, the client
        reads (``None``: no limit); past it reading stops and
        :class:`~sentry_members_async.errors.ResponseTooLargeError` is raised.
    """

    def org(self, slug: str) -> Org:
        """The organization ``slug``: ``client.org("acme").members.list()``."""
        return Org(self, slug)
