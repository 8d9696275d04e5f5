"""What the layers above the pipeline use of a client: the :class:`Requester` protocol.

The resources (``api/``), bulk, reconcile, review and watch are typed against
this protocol, not against :class:`~sentry_members_async.client.SentryClient`
(the one client class, which satisfies it): they use only these members, and
a stand-in with them is enough in a test. It also holds the values a create
returns (:data:`Confirm`, :class:`Confirmed`), which belong to the contract
rather than to the client that implements it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

import attrs
from yarl import URL

from ..ratelimit import Limiter
from ..transports.base import Response
from .build import QueryValue

__all__ = ["Confirm", "Confirmed", "Requester"]

T = TypeVar("T")

#: A read that finds what a create would have made (``None``: it did not take effect).
Confirm = Callable[[], Awaitable[T | None]]


@attrs.frozen
class Confirmed(Generic[T]):
    """What :meth:`SentryClient.create <sentry_members_async.client.SentryClient.create>`'s
    confirmation read found after a lost answer: an earlier attempt took effect,
    and this is what it made."""

    value: T
    #: Attempts sent before the read found it.
    attempts: int


class Requester(Protocol):
    """The client as the layers above the pipeline see it (``SentryClient`` is one)."""

    @property
    def base_url(self) -> URL:
        """The Sentry URL requests go to (scheme, host, port, path prefix)."""
        ...

    @property
    def limiter(self) -> Limiter:
        """The limiter of requests made with the auth token."""
        ...

    @property
    def scim_limiter(self) -> Limiter:
        """The SCIM token's limiter (the same object when one limiter paces both)."""
        ...

    @property
    def has_scim_token(self) -> bool: ...

    @property
    def closed(self) -> bool: ...

    def with_limiter(self, limiter: Limiter) -> Requester:
        """The same client with another limiter (see ``SentryClient.with_limiter``)."""
        ...

    async def request(
        self,
        method: str,
        path: str,
        *,
        path_params: Mapping[str, str | int] | None = None,
        params: Mapping[str, QueryValue] | None = None,
        json: Any = None,
        scim: bool = False,
        timeout: float | None = None,
        required_scopes: tuple[str, ...] = (),
        idempotent: bool | None = None,
    ) -> Response:
        """Send one API call and return its 2xx answer (see ``SentryClient.request``)."""
        ...

    async def create(
        self,
        method: str,
        path: str,
        *,
        confirm: Confirm[T],
        path_params: Mapping[str, str | int] | None = None,
        params: Mapping[str, QueryValue] | None = None,
        json: Any = None,
        scim: bool = False,
        timeout: float | None = None,
        required_scopes: tuple[str, ...] = (),
    ) -> Response | Confirmed[T]:
        """Send a create that must take effect once (see ``SentryClient.create``)."""
        ...
