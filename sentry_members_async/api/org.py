"""One organization's resource groups: ``.members``, ``.teams``, ``.scim``.

:class:`OrgAPI` is the resource layer only. The handle users get from
``client.org("acme")`` is :class:`sentry_members_async.org.Org`, which adds the
orchestration (``.bulk``, ``.plan()``, ``.apply()``, ``.members.watch()``)
composed above the resources.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._common import check_slug
from .members import MembersAPI
from .scim import ScimAPI
from .teams import TeamsAPI

if TYPE_CHECKING:
    from ..pipeline import BaseClient

__all__ = ["OrgAPI"]


class OrgAPI:
    """An organization's resources: ``.members``, ``.teams``, ``.scim``."""

    members: MembersAPI

    def __init__(self, client: BaseClient, slug: str) -> None:
        self.client = client
        self.slug = check_slug(slug, "organization")
        self.members = MembersAPI(self)
        self.teams = TeamsAPI(self)
        self.scim = ScimAPI(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.slug!r})"
