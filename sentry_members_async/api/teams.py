"""Teams: ``acme.teams``."""

from __future__ import annotations

from ..errors import NotFoundError, ValidationError
from ..models import Member, Team
from ..pagination import Page, Paginator
from ._common import OrgScope, check_page_size, check_slug, cursor_page, decode_one

__all__ = ["TeamsAPI"]

TEAMS = "/api/0/organizations/{org}/teams/"
TEAM = "/api/0/teams/{org}/{team}/"
TEAM_MEMBERS = "/api/0/teams/{org}/{team}/members/"

LIST_SCOPES = ("org:read", "org:write", "org:admin")
CREATE_SCOPES = ("org:write", "org:admin", "team:write")
READ = ("team:read", "team:write", "team:admin")
WRITE = ("team:write", "team:admin")
DELETE = ("team:admin",)


class TeamsAPI:
    """Teams of one organization (``client.org("acme").teams``)."""

    def __init__(self, org: OrgScope) -> None:
        self._org = org
        self._client = org.client

    def list(
        self,
        query: str | None = None,
        *,
        detailed: bool = True,
        page_size: int = 100,
        prefetch: int = 24,
        limit: int | None = None,
    ) -> Paginator[Team]:
        """Stream the active teams, in slug order."""
        page_size = check_page_size(page_size)
        if query is not None and not isinstance(query, str):
            raise ValidationError("query must be a string")
        org = {"org": self._org.slug}

        async def fetch(cursor: str | None) -> Page[Team]:
            response = await self._client.request(
                "GET",
                TEAMS,
                path_params=org,
                params={
                    "per_page": page_size,
                    "query": query or None,
                    "detailed": None if detailed else "0",
                    "cursor": cursor,
                },
                required_scopes=LIST_SCOPES,
            )
            return cursor_page(response, Team)

        return Paginator(cursor_fetch=fetch, page_size=page_size, prefetch=prefetch, limit=limit)

    async def get(self, team: str) -> Team:
        """One team by slug (or numeric id)."""
        response = await self._client.request(
            "GET", TEAM, path_params=self._path(team), required_scopes=READ
        )
        return decode_one(response, Team)

    async def create(self, slug: str | None = None, *, name: str | None = None) -> Team:
        """Create a team (``409`` :class:`ConflictError` if the slug is taken)."""
        body = _team_body(slug, name, "create needs a slug or a name")
        response = await self._client.request(
            "POST",
            TEAMS,
            path_params={"org": self._org.slug},
            json=body,
            required_scopes=CREATE_SCOPES,
        )
        return decode_one(response, Team)

    async def rename(self, team: str, *, slug: str | None = None, name: str | None = None) -> Team:
        """Change a team's slug and/or name."""
        body = _team_body(slug, name, "rename needs slug= or name=")
        response = await self._client.request(
            "PUT", TEAM, path_params=self._path(team), json=body, required_scopes=WRITE
        )
        return decode_one(response, Team)

    async def delete(self, team: str) -> None:
        """Delete a team (Sentry schedules the deletion and answers 204)."""
        try:
            await self._client.request(
                "DELETE", TEAM, path_params=self._path(team), required_scopes=DELETE
            )
        except NotFoundError as exc:
            if exc.attempts == 1:
                raise  # after a retry, 404 means the first attempt deleted it

    def members(
        self, team: str, *, page_size: int = 100, prefetch: int = 24, limit: int | None = None
    ) -> Paginator[Member]:
        """Stream a team's members (``team_role`` and ``team_slug`` filled)."""
        page_size = check_page_size(page_size)
        path = self._path(team)

        async def fetch(cursor: str | None) -> Page[Member]:
            response = await self._client.request(
                "GET",
                TEAM_MEMBERS,
                path_params=path,
                params={"per_page": page_size, "cursor": cursor},
                required_scopes=READ,
            )
            return cursor_page(response, Member)

        return Paginator(cursor_fetch=fetch, page_size=page_size, prefetch=prefetch, limit=limit)

    def _path(self, team: object) -> dict[str, str]:
        return {"org": self._org.slug, "team": check_slug(team)}


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        raise ValidationError("name must be a non-empty string of at most 64 characters")
    return name


def _team_body(slug: str | None, name: str | None, empty: str) -> dict[str, str]:
    """The checked ``slug`` / ``name`` body; ``empty`` is the error when both are missing."""
    body: dict[str, str] = {}
    if slug is not None:
        body["slug"] = check_slug(slug)
    if name is not None:
        body["name"] = _check_name(name)
    if not body:
        raise ValidationError(empty)
    return body
