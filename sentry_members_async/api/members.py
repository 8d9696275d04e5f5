"""Organization members: ``acme.members``."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from ..errors import (
    BadRequestError,
    IdpManagedError,
    InsufficientRoleError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from ..models import (
    Member,
    MemberId,
    MemberRef,
    Team,
    TeamMembership,
    effective_team_role,
)
from ..pagination import Page, Paginator
from ..pipeline import Confirmed
from ..transports.base import Response
from ._common import (
    AcceptanceResult,
    OrgScope,
    PendingInvite,
    check_email,
    check_member_ref,
    check_page_size,
    check_slug,
    check_team_role,
    cursor_page,
    decode_one,
    org_role_body,
    team_roles_body,
)
from .acceptance import wait_for_acceptance
from .idp import IDP_MANAGED_DETAIL, is_idp_managed
from .invites import InviteStatus, invite_body, is_already_member
from .member_query import RoleFilter, build_query
from .member_teams import TeamAddResult, TeamJoinResult, held_team_role

if TYPE_CHECKING:
    from ..watch import CheckpointStore, MemberWatch

__all__ = [
    "IDP_MANAGED_DETAIL",
    "AcceptanceResult",
    "InviteStatus",
    "MembersAPI",
    "PendingInvite",
    "TeamAddResult",
    "TeamJoinResult",
    "invite_body",
    "is_already_member",
    "is_idp_managed",
]

MEMBERS = "/api/0/organizations/{org}/members/"
MEMBER = "/api/0/organizations/{org}/members/{member_id}/"
MEMBER_TEAM = "/api/0/organizations/{org}/members/{member_id}/teams/{team}/"

READ = ("member:read", "member:write", "member:admin")
WRITE = ("member:write", "member:admin", "member:invite")
UPDATE = ("member:invite", "member:write", "member:admin")
TEAM_SCOPES = ("org:read", "org:write", "org:admin", "member:read", "member:write", "member:admin")


class MembersAPI:
    """Members of one organization (``client.org("acme").members``)."""

    def __init__(self, org: OrgScope) -> None:
        self._org = org
        self._client = org.client

    def _path(self, member_id: object | None = None, team: object | None = None) -> dict[str, str]:
        params = {"org": self._org.slug}
        if member_id is not None:
            params["member_id"] = check_member_ref(member_id)
        if team is not None:
            params["team"] = check_slug(team)
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
        page_size = check_page_size(page_size)
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
            return cursor_page(response, Member)

        return Paginator(
            cursor_fetch=fetch, page_size=page_size, prefetch=prefetch, limit=limit, eager=eager
        )

    def pending(self, *, page_size: int = 100, prefetch: int = 24) -> Paginator[Member]:
        """Pending invites only (``isInvited:true``)."""
        return self.list(is_invited=True, page_size=page_size, prefetch=prefetch)

    async def invites(
        self, *, older_than: dt.timedelta | None = None, now: dt.datetime | None = None
    ) -> AsyncIterator[PendingInvite]:
        """The pending invites, expired ones included, each with its age and inviter.

        One pass over ``GET members/?query=isInvited:true`` (members with no user
        yet: ``OrganizationMemberIndexEndpoint.get`` in
        src/sentry/api/endpoints/organization_member/index.py; invite *requests*
        are not listed). The age is from the invite's ``dateCreated`` (Sentry's
        ``date_added``) to ``now`` (default: the current time, UTC); ``expired``
        and ``inviterName`` are Sentry's (``OrganizationMemberSerializer`` in
        src/sentry/api/serializers/models/organization_member/base.py).
        ``older_than`` keeps the invites at least that old.
        """
        at = now or dt.datetime.now(dt.timezone.utc)
        async with self.pending() as members:
            async for member in members:
                invite = PendingInvite.of(member, at)
                if older_than is None or (invite.age is not None and invite.age >= older_than):
                    yield invite

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
        return await wait_for_acceptance(
            lambda chunk: self.list(email=chunk, prefetch=1),
            emails,
            timeout=timeout,
            interval=interval,
        )

    async def get(self, member_id: MemberRef) -> Member:
        """One member with teams, team roles and the role catalogues."""
        response = await self._client.request(
            "GET", MEMBER, path_params=self._path(member_id), required_scopes=READ
        )
        return decode_one(response, Member)

    async def find(self, key: MemberId | str) -> Member | None:
        """A member (or pending invite) by member id, ``"me"`` or e-mail; ``None`` if none.

        A key with an ``@`` is an e-mail (:meth:`find_by_email`); anything else
        is a member id, fetched with :meth:`get` (a ``404`` gives ``None``).
        """
        if isinstance(key, str) and "@" in key:
            return await self.find_by_email(key)
        try:
            return await self.get(MemberId(check_member_ref(key)))
        except NotFoundError:
            return None

    async def find_id(self, key: MemberId | str) -> MemberId | None:
        """The member id for a member id or e-mail; ``None`` when the e-mail has none.

        A member id is only checked (no request); an e-mail is looked up.
        """
        if isinstance(key, str) and "@" in key:
            member = await self.find_by_email(key)
            return None if member is None else member.id
        return MemberId(check_member_ref(key))

    async def find_by_email(self, email: str) -> Member | None:
        """The member or pending invite with this e-mail (case-insensitive), or ``None``."""
        wanted = check_email(email).lower()
        async with self.list(email=email, prefetch=1) as members:
            async for member in members:
                if member.email.lower() == wanted or (
                    member.user is not None and member.user.email.lower() == wanted
                ):
                    return member
        return None

    def watch(
        self,
        *,
        interval: float = 60.0,
        teams: bool = False,
        budget: float | None = 0.2,
        store: CheckpointStore | None = None,
        key: str | None = None,
        emit_initial: bool = False,
        prefetch: int = 8,
        reset: bool = False,
    ) -> MemberWatch:
        """Membership changes as an async iterator of events (:mod:`sentry_members_async.watch`).

        The keywords are :class:`~sentry_members_async.watch.WatchOptions`' fields
        (spelled out here so that editors, type checkers and this reference show
        them); they are defaulted and checked there, once.
        """
        # The watch is built on the resources: the one import of api/ from a layer
        # above it, deferred to the call (allowed by name in pyproject's contracts).
        from ..watch import MemberWatch, WatchOptions

        options = WatchOptions(
            interval=interval,
            teams=teams,
            budget=budget,
            store=store,
            key=key,
            emit_initial=emit_initial,
            prefetch=prefetch,
            reset=reset,
        )
        return MemberWatch(self._org, options)

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
        return await self._post_invite(
            email, invite_body(email, role, teams, team_roles, send_invite)
        )

    async def invite_status(
        self,
        email: str,
        *,
        role: str = "member",
        teams: Iterable[str] = (),
        team_roles: Mapping[str, str | None] | None = None,
        send_invite: bool = True,
    ) -> tuple[Member, InviteStatus]:
        """Invite ``email`` as :meth:`invite` does, and say what the invite found.

        ``"created"`` by this call, or ``"already_member"`` / ``"already_invited"``:
        an address that is already there is a status here, not an error.

        After a lost answer or a retry, an address found there is taken as this
        call's invite (no read came before it): an address that was there
        before the call is then reported ``"created"``. ``acme.bulk.invite``
        reads who is there first (its ``precheck``), so it reports those as such.
        """
        body = invite_body(email, role, teams, team_roles, send_invite)
        try:
            member = await self._post_invite(email, body)
        except BadRequestError as exc:
            if not is_already_member(exc):
                raise
            existing = await self.find_by_email(email)
            if existing is None:
                raise
            return existing, "already_invited" if existing.pending else "already_member"
        return member, "created"

    async def _post_invite(self, email: str, body: dict[str, object]) -> Member:
        """POST an invite exactly once, even when an answer is lost.

        A POST whose answer was lost is not re-sent blindly (the client's
        :meth:`~sentry_members_async.client.SentryClient.create`): the invite is
        looked up by e-mail first, and re-sent only if the first attempt did not
        take effect. An "already invited" or "already a member" answer after a
        retry means an earlier attempt of this call succeeded.
        """
        try:
            answer = await self._client.create(
                "POST",
                MEMBERS,
                confirm=lambda: self.find_by_email(email),
                path_params=self._path(),
                json=body,
                required_scopes=WRITE,
            )
        except BadRequestError as exc:
            existing = (
                await self.find_by_email(email)
                if exc.attempts > 1 and is_already_member(exc)
                else None
            )
            if existing is None:
                raise
            return existing
        return answer.value if isinstance(answer, Confirmed) else decode_one(answer, Member)

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
            body.update(org_role_body(role))  # both keys: see org_role_body
        if team_roles is not None:
            body["teamRoles"] = team_roles_body(team_roles)
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
        return decode_one(response, Member)

    async def reinvite(self, member_id: MemberRef, *, regenerate: bool = False) -> Member:
        """Resend a pending invite (``regenerate=True`` renews an expired link).

        Sentry counts a re-invite against the daily invite quotas before it sends
        it (``put`` in src/sentry/api/endpoints/organization_member/details.py):
        past them, :class:`InviteQuotaError`, never retried. ``acme.bulk.reinvite``
        stops at the first such answer and defers the rest.
        """
        if not isinstance(regenerate, bool):
            raise ValidationError("regenerate must be a bool")
        body: dict[str, object] = {"reinvite": True}
        if regenerate:
            body["regenerate"] = True
        response = await self._client.request(
            "PUT", MEMBER, path_params=self._path(member_id), json=body, required_scopes=UPDATE
        )
        return decode_one(response, Member)

    async def remove(self, member_id: MemberRef, *, missing_ok: bool = False) -> bool:
        """Remove a member or revoke a pending invite (``204``); ``True`` when removed.

        A ``404`` after a retry means an earlier attempt of this call removed
        it: success. A ``404`` on the first attempt means there was no such
        member: :class:`NotFoundError`, or ``False`` with ``missing_ok``.

        A member the organization's identity provider provisioned is refused
        (Sentry's ``403`` :data:`IDP_MANAGED_DETAIL`): :class:`IdpManagedError`,
        whose message says how to remove them (the identity provider, or SCIM:
        ``acme.scim.users.delete``, ``acme.bulk.remove(..., idp_fallback="scim")``).
        """
        path = self._path(member_id)
        try:
            await self._client.request("DELETE", MEMBER, path_params=path, required_scopes=READ)
        except NotFoundError as exc:
            if exc.attempts == 1 and not missing_ok:
                raise
            return exc.attempts > 1
        except PermissionDeniedError as exc:
            if not is_idp_managed(exc):
                raise
            raise IdpManagedError.from_denied(exc, member=path["member_id"]) from None
        return True

    async def add_to_team(self, member_id: MemberRef, team: str) -> TeamAddResult:
        """Add a member to a team: ``"added"``, ``"requested"`` or ``"unchanged"``."""
        # Sentry answers 204 when the member is already on the team: safe to retry.
        response = await self._team_request("POST", member_id, team, idempotent=True)
        if response.status == 202:
            return "requested"
        if response.status == 204:
            # After a retry, "already on the team" means our first attempt added it.
            return "added" if response.attempts > 1 else "unchanged"
        return "added"

    async def join_team(
        self, member_id: MemberRef, team: str, *, role: str | None = None
    ) -> TeamJoinResult:
        """Put a member on a team, and give them ``role`` there when one is given.

        ``"added"``, ``"requested"`` (Sentry made an access request instead;
        no role is set), ``"unchanged"`` (already on it, and the role held there
        is the same after the call) or ``"updated"`` (already on it, and the
        role held there changed).

        What the member holds, not what was asked, decides: Sentry raises a
        team role to the org role's minimum (a manager or owner stays a team
        admin when set to ``contributor``) and answers the stored value, which
        is ``null`` at the minimum (``_change_team_member_role`` in
        src/sentry/api/endpoints/organization_member/team_details.py). So for a
        member already on the team the details are read first (one ``GET
        members/{id}/``) and both sides are compared as held
        (:meth:`Member.team_role_on`, :func:`effective_team_role`). An org
        without Sentry's ``organizations:team-roles`` feature ignores the role
        asked: ``"unchanged"`` then.

        When the details do not list the team in ``teamRoles`` (an older
        server, or the member changed in between), the role held before is read
        again from the team's member list (``GET teams/{org}/{team}/members/``,
        its ``teamRole``), which :func:`.member_teams.held_team_role` does. If Sentry still does
        not say, the org role's minimum decides where it can (a member whose
        minimum is the top team role held it before, so ``"unchanged"``);
        otherwise the result is ``"updated"``: the role was set, and no answer
        showed it was held already.
        """
        wanted = None if role is None else check_team_role(role)
        added = await self.add_to_team(member_id, team)
        if added == "requested" or wanted is None:
            return added
        if added == "added":
            await self.set_team_role(member_id, team, wanted)
            return added
        member = await self.get(member_id)
        before = member.team_role_on(team)
        if before is None:
            before = await held_team_role(self._org, member, team)
        membership = await self.set_team_role(member_id, team, wanted)
        after = effective_team_role(membership.team_role, member.minimum_team_role)
        return "unchanged" if after == before else "updated"

    async def remove_from_team(self, member_id: MemberRef, team: str) -> Team:
        """Remove a member from a team (Sentry answers 200 with the team, also if absent)."""
        response = await self._team_request("DELETE", member_id, team)
        return decode_one(response, Team)

    async def set_team_role(self, member_id: MemberRef, team: str, role: str) -> TeamMembership:
        """Set a member's role on a team (``contributor`` or ``admin``).

        The answer's ``team_role`` is what Sentry stored: ``None`` when the org
        role's minimum team role already gives as much (a manager set to
        ``contributor`` stays a team admin); :func:`effective_team_role` with
        :attr:`Member.minimum_team_role` gives the role held.
        """
        body = {"teamRole": check_team_role(role)}
        response = await self._team_request("PUT", member_id, team, json=body)
        return decode_one(response, TeamMembership)

    async def _team_request(
        self,
        method: str,
        member_id: MemberRef,
        team: str,
        *,
        json: dict[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Response:
        """One request to ``members/{id}/teams/{team}/``."""
        return await self._client.request(
            method,
            MEMBER_TEAM,
            path_params=self._path(member_id, team),
            json=json,
            required_scopes=TEAM_SCOPES,
            idempotent=idempotent,
        )
