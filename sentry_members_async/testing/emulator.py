"""``SentryEmulator``: Sentry's member, team and SCIM endpoints, in process.

It follows ``sentry-behaviour.md`` (read from Sentry's source) and Sentry's
OpenAPI description: statuses, bodies, validation messages, role rules,
``OffsetPaginator`` cursors and the Link header byte for byte, SCIM paging
and filters, per-token fixed-window rate limits with the five
``X-Sentry-Rate-Limit-*`` headers. On top: seeded data, latency and fault
injection, and a request log.

It imports only the transport value types of the package (never the client,
models or converter), so it cannot silently agree with the client's mistakes.
Its JSON is built here, from Sentry's documented shapes.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import hashlib
import json
import math
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..transports.base import Headers, Request, Response, ResponseLostError
from ..transports.memory import MemoryTransport
from . import handlers
from .faults import Fault, ResetAfter, ResetBefore, Slow, Status, TruncatedBody
from .state import ALL_SCOPES, ORG_ROLES, Member, Organization, State, Token

__all__ = ["Injection", "LoggedRequest", "RateLimit", "SentryEmulator"]

_FIRST = [
    "Ada",
    "Alan",
    "Barbara",
    "Claude",
    "Donald",
    "Edsger",
    "Frances",
    "Grace",
    "Guido",
    "Hedy",
    "Ivan",
    "John",
    "Katherine",
    "Linus",
    "Margaret",
    "Niklaus",
    "Radia",
    "Shafi",
    "Tim",
    "Yukihiro",
    "Anita",
    "Brian",
    "Dennis",
    "Ken",
    "Leslie",
    "Mary",
    "Barbara",
    "Jean",
    "Sophie",
    "Evelyn",
]
_LAST = [
    "Lovelace",
    "Turing",
    "Liskov",
    "Shannon",
    "Knuth",
    "Dijkstra",
    "Allen",
    "Hopper",
    "Rossum",
    "Lamarr",
    "Sutherland",
    "McCarthy",
    "Johnson",
    "Torvalds",
    "Hamilton",
    "Wirth",
    "Perlman",
    "Goldwasser",
    "Berners-Lee",
    "Matsumoto",
    "Borg",
    "Kernighan",
    "Ritchie",
    "Thompson",
    "Lamport",
    "Shaw",
    "Koss",
    "Sammet",
    "Wilson",
    "Boyd",
]


@dataclass(frozen=True)
class RateLimit:
    """A per-token fixed window (and optional concurrent cap), like Sentry's middleware."""

    limit: int = 100
    window: float = 10.0
    concurrent: int | None = None

    @classmethod
    def seed_docs(cls) -> RateLimit:
        """About 100 requests per 10 s per token: the figure in Sentry's public docs."""
        return cls(limit=100, window=10.0)

    @classmethod
    def saas(cls) -> RateLimit:
        """40 requests per second and 25 concurrent: what users observe on sentry.io."""
        return cls(limit=40, window=1.0, concurrent=25)


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the emulator saw it (credentials masked)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]
    body: bytes | None
    #: ``None`` when the connection was dropped instead of answered.
    status: int | None
    at: float

    @property
    def params(self) -> dict[str, str]:
        return dict(self.query)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Injection:
    """A fault armed on a route; ``remove()`` disarms it."""

    method: str
    pattern: str
    fault: Fault
    calls: frozenset[int] | None
    ratio: float | None
    seen: int = 0
    fired: int = 0
    _owner: SentryEmulator | None = field(default=None, repr=False)

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and fnmatch.fnmatchcase(path, self.pattern)

    def remove(self) -> None:
        if self._owner is not None and self in self._owner._injections:
            self._owner._injections.remove(self)


