"""Organization members: ``acme.members``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, TypeAlias

import attrs

from ..errors import (
    BadRequestError,
    InsufficientRoleError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from ..models import Member, MemberRef, Team, TeamMembership
from ..pagination import Page, Paginator
from ..transports.base import TransportError
from . import _common as c

__all__ = [
    "AcceptanceResult",
    "InviteStatus",
    "MembersAPI",
    "TeamAddResult",
    "invite_body",
    "is_already_member",
]

MEMBERS = "/api/0/organizations/{org}/members/"
MEMBER = "/api/0/organizations/{org}/members/{member_id}/"
MEMBER_TEAM = "/api/0/organizations/{org}/members/{member_id}/teams/{team}/"

READ = ("member:read", "member:write", "member:admin")
WRITE = ("member:write", "member:admin", "member:invite")
UPDATE = ("member:invite", "member:write", "member:admin")
TEAM_SCOPES = ("org:read", "org:write", "org:admin", "member:read", "member:write", "member:admin")

#: What adding a member to a team did: ``"added"`` (201), ``"requested"`` (202:
#: an access request was created because the caller may not add directly),
#: ``"unchanged"`` (204: already on the team).
TeamAddResult: TypeAlias = Literal["added", "requested", "unchanged"]

#: What an invite found: ``"created"`` by this call, or the address was already there.
InviteStatus: TypeAlias = Literal["created", "already_member", "already_invited"]

RoleFilter: TypeAlias = "str | Sequence[str] | None"


def _bool_token(name: str, value: bool | None) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be True, False or None")
    return [f"{name}:{'true' if value else 'false'}"]


def build_query(
    query: str | None = None,
    *,
    role: RoleFilter = None,
    email: str | Sequence[str] | None = None,
    is_invited: bool | None = None,
    has_2fa: bool | None = None,
    sso_linked: bool | None = None,
) -> str | None:
    """Sentry's members ``query`` from keyword filters (keys as in the behaviour reference).

    ``role=["owner", "manager"]`` gives ``role:owner role:manager`` (values of
    one key are OR-ed by Sentry). A raw ``query`` is appended as is.
    """
    tokens: list[str] = []
    if role is not None:
        roles = [role] if isinstance(role, str) else list(role)
        tokens += [f"role:{c.check_org_role(r)}" for r in roles]
    if email is not None:
        emails = [email] if isinstance(email, str) else list(email)
        tokens += [f"email:{c.check_email(e)}" for e in emails]
    tokens += _bool_token("isInvited", is_invited)
    tokens += _bool_token("has2fa", has_2fa)
    tokens += _bool_token("ssoLinked", sso_linked)
    if query is not None:
        if not isinstance(query, str):
            raise ValidationError("query must be a string")
        if query.strip():
            tokens.append(query.strip())
    return " ".join(tokens) or None


@attrs.frozen
class AcceptanceResult:
    """Where invites stand after :meth:`MembersAPI.wait_for_acceptance`."""

    accepted: frozenset[str]
    #: Still pending when the wait ended.
    pending: frozenset[str]
    #: No longer invited at all (revoked or removed).
    missing: frozenset[str]

    @property
    def done(self) -> bool:
        return not self.pending


def invite_body(
    email: str,
    role: str = "member",
    teams: Iterable[str] = (),
    team_roles: Mapping[str, str | None] | None = None,
    send_invite: bool = True,
) -> dict[str, object]:
    """The checked ``POST members/`` body (one place for invite, bulk and apply)."""
    body: dict[str, object] = {"email": c.check_email(email), "orgRole": c.check_org_role(role)}
    wanted: dict[str, str | None] = dict.fromkeys(c.check_slugs(teams))
    for entry in c.team_roles_body(team_roles or {}):
        wanted[str(entry["teamSlug"])] = entry["role"]
    if wanted:
        body["teamRoles"] = [{"teamSlug": slug, "role": r} for slug, r in wanted.items()]
    if not isinstance(send_invite, bool):
        raise ValidationError("send_invite must be a bool")
    if not send_invite:
        body["sendInvite"] = False
    return body


#: Sentry's ``validate_email`` answers (src/sentry/core/endpoints/organization_member_index.py):
#: a pending invitee "has already been invited", an accepted member "is already a
#: member" (older versions said that for both).
_ALREADY = ("has already been invited", "is already a member")


def is_already_member(error: BadRequestError) -> bool:
    """Sentry's answer to inviting an address that is a member or already invited.

    Both wordings count: ``"The user X has already been invited"`` (a pending
    invite) and ``"The user X is already a member"`` (an accepted member, and a
    pending invite on older Sentry versions).
    """
    return any(
        marker in text for text in error.field_errors.get("email", []) for marker in _ALREADY
    )


class MembersAPI:
    """Members of one organization (``client.org("acme").members``)."""

    def __init__(self, org: c.OrgContext) -> None:
        self._org = org
        self._client = org.client

    def _path(self, member_id: object | None = None, team: object | None = None) -> dict[str, str]:
        params = {"org": self._org.slug}
        if member_id is not None:
            params["member_id"] = c.check_member_ref(member_id)
        if team is not None:
            params["team"] = c.check_slug(team)
        return params

    def list(
        self,
        query: str | None = None,
        *,
        role: RoleFilter = None,
        email: str | Sequence[str] | None = None,
        is_invited: bool | None = None,
        has_2fa: bool | None = None,
        sso_linked: bool | None = None,
        page_size: int = 100,
        prefetch: int = 24,
        limit: int | None = None,
        eager: bool = False,
    ) -> Paginator[Member]:
        """Stream the members (pending invites included), in member-id order.

        ``prefetch`` pages are fetched concurrently when Sentry's cursor allows
        it; memory holds at most that many pages. The window opens gradually
        (2, 4, 8, ... pages) so a short list costs no extra requests;
        ``eager=True`` sends the first ``prefetch`` pages at once instead (the
        whole rate limit from the first round trip, for a large org, at the cost
        of up to ``prefetch - 1`` requests past the end of a short list).
        """
        page_size = c.check_page_size(page_size)
        q = build_query(
            query, role=role, email=email, is_invited=is_invited, has_2fa=has_2fa,
            sso_linked=sso_linked,
        )  # fmt: skip
        path = self._path()

        async def fetch(cursor: str | None) -> Page[Member]:
            response = await self._client.request(
                "GET",
                MEMBERS,
                path_params=path,
                params={"per_page": page_size, "query": q, "cursor": cursor},
                required_scopes=READ,
            )
            return c.cursor_page(response, Member)

        return Paginator(
            cursor_fetch=fetch, page_size=page_size, prefetch=prefetch, limit=limit, eager=eager
        )

    def pending(self, *, page_size: int = 100, prefetch: int = 24) -> Paginator[Member]:
        """Pending invites only (``isInvited:true``)."""
        return self.list(is_invited=True, page_size=page_size, prefetch=prefetch)

    async def wait_for_acceptance(
        self,
        emails: Iterable[str],
        *,
        timeout: float = 600.0,
        interval: float = 15.0,
    ) -> AcceptanceResult:
        """Poll until the invites for ``emails`` are accepted (or ``timeout`` passes).

        Each round is one filtered list request per 50 addresses (``email:``
        tokens, OR-ed by Sentry), never one request per e-mail.
        """
        waiting = {c.check_email(e).lower(): e for e in emails}
        accepted: set[str] = set()
        missing: set[str] = set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            keys = sorted(waiting)
            seen: dict[str, Member] = {}
            for start in range(0, len(keys), 50):
                chunk = [waiting[k] for k in keys[start : start + 50]]
                async for member in self.list(email=chunk, prefetch=1):
                    seen[member.email.lower()] = member
            for key in keys:
                found = seen.get(key)
                if found is None:
                    missing.add(waiting.pop(key))
                elif not found.pending:
                    accepted.add(waiting.pop(key))
            if not waiting or loop.time() + interval > deadline:
                return AcceptanceResult(
                    frozenset(accepted), frozenset(waiting.values()), frozenset(missing)
                )
            await asyncio.sleep(interval)

    async def get(self, member_id: MemberRef) -> Member:
        """One member with teams, team roles and the role catalogues."""
        response = await self._client.request(
            "GET", MEMBER, path_params=self._path(member_id), required_scopes=READ
        )
        return c.one(response, Member)

    async def find_by_email(self, email: str) -> Member | None:
        """The member or pending invite with this e-mail (case-insensitive), or ``None``."""
        wanted = c.check_email(email).lower()
        async with self.list(email=email, prefetch=1) as members:
            async for member in members:
                if member.email.lower() == wanted or (
                    member.user is not None and member.user.email.lower() == wanted
                ):
                    return member
        return None

    async def invite(
        self,
        email: str,
        *,
        role: str = "member",
        teams: Iterable[str] = (),
        team_roles: Mapping[str, str | None] | None = None,
        send_invite: bool = True,
    ) -> Member:
        """Invite ``email`` (``POST members/``); returns the pending member.

        ``teams`` are team slugs to join; ``team_roles`` maps slugs to team
        roles (Sentry applies only the membership on invite, not the role).
        """
        body = invite_body(email, role, teams, team_roles, send_invite)
        member, _created = await self._post_invite(email, body)
        return member

    async def invite_status(
        self, email: str, body: dict[str, object]
    ) -> tuple[Member, InviteStatus]:
        """POST an invite body once; say whether it was created or already there.

        For the bulk engine and reconcile: an address that is already a member
        or invited is not an error here but a status.
        """
        try:
            member, _ = await self._post_invite(email, body)
        except BadRequestError as exc:
            if not is_already_member(exc):
                raise
            existing = await self.find_by_email(email)
            if existing is None:
                raise
            return existing, "already_invited" if existing.pending else "already_member"
        return member, "created"

    async def _post_invite(self, email: str, body: dict[str, object]) -> tuple[Member, bool]:
        """POST an invite exactly once, even when an answer is lost.

        Returns the member and whether this call created it. A POST whose
        answer was lost is not re-sent blindly: the invite is looked up by
        e-mail first, and re-sent only if the first attempt did not take
        effect. An "already invited" or "already a member" answer after a retry
        (ours or the pipeline's) means an earlier attempt of this call succeeded.
        """
        policy = self._client.retry_policy
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._client.request(
                    "POST", MEMBERS, path_params=self._path(), json=body, required_scopes=WRITE
                )
                return c.one(response, Member), True
            except TransportError as exc:
                if not exc.may_have_reached_server:
                    raise
                existing = await self.find_by_email(email)
                if existing is not None:
                    return existing, True
                if attempt >= policy.max_attempts:
                    raise
                await asyncio.sleep(policy.backoff(attempt))
            except BadRequestError as exc:
                retried = attempt > 1 or exc.attempts > 1
                if retried and is_already_member(exc):
                    existing = await self.find_by_email(email)
                    if existing is not None:
                        return existing, True
                raise

    async def update(
        self,
        member_id: MemberRef,
        *,
        role: str | None = None,
        team_roles: Mapping[str, str | None] | None = None,
    ) -> Member:
        """Change the org role and/or replace the teams (``team_roles``: slug to role).

        A 403 on a role change raises :class:`InsufficientRoleError`: the
        caller is not an Owner or Manager, or the role is above the caller's.
        """
        body: dict[str, object] = {}
        if role is not None:
            body["orgRole"] = c.check_org_role(role)
        if team_roles is not None:
            body["teamRoles"] = c.team_roles_body(team_roles)
        if not body:
            raise ValidationError("update needs role= or team_roles=")
        path = self._path(member_id)
        try:
            response = await self._client.request(
                "PUT", MEMBER, path_params=path, json=body, required_scopes=UPDATE
            )
        except PermissionDeniedError as exc:
            # Sentry's answers: the default "You do not have permission to perform this
            # action." (the caller's role lacks member:write/admin) or {"role": ...} (the
            # role or the member ranks above the caller). Others (a partnership) stay as is.
            by_role = "role" in exc.field_errors or exc.detail.startswith("You do not have")
            if role is None or not by_role:
                raise
            raise InsufficientRoleError.from_denied(
                exc, role=role, member=path["member_id"]
            ) from None
        return c.one(response, Member)

    async def reinvite(self, member_id: MemberRef, *, regenerate: bool = False) -> Member:
        """Resend a pending invite (``regenerate=True`` renews an expired link)."""
        if not isinstance(regenerate, bool):
            raise ValidationError("regenerate must be a bool")
        body: dict[str, object] = {"reinvite": True}
        if regenerate:
            body["regenerate"] = True
        response = await self._client.request(
            "PUT", MEMBER, path_params=self._path(member_id), json=body, required_scopes=UPDATE
        )
        return c.one(response, Member)

    async def remove(self, member_id: MemberRef) -> None:
        """Remove a member or revoke a pending invite (``204``).

        A ``404`` after a retry means an earlier attempt removed it: success.
        """
        try:
            await self._client.request(
                "DELETE", MEMBER, path_params=self._path(member_id), required_scopes=READ
            )
        except NotFoundError as exc:
            if exc.attempts == 1:
                raise

    async def add_to_team(self, member_id: MemberRef, team: str) -> TeamAddResult:
        """Add a member to a team: ``"added"``, ``"requested"`` or ``"unchanged"``."""
        response = await self._client.request(
            "POST",
            MEMBER_TEAM,
            path_params=self._path(member_id, team),
            required_scopes=TEAM_SCOPES,
            idempotent=True,  # Sentry answers 204 when the member is already on the team
        )
        if response.status == 202:
            return "requested"
        if response.status == 204:
            # After a retry, "already on the team" means our first attempt added it.
            return "added" if response.attempts > 1 else "unchanged"
        return "added"

    async def remove_from_team(self, member_id: MemberRef, team: str) -> Team:
        """Remove a member from a team (Sentry answers 200 with the team, also if absent)."""
        response = await self._client.request(
            "DELETE",
            MEMBER_TEAM,
            path_params=self._path(member_id, team),
            required_scopes=TEAM_SCOPES,
        )
        return c.one(response, Team)

    async def set_team_role(self, member_id: MemberRef, team: str, role: str) -> TeamMembership:
        """Set a member's role on a team (``contributor`` or ``admin``)."""
        response = await self._client.request(
            "PUT",
            MEMBER_TEAM,
            path_params=self._path(member_id, team),
            json={"teamRole": c.check_team_role(role)},
            required_scopes=TEAM_SCOPES,
        )
        return c.one(response, TeamMembership)
