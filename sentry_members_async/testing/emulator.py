"""``SentryEmulator``: Sentry's member, team and SCIM endpoints, in process.

It follows ``sentry-behaviour.md`` (read from Sentry's source) and Sentry's
OpenAPI description: statuses, bodies, validation messages, role rules,
``OffsetPaginator`` cursors and the Link header byte for byte, SCIM paging
and filters, per-token fixed-window rate limits with the five
``X-Sentry-Rate-Limit-*`` headers. On top: seeded data, latency and fault
injection, and a request log.

It imports only the transport value types of the package (never the client,
models or converter), so it cannot silently agree with the client's mistakes.
Its JSON is built in ``handlers/``, from Sentry's documented shapes. This
module is the front door: it wires the parts below it (``handlers``, the
``state``, ``ratelimit``, ``injection``, ``requestlog``, ``clock``,
``seeding``, and the HTTP ``server``) and owns none of their rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

from ..transports.base import Headers, Request, Response, ResponseLostError
from ..transports.memory import MemoryTransport
from . import server
from .clock import EmulatorClock
from .faults import Fault, ResetAfter, ResetBefore, Slow, Status, TruncatedBody
from .handlers import NO_BODY, dispatch
from .injection import Injection, Injections, Latency, RouteLatency
from .ratelimit import RateLimit, RequestLimiter, bearer, too_frequent
from .requestlog import LoggedRequest, RequestLog
from .seeding import mint_token, seed_members
from .state import Member, Organization, State

# Injection, LoggedRequest and RateLimit are defined next door; they stay importable here.
__all__ = ["Injection", "LoggedRequest", "RateLimit", "SentryEmulator"]

_DEFAULT_LIMIT = RateLimit()


class SentryEmulator:
    """An emulated Sentry for tests, benchmarks and demos.

    :param seed: makes generated data, random latency and ratio faults repeatable.
    :param rate_limit: a :class:`RateLimit` per token, or ``None`` for no limit.
    :param latency: seconds added to every answer, or a ``(low, high)`` range
        drawn per request from the seeded generator.
    :param retry_after: send ``Retry-After`` on 429s (the docs say so; Sentry's
        middleware source does not: ``False`` emulates the source).
    :param clock: wall clock (epoch seconds) for the rate-limit windows and the
        daily invite quotas; :meth:`advance` moves the quotas' time forward.
    :param invite_quotas: the default of ``add_org(invite_rate_limits=...)``:
        Sentry's daily invite quotas (100 per user or token, 100 per
        organization, 10 per e-mail per organization, fixed 24 h windows), on
        with the feature ``organizations:invite-members-rate-limits`` as on
        sentry.io (see :meth:`sentry_io`).
    """

    def __init__(
        self,
        seed: int = 0,
        rate_limit: RateLimit | None = _DEFAULT_LIMIT,
        latency: float | tuple[float, float] = 0.0,
        retry_after: bool = True,
        *,
        clock: Callable[[], float] = time.time,
        invite_quotas: bool = False,
    ) -> None:
        self.seed = seed
        self.rate_limit = rate_limit
        self.latency = latency
        self.retry_after = retry_after
        self._clock = EmulatorClock(clock)
        self.invite_quotas = invite_quotas
        self.state = State()
        self._log = RequestLog()
        self.requests: list[LoggedRequest] = self._log.entries
        self._rng = random.Random(seed)
        self._injections = Injections(random.Random(seed + 1))
        self._route_latency = RouteLatency(random.Random(seed + 2))
        self._limiter = RequestLimiter()
        self._token_counter = 0

    def __repr__(self) -> str:
        return f"SentryEmulator(seed={self.seed}, orgs={sorted(self.state.orgs)})"

    @classmethod
    def sentry_io(
        cls,
        seed: int = 0,
        *,
        latency: float | tuple[float, float] = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> SentryEmulator:
        """The sentry.io profile: 40 requests/s and 25 concurrent per token, no
        ``Retry-After`` (the middleware sends none), and the daily invite quotas
        on for every organization added."""
        return cls(
            seed,
            rate_limit=RateLimit.saas(),
            latency=latency,
            retry_after=False,
            clock=clock,
            invite_quotas=True,
        )

    # -- the clock -------------------------------------------------------------

    def clock(self) -> float:
        """The emulator's time (epoch seconds): the wall clock plus :meth:`advance` steps."""
        return self._clock.now()

    def advance(self, seconds: float = 0.0, *, days: float = 0.0) -> None:
        """Move the emulator's clock forward (e.g. ``advance(days=1)`` lifts the
        daily invite quotas). The per-second request windows keep to the wall
        clock, since clients compare ``X-Sentry-Rate-Limit-Reset`` with theirs."""
        self._clock.advance(seconds + days * 86400.0)

    # -- seeding -------------------------------------------------------------

    def add_org(
        self,
        slug: str,
        *,
        name: str | None = None,
        scim: bool = False,
        scim_provider: str = "okta",
        open_membership: bool = True,
        team_roles: bool = True,
        invite_rate_limits: bool | None = None,
        legacy_reinvite_message: bool = False,
        scim_group_display_slug: bool = False,
        owner_email: str | None = None,
    ) -> Organization:
        """Create an organization with one owner (the user of default user tokens).

        ``invite_rate_limits``: the daily invite quotas (default: the
        emulator's ``invite_quotas``). ``legacy_reinvite_message``: answer a
        pending invitee's re-invite with the older "is already a member".
        ``scim_group_display_slug``: SCIM Groups show the slug as ``displayName``
        (older Sentry) instead of the team name.
        """
        if slug in self.state.orgs:
            raise ValueError(f"organization {slug!r} exists")
        org = self.state.new_org(slug, name or slug.replace("-", " ").title())
        org.scim_enabled = scim
        org.scim_provider = scim_provider
        org.open_membership = open_membership
        org.team_roles = team_roles
        org.invite_rate_limits = (
            self.invite_quotas if invite_rate_limits is None else invite_rate_limits
        )
        org.legacy_reinvite_message = legacy_reinvite_message
        org.scim_group_display_slug = scim_group_display_slug
        email = owner_email or f"owner@{slug}.example.com"
        user = self.state.new_user(email, "Org Owner", has_2fa=True)
        self.state.new_member(org, "owner", user=user)
        return org

    def _org(self, slug: str) -> Organization:
        org = self.state.org(slug)
        if org is None:
            raise KeyError(f"no organization {slug!r}")
        return org

    def add_team(self, org: str, slug: str, *, name: str | None = None) -> str:
        """Create a team; returns its slug."""
        o = self._org(org)
        if o.team_by_slug(slug) is not None:
            raise ValueError(f"team {slug!r} exists")
        self.state.new_team(o, slug, name or slug.replace("-", " ").title())
        return slug

    def add_teams(self, org: str, n: int, *, prefix: str = "team") -> list[str]:
        """Create ``n`` teams named ``{prefix}-01`` ...; returns their slugs."""
        width = max(2, len(str(n)))
        start = len(self._org(org).teams)
        return [
            self.add_team(org, f"{prefix}-{i:0{width}d}") for i in range(start + 1, start + n + 1)
        ]

    def add_members(
        self,
        org: str,
        n: int,
        *,
        pending_ratio: float = 0.05,
        teams: int | Iterable[str] = (),
        roles: Mapping[str, float] | None = None,
        domain: str | None = None,
    ) -> list[int]:
        """Add ``n`` realistic, deterministic members; returns their member ids.

        ``pending_ratio`` of them are pending invites (``user: null``);
        ``teams`` (slugs, or a count of the org's first teams) are spread over
        them; ``roles`` weights the org roles (default mostly ``member``).
        """
        o = self._org(org)
        weights = dict(roles or {"member": 0.9, "admin": 0.04, "manager": 0.05, "billing": 0.01})
        if isinstance(teams, int):
            team_objs = o.active_teams()[:teams]
        else:
            team_objs = [t for t in (o.team_by_slug(s) for s in teams) if t is not None]
        return seed_members(
            self.state,
            o,
            n,
            self._rng,
            pending_ratio=pending_ratio,
            teams=team_objs,
            roles=weights,
            domain=domain or f"{o.slug}.example.com",
        )

    def add_token(
        self,
        org: str,
        scopes: Iterable[str] | None = None,
        kind: str = "user",
        *,
        role: str | None = None,
        email: str | None = None,
        expired: bool = False,
    ) -> str:
        """Create an auth token and return it.

        ``kind="user"`` acts as a member: the org's owner by default, the
        member with ``email``, or a new member with ``role``. ``"integration"``
        and ``"scim"`` are org-scoped tokens with no member behind them.
        Scopes default to everything the kind may hold.
        """
        o = self._org(org)
        if kind not in ("user", "integration", "scim"):
            raise ValueError("kind must be 'user', 'integration' or 'scim'")
        user_id: int | None = None
        if kind == "user":
            if email is not None:
                member = self.state.member_by_email(o, email)
                if member is None or member.user_id is None:
                    raise ValueError(f"no accepted member {email!r}")
            elif role is not None:
                self._token_counter += 1
                user = self.state.new_user(
                    f"{role}-{self._token_counter}@{o.slug}.example.com", f"{role.title()} User"
                )
                member = self.state.new_member(o, role, user=user)
            else:
                member = next(m for m in o.members.values() if m.role == "owner")
            user_id = member.user_id
        return mint_token(self.state, self.seed, o, kind, scopes, user_id, expired=expired)

    def accept_invite(self, org: str, email: str) -> int:
        """Turn the pending invite for ``email`` into a member; returns the user id."""
        o = self._org(org)
        member = self.state.member_by_email(o, email)
        if member is None or not member.pending:
            raise ValueError(f"no pending invite for {email!r}")
        name = email.split("@", 1)[0].replace(".", " ").title()
        user = self.state.new_user(email, name)
        self.state.accept(o, member, user)
        return user.id

    def add_invite_request(self, org: str, email: str, *, join: bool = False) -> int:
        """An invite request (or, with ``join``, a join request) for ``email``;
        not listed, replaced by a real invite. Returns its member id."""
        o = self._org(org)
        owner = next(m for m in o.members.values() if m.role == "owner")
        member = self.state.new_member(o, "member", email=email, inviter_id=owner.user_id)
        member.invite_status = "requested_to_join" if join else "requested_to_be_invited"
        self.state.invites_created[(o.slug, email.lower())] -= 1  # a request, not an invite
        o.version += 1
        return member.id

    def sso_login(self, org: str, email: str, *, name: str | None = None) -> int:
        """A person logs in through the org's SSO for the first time; returns the member id.

        As Sentry does (``ApiInviteHelper.from_session_or_email`` in
        src/sentry/api/invite_helper.py, used by src/sentry/auth/helper.py): a
        pending invite for the identity's e-mail is accepted in place (same
        member id); without one, a new member is created just in time with the
        default role and no inviter. Either way the member is ``sso:linked``.
        """
        o = self._org(org)
        member = self.state.member_by_email(o, email)
        if member is not None and not member.pending:
            member.flags["sso:linked"] = True
            o.version += 1
            return member.id
        user = self.state.new_user(email, name or email.split("@", 1)[0].replace(".", " ").title())
        if member is not None:
            self.state.accept(o, member, user)
        else:
            member = self.state.new_member(o, "member", user=user)
        member.flags["sso:linked"] = True
        return member.id

    # -- inspection ----------------------------------------------------------

    def members(self, org: str) -> list[dict[str, Any]]:
        """Server state: every member row as plain data, in id order."""
        o = self._org(org)
        teams = o.teams
        return [
            {
                "id": m.id,
                "email": self.state.member_email(m),
                "role": m.role,
                "pending": m.pending,
                "user_id": m.user_id,
                "invite_status": m.invite_status,
                "expired": m.token_expired,
                "flags": dict(m.flags),
                "teams": {teams[t].slug: r for t, r in m.teams.items() if teams[t].active},
            }
            for m in o.members.values()
        ]

    def teams(self, org: str) -> list[dict[str, Any]]:
        """Server state: every active team as plain data, in slug order."""
        o = self._org(org)
        return [
            {
                "id": t.id,
                "slug": t.slug,
                "name": t.name,
                "idp_provisioned": t.idp_provisioned,
                "members": sorted(m.id for m in o.members.values() if t.id in m.teams),
            }
            for t in o.active_teams()
        ]

    def invites_created(self, org: str) -> dict[str, int]:
        """How many times an invite was created per e-mail (a value above 1 is a duplicate)."""
        return {e: n for (o, e), n in self.state.invites_created.items() if o == org}

    def stats(self) -> dict[str, Any]:
        """Counts by status, 429s, dropped connections and peak concurrency."""
        return self._log.stats()

    def reset_log(self) -> None:
        """Forget the request log and the counters (state stays)."""
        self._log.reset()

    # -- faults and latency --------------------------------------------------

    def inject(
        self,
        method: str,
        path_pattern: str,
        fault: Fault,
        *,
        calls: Iterable[int] | None = None,
        ratio: float | None = None,
    ) -> Injection:
        """Arm ``fault`` for requests whose method and path (a glob) match.

        ``calls`` picks 1-based call numbers among the matching requests;
        ``ratio`` fires on that share of them (seeded); neither: every call.
        """
        return self._injections.arm(method, path_pattern, fault, calls, ratio)

    def clear_faults(self) -> None:
        self._injections.clear()

    def set_latency(self, method: str, path_pattern: str, latency: Latency) -> None:
        """Latency for matching routes (first match wins over the global one)."""
        self._route_latency.set(method, path_pattern, latency)

    # -- the door ------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        """Answer one request (the in-memory transport's handler).

        Raises :class:`ResponseLostError` for injected connection resets.
        """
        method = request.method
        path = request.url.path
        query = tuple(request.url.query.items())
        log_headers = request.headers.redacted_dict()
        status: int | None = None
        self._log.enter()
        try:
            fault = self._injections.pick(method, path)
            if isinstance(fault, ResetBefore):
                raise ResponseLostError("connection reset by the emulator", request=request)
            if isinstance(fault, Status):
                status = fault.code
                return self._response(
                    request, fault.code, fault.body, dict(fault.headers), raw=True
                )
            if isinstance(fault, Slow):
                await asyncio.sleep(fault.seconds)
            status, body, headers = await self._dispatch(request)
            if isinstance(fault, ResetAfter):
                status = None
                raise ResponseLostError("connection reset by the emulator", request=request)
            response = self._response(request, status, body, headers)
            if isinstance(fault, TruncatedBody):
                response = Response(
                    status, response.headers, response.body[: fault.keep], request, 0.0
                )
            return response
        finally:
            self._log.leave(
                LoggedRequest(method, path, query, log_headers, request.body, status, self.clock())
            )

    async def _dispatch(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        """The request rate limit, the latency, then Sentry's endpoint logic."""
        key = bearer(request.headers.get("Authorization")) or "anonymous"
        limit_headers: dict[str, str] = {}
        slot: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        if self.rate_limit is not None:
            # The wall clock, not advance(): clients compare the reset header with theirs.
            limit_headers, refused = self._limiter.admit(
                key, self.rate_limit, self._clock.wall(), self.retry_after
            )
            if refused:
                return 429, too_frequent(self.rate_limit), limit_headers
            slot = self._limiter.in_flight(key)
        with slot:
            delay = self._route_latency.delay(self.latency, request.method, request.url.path)
            if delay > 0:
                await asyncio.sleep(delay)
            self.state.now = self.clock()
            status, body, headers = dispatch(self.state, request)
        return status, body, {**limit_headers, **headers}

    def _response(
        self,
        request: Request,
        status: int,
        body: Any,
        headers: dict[str, str],
        *,
        raw: bool = False,
    ) -> Response:
        if body is NO_BODY or (body is None and status in (202, 204)):
            data = b""
        elif raw and isinstance(body, bytes | str):
            data = body.encode() if isinstance(body, str) else body
        elif raw and body is None:
            data = b""
        else:
            data = json.dumps(body, separators=(",", ":")).encode()
            headers.setdefault("Content-Type", "application/json")
        return Response(status, Headers(headers), data, request, 0.0)

    # -- doors ---------------------------------------------------------------

    def transport(self) -> MemoryTransport:
        """A :class:`MemoryTransport` that calls this emulator (no sockets)."""
        return MemoryTransport(self.handle)

    @contextlib.asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve over HTTP on ``host`` (a free port by default); yields the base URL."""
        async with server.serve(self.handle, host, port) as base_url:
            yield base_url

    def serve_in_thread(
        self, host: str = "127.0.0.1", port: int = 0
    ) -> contextlib.AbstractContextManager[str]:
        """Serve from a background thread (a context manager yielding the base URL)."""
        return server.serve_in_thread(self.handle, host, port)

    # -- helpers for tests ---------------------------------------------------

    def find(self, method: str | None = None, path: str | None = None) -> list[LoggedRequest]:
        """Logged requests filtered by method and path glob."""
        return self._log.find(method, path)

    def member(self, org: str, email: str) -> Member | None:
        return self.state.member_by_email(self._org(org), email)