class _Window:
    __slots__ = ("count", "in_flight", "start")

    def __init__(self) -> None:
        self.start = -1.0
        self.count = 0
        self.in_flight = 0


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
        rate_limit: RateLimit | None = RateLimit(),
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
        self._wall = clock
        self._offset = 0.0
        self.invite_quotas = invite_quotas
        self.state = State()
        self.requests: list[LoggedRequest] = []
        self._rng = random.Random(seed)
        self._fault_rng = random.Random(seed + 1)
        self._latency_rng = random.Random(seed + 2)
        self._injections: list[Injection] = []
        self._windows: dict[str, _Window] = {}
        self._in_flight = 0
        self._peak = 0
        self._route_latency: list[tuple[str, str, float | tuple[float, float]]] = []
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
        return self._wall() + self._offset

    def advance(self, seconds: float = 0.0, *, days: float = 0.0) -> None:
        """Move the emulator's clock forward (e.g. ``advance(days=1)`` lifts the
        daily invite quotas). The per-second request windows keep to the wall
        clock, since clients compare ``X-Sentry-Rate-Limit-Reset`` with theirs."""
        step = seconds + days * 86400.0
        if step < 0:
            raise ValueError("the clock only moves forward")
        self._offset += step

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
        owner = next(m for m in o.members.values() if m.role == "owner")
        domain = domain or f"{o.slug}.example.com"
        rng = self._rng
        role_names = list(weights)
        role_weights = list(weights.values())
        ids: list[int] = []
        base = len(o.members)
        for i in range(n):
            first = _FIRST[rng.randrange(len(_FIRST))]
            last = _LAST[rng.randrange(len(_LAST))]
            email = f"{first}.{last}.{base + i}@{domain}".lower()
            role = rng.choices(role_names, role_weights)[0]
            if rng.random() < pending_ratio:
                member = self.state.new_member(o, role, email=email, inviter_id=owner.user_id)
                member.token_expired = rng.random() < 0.1
            else:
                user = self.state.new_user(email, f"{first} {last}", has_2fa=rng.random() < 0.3)
                member = self.state.new_member(o, role, user=user, inviter_id=owner.user_id)
                member.flags["sso:linked"] = rng.random() < 0.2
            if team_objs and ORG_ROLES[role].is_team_roles_allowed:
                for team in rng.sample(team_objs, k=min(len(team_objs), 1 + rng.randrange(2))):
                    member.teams[team.id] = "admin" if rng.random() < 0.05 else None
            ids.append(member.id)
        return ids

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
        if scopes is None:
            chosen = set(ALL_SCOPES)
        else:
            chosen = set(scopes)
            unknown = chosen - set(ALL_SCOPES) - {"org:billing", "org:integrations"}
            if unknown:
                raise ValueError(f"unknown scopes: {sorted(unknown)}")
        digest = hashlib.sha256(f"{self.seed}:{len(self.state.tokens)}:{kind}".encode())
        prefix = {"user": "sntryu_", "integration": "sntrys_", "scim": "sntrys_scim_"}[kind]
        token = prefix + digest.hexdigest()
        self.state.tokens[token] = Token(
            token, kind, frozenset(chosen), o.id, user_id=user_id, expired=expired
        )
        return token

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
        by_status = Counter(r.status for r in self.requests if r.status is not None)
        return {
            "requests": len(self.requests),
            "by_status": dict(sorted(by_status.items())),
            "rate_limited": by_status.get(429, 0),
            "dropped": sum(1 for r in self.requests if r.status is None),
            "peak_concurrency": self._peak,
        }

    def reset_log(self) -> None:
        """Forget the request log and the counters (state stays)."""
        self.requests.clear()
        self._peak = 0

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
        if ratio is not None and not 0.0 <= ratio <= 1.0:
            raise ValueError("ratio must be within [0, 1]")
        injection = Injection(
            method.upper(),
            path_pattern,
            fault,
            frozenset(calls) if calls is not None else None,
            ratio,
            _owner=self,
        )
        self._injections.append(injection)
        return injection

    def clear_faults(self) -> None:
        self._injections.clear()

    def set_latency(
        self, method: str, path_pattern: str, latency: float | tuple[float, float]
    ) -> None:
        """Latency for matching routes (first match wins over the global one)."""
        self._route_latency.append((method.upper(), path_pattern, latency))

    def _latency_for(self, method: str, path: str) -> float:
        value = self.latency
        for m, pattern, lat in self._route_latency:
            if m in ("*", method) and fnmatch.fnmatchcase(path, pattern):
                value = lat
                break
        if isinstance(value, tuple):
            return self._latency_rng.uniform(*value)
        return float(value)

    def _pick_fault(self, method: str, path: str) -> Fault | None:
        chosen: Fault | None = None
        for injection in self._injections:
            if not injection.matches(method, path):
                continue
            injection.seen += 1
            if injection.calls is not None:
                hit = injection.seen in injection.calls
            elif injection.ratio is not None:
                hit = self._fault_rng.random() < injection.ratio
            else:
                hit = True
            if hit and chosen is None:
                injection.fired += 1
                chosen = injection.fault
        return chosen

    # -- rate limiting -------------------------------------------------------

    def _limit_headers(self, key: str) -> tuple[dict[str, str], bool]:
        """Count this request in its window; the headers and whether it is refused."""
        limit = self.rate_limit
        assert limit is not None
        # The wall clock, not advance(): clients compare the reset header with theirs.
        now = self._wall()
        window = self._windows.setdefault(key, _Window())
        start = math.floor(now / limit.window) * limit.window
        if start != window.start:
            window.start, window.count = start, 0
        window.count += 1
        reset = start + limit.window
        concurrent_limit = limit.concurrent if limit.concurrent is not None else 100
        refused = window.count > limit.limit
        if limit.concurrent is not None and window.in_flight >= limit.concurrent:
            refused = True
        headers = {
            "X-Sentry-Rate-Limit-Remaining": str(max(0, limit.limit - window.count)),
            "X-Sentry-Rate-Limit-Limit": str(limit.limit),
            "X-Sentry-Rate-Limit-Reset": str(math.ceil(reset)),
            "X-Sentry-Rate-Limit-ConcurrentRemaining": str(
                max(0, concurrent_limit - window.in_flight - (0 if refused else 1))
            ),
            "X-Sentry-Rate-Limit-ConcurrentLimit": str(concurrent_limit),
        }
        if refused and self.retry_after:
            headers["Retry-After"] = str(max(1, math.ceil(reset - now)))
        return headers, refused

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
        self._in_flight += 1
        self._peak = max(self._peak, self._in_flight)
        try:
            fault = self._pick_fault(method, path)
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
            self._in_flight -= 1
            self.requests.append(
                LoggedRequest(method, path, query, log_headers, request.body, status, self.clock())
            )

    async def _dispatch(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        token_value = _bearer(request.headers.get("Authorization"))
        key = token_value or "anonymous"
        limit_headers: dict[str, str] = {}
        window: _Window | None = None
        if self.rate_limit is not None:
            limit_headers, refused = self._limit_headers(key)
            if refused:
                detail = (
                    "You are attempting to use this endpoint too frequently. Limit is "
                    f"{self.rate_limit.limit} requests in {_num(self.rate_limit.window)} seconds"
                )
                return 429, detail, limit_headers
            window = self._windows[key]
            window.in_flight += 1
        try:
            delay = self._latency_for(request.method, request.url.path)
            if delay > 0:
                await asyncio.sleep(delay)
            self.state.now = self.clock()
            status, body, headers = handlers.dispatch(self.state, request)
        finally:
            if window is not None:
                window.in_flight -= 1
        headers = {**limit_headers, **headers}
        return status, body, headers

    def _response(
        self,
        request: Request,
        status: int,
        body: Any,
        headers: dict[str, str],
        *,
        raw: bool = False,
    ) -> Response:
        if body is handlers.NO_BODY or (body is None and status in (202, 204)):
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
        from .server import serve

        async with serve(self, host, port) as base_url:
            yield base_url

    def serve_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> Any:
        """Serve from a background thread (a context manager yielding the base URL)."""
        from .server import serve_in_thread

        return serve_in_thread(self, host, port)

    # -- helpers for tests ---------------------------------------------------

    def find(self, method: str | None = None, path: str | None = None) -> list[LoggedRequest]:
        """Logged requests filtered by method and path glob."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (path is None or fnmatch.fnmatchcase(r.path, path))
        ]

    def member(self, org: str, email: str) -> Member | None:
        return self.state.member_by_email(self._org(org), email)


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    parts = value.split(" ", 1)
    if parts[0].lower() != "bearer" or len(parts) < 2:
        return None
    return parts[1].strip() or None


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
