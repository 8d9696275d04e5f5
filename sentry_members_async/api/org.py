"""``client.org("acme")``: one organization's resource groups."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _common as c
from .members import MembersAPI
from .scim import ScimAPI
from .teams import TeamsAPI

if TYPE_CHECKING:
    from ..client import SentryClient

__all__ = ["Org"]


class Org:
    """An organization handle: ``.members``, ``.teams``, ``.scim``."""

    def __init__(self, client: SentryClient, slug: str) -> None:
        self.client = client
        self.slug = c.check_slug(slug, "organization")
        self.members = MembersAPI(self)
        self.teams = TeamsAPI(self)
        self.scim = ScimAPI(self)

    def __repr__(self) -> str:
        return f"Org({self.slug!r})"
