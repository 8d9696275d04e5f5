"""``SentryEmulator``: Sentry's member, team and SCIM endpoints, in process.

It follows Sentry's source (getsentry/sentry, each rule citing its file in
``handlers/``), the real Sentry 23.7.1 (``tests/live``, ``tests/differential``)
and Sentry's OpenAPI description: statuses, bodies, validation messages, role rules,
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
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from ..transports.base import Headers, Request, Response, ResponseLostError
from ..transports.memory import MemoryTransport
from . import server
from .clock import EmulatorClock
from .faults import Fault, ResetAfter, ResetBefore, Slow, Status, TruncatedBody
from .handlers import NO_BODY, Text, dispatch
from .injection import Injection, Injections, Latency, RouteLatency
from .orgs import Seeding
from .profiles import Profile, get_profile
from .ratelimit import RateLimit, RequestLimiter, bearer, rate_limit_key, too_frequent
from .requestlog import LoggedRequest, RequestLog
from .seeding import mint_token
from .state import Member, State

# Injection, LoggedRequest and RateLimit are defined next door; they stay importable here.
__all__ = ["Injection", "LoggedRequest", "Profile", "RateLimit", "SentryEmulator"]

_DEFAULT_LIMIT = RateLimit()
#: ``rate_limit``'s default: the profile's generic limiter (``RateLimit()`` for "latest").
_PROFILE_LIMIT: Any = object()


class SentryEmulator(Seeding):
    """An emulated Sentry for tests, benchmarks and demos.

    :param seed: makes generated data, random latency and ratio faults repeatable.
    :param rate_limit: a :class:`RateLimit` per token, or ``None`` for no limit.
    :param latency: seconds added to every answer, or a ``(low, high)`` range
        drawn per request from the seeded generator.
    :param retry_after: send ``Retry-After`` on 429s (the docs say so; Sentry's
        middleware source does not: ``False`` emulates the source). Default: the
        profile's (``True`` for "latest", ``False`` for "23.7").
    :param clock: wall clock (epoch seconds) for the rate-limit windows and the
        daily invite quotas; :meth:`advance` moves the quotas' time forward.
    :param invite_quotas: the default of ``add_org(invite_rate_limits=...)``:
        Sentry's daily invite quotas (100 per user or token, 100 per
        organization, 10 per e-mail per organization, fixed 24 h windows), on
        with the feature ``organizations:invite-members-rate-limits`` as on
        sentry.io (see :meth:`sentry_io`). Default: the profile's (off for
        "latest", on for "23.7", whose ``conf/server.py`` turns the feature on).
    :param profile: which Sentry release to answer as (``testing/profiles.py``):
        ``"latest"`` (today's sentry.io, the default) or ``"23.7"`` (the
        ``sentry==23.7.1`` server, the base of many self-hosted installs), or a
        :class:`Profile`.
    :param self_hosted: Sentry's ``SENTRY_SELF_HOSTED`` (the default of a
        self-hosted install): the rate-limit middleware returns early, so no
        request limit and no ``X-Sentry-Rate-Limit-*`` headers at all
        (src/sentry/middleware/ratelimit.py). The daily invite quotas still apply.
    """

    def __init__(
        self,
        seed: int = 0,
        rate_limit: RateLimit | None = _PROFILE_LIMIT,
        latency: float | tuple[float, float] = 0.0,
        retry_after: bool | None = None,
        *,
        clock: Callable[[], float] = time.time,
        invite_quotas: bool | None = None,
        profile: str | Profile = "latest",
        self_hosted: bool = False,
    ) -> None:
        self.profile = get_profile(profile)
        self.seed = seed
        if rate_limit is _PROFILE_LIMIT:
            rate_limit = _DEFAULT_LIMIT
            if self.profile.default_rate_limit is not None:
                limit, window, concurrent = self.profile.default_rate_limit
                rate_limit = RateLimit(limit=limit, window=window, concurrent=concurrent)
        self.self_hosted = self_hosted
        self.rate_limit = None if self_hosted else rate_limit
        self.latency = latency
        self.retry_after = self.profile.retry_after if retry_after is None else retry_after
        self._clock = EmulatorClock(clock)
        self.invite_quotas = self.profile.invite_quotas if invite_quotas is None else invite_quotas
        self.state = State(self.profile)
        self._log = RequestLog()
        self.requests: list[LoggedRequest] = self._log.entries
        self._rng = random.Random(seed)
        self._injections = Injections(random.Random(seed + 1))
        self._route_latency = RouteLatency(random.Random(seed + 2))
        self._limiter = RequestLimiter()
        self._token_counter = 0

    def __repr__(self) -> str:
        return (
            f"SentryEmulator(seed={self.seed}, profile={self.profile.name!r}, "
            f"orgs={sorted(self.state.orgs)})"
        )

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

    # -- tokens ----------------------------------------------------------------

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

    def invite_posts(self, org: str) -> dict[str, int]:
        """How many invite POSTs (``POST .../members/``) arrived per e-mail, answered or not.

        What the server *received*, where :meth:`invites_created` counts what it
        *kept*: Sentry refuses a second invite of one address ("already invited"),
        so that count cannot show a POST sent twice; this one does.
        """
        path = f"/api/0/organizations/{org}/members/"
        posts: dict[str, int] = {}
        for entry in self._log.find("POST", path):
            try:
                email = json.loads(entry.body or b"{}").get("email")
            except (ValueError, AttributeError):
                continue
            if isinstance(email, str):
                posts[email] = posts.get(email, 0) + 1
        return posts

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
        presented = bearer(request.headers.get("Authorization"))
        token = self.state.tokens.get(presented) if presented is not None else None
        key = rate_limit_key(token, request.method, presented or "anonymous")
        limit_headers: dict[str, str] = {}
        slot: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        if self.rate_limit is not None:
            # The wall clock, not advance(): clients compare the reset header with theirs.
            limit_headers, refused = self._limiter.admit(
                key, self.rate_limit, self._clock.wall(), self.retry_after
            )
            if refused:
                return 429, too_frequent(self.rate_limit), self._refused(limit_headers)
            slot = self._limiter.in_flight(key)
        with slot:
            delay = self._route_latency.delay(self.latency, request.method, request.url.path)
            if delay > 0:
                await asyncio.sleep(delay)
            self.state.now = self.clock()
            status, body, headers = dispatch(self.state, request)
        return status, body, {**limit_headers, **headers}

    def _refused(self, headers: dict[str, str]) -> dict[str, str]:
        """The generic limiter's 429 headers, as the profile sends them."""
        if self.profile.limited_concurrent_remaining_none:
            headers["X-Sentry-Rate-Limit-ConcurrentRemaining"] = "None"
        headers["Content-Type"] = self.profile.limited_content_type
        return headers

    def _response(
        self,
        request: Request,
        status: int,
        body: Any,
        headers: dict[str, str],
        *,
        raw: bool = False,
    ) -> Response:
        if isinstance(body, Text):
            data = body.data.encode()
            headers["Content-Type"] = body.content_type
        elif body is NO_BODY or (body is None and status in (202, 204)):
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
    async def serve(
        self, host: str = "127.0.0.1", port: int = 0, *, close_connections: bool | None = None
    ) -> AsyncIterator[str]:
        """Serve over HTTP on ``host`` (a free port by default); yields the base URL.

        ``close_connections``: close each connection just after its answer, as
        the uWSGI of a real 23.7 server does (default: the profile's); a request
        sent on it meanwhile is dropped unanswered.
        """
        async with server.serve(
            self.handle, host, port, close_after=self._close_after(close_connections)
        ) as base_url:
            yield base_url

    def serve_in_thread(
        self, host: str = "127.0.0.1", port: int = 0, *, close_connections: bool | None = None
    ) -> contextlib.AbstractContextManager[str]:
        """Serve from a background thread (a context manager yielding the base URL)."""
        return server.serve_in_thread(
            self.handle, host, port, close_after=self._close_after(close_connections)
        )

    def _close_after(self, close_connections: bool | None) -> float | None:
        close = self.profile.closes_connections if close_connections is None else close_connections
        return self.profile.close_delay if close else None

    # -- helpers for tests ---------------------------------------------------

    def find(self, method: str | None = None, path: str | None = None) -> list[LoggedRequest]:
        """Logged requests filtered by method and path glob."""
        return self._log.find(method, path)

    def member(self, org: str, email: str) -> Member | None:
        return self.state.member_by_email(self._org(org), email)
