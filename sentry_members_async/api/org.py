"""What the layers above the resources use of an organization: :class:`OrgContext`.

Bulk, reconcile, review, watch and the change engine are typed against this
protocol: the client (a :class:`~sentry_members_async.pipeline.Requester`),
the slug and the three resource groups. The handle users get from
``client.org("acme")``, :class:`sentry_members_async.org.Org`, satisfies it;
it composes the resources (and the orchestration on them) instead of
subclassing a class here, so nothing in ``api/`` knows about the layers above.
"""

from __future__ import annotations

from typing import Protocol

from ._common import OrgScope
from .members import MembersAPI
from .scim import ScimAPI
from .teams import TeamsAPI

__all__ = ["OrgContext"]


class OrgContext(OrgScope, Protocol):
    """An organization's client and slug (:class:`~sentry_members_async.api.OrgScope`) and its
    resources: ``.members``, ``.teams``, ``.scim``."""

    @property
    def members(self) -> MembersAPI: ...

    @property
    def teams(self) -> TeamsAPI: ...

    @property
    def scim(self) -> ScimAPI: ...
