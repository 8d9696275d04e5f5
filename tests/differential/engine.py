"""The differential engine: send one request sequence to a backend, describe its
answers, and say where two descriptions differ.

A ``Case`` is data: a name and its ``Step`` list. A step names the token it
uses by role (``owner``, ``readonly``, ``outsider``, ``scim``, ``manager``,
``none``, ``bad``), the method, a path template and an optional body. The
templates hold placeholders resolved per backend, since ids differ:

- ``{run}``: a suffix unique to this run (fresh e-mails and slugs every run);
- ``{m:EMAIL}``: the member id of ``EMAIL`` (looked up with the owner token);
- ``{t:SLUG}``: the id of team ``SLUG``;
- ``{owner}``: the owner's member id;
- ``{m?:EMAIL}``, ``{t?:SLUG}``: the same, or ``0`` when there is none (a case
  that asks for an unknown id on purpose).

A lookup that finds nothing (any answer but a 200 naming the id: a 404, a 429,
an empty list) fails the case (``Unresolved``): two backends that both answer
"not found" to an id neither knew would otherwise agree about nothing. A
``burst`` step that never met a 429 fails the case too (``NotLimited``): the case
wanted the limiter's answer; ``repeat`` sends without that expectation.

Every step's answer is compared: status, the JSON shape (key sets, recursively;
list lengths; value kinds), the values of a few semantic keys, the whole body of
an error, the content type, the Link header's rel/results/cursor, which
``X-Sentry-Rate-Limit-*`` headers came and whether they parse as integers,
``Retry-After``, and whether the server closed the connection after answering.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

__all__ = [
    "Answer",
    "Backend",
    "Case",
    "NotLimited",
    "Step",
    "Unresolved",
    "compare",
    "describe",
    "run_case",
    "send",
    "shape_diff",
]

RATE_HEADERS = (
    "X-Sentry-Rate-Limit-Remaining",
    "X-Sentry-Rate-Limit-Limit",
    "X-Sentry-Rate-Limit-Reset",
    "X-Sentry-Rate-Limit-ConcurrentRemaining",
    "X-Sentry-Rate-Limit-ConcurrentLimit",
)
#: Keys whose values (not only their presence) must agree in a 2xx body.
SEMANTIC_KEYS = frozenset(
    {
        "role", "orgRole", "roleName", "pending", "expired", "inviteStatus", "email",
        "teamRole", "teams", "slug", "isMember", "isOnlyOwner", "totalResults",
        "itemsPerPage", "startIndex", "active", "sentryOrgRole", "userName",
        "displayName", "isActive", "memberCount", "teamSlug", "allowed", "isAllowed",
        "isRetired", "schemas", "scimType", "resourceType",
    }
)  # fmt: skip
#: The semantic keys whose list values are sets, compared sorted: ``teams`` (23.7.1
#: organization_member/utils.py builds it from an OrganizationMemberTeam query with no
#: ``order_by``) and ``schemas`` (SCIM URNs; RFC 7643 section 3 gives them no order).
#: A list under any other semantic key is compared as it is, order included.
UNORDERED_KEYS = frozenset({"teams", "schemas"})
#: ``$SMA_DIFF_TRACE``: a file to append each step's two answers to (status, type).
TRACE = os.environ.get("SMA_DIFF_TRACE")
_PLACEHOLDER = re.compile(r"\{(run|owner|[mt]\??:[^}]+)\}")
_LINK = re.compile(r'<[^>]*>;\s*rel="(\w+)";\s*results="(\w+)";\s*cursor="([^"]*)"')


@dataclass(frozen=True)
class Step:
    method: str
    path: str
    token: str = "owner"
    body: Any = None
    #: Raw bytes to send instead of ``body`` (bad JSON and the like).
    raw: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Send up to this many times, back to back, until a 429; that answer is the
    #: step's. For the rate limiter's answer, whatever the window: a burst that
    #: ends without a 429 fails the case (``NotLimited``).
    burst: int = 0
    #: Send this many times, back to back; the last answer is the step's, 429 or
    #: not (a server with no limiter: nothing is expected to stop it).
    repeat: int = 0


@dataclass(frozen=True)
class Case:
    name: str
    steps: tuple[Step, ...]
    #: Before the steps: the backend's invite quota set so the next invite is refused.
    quota_full: bool = False
    #: Which server: ``main`` (as seeded), ``ratelimit`` (the generic limiter on,
    #: ``SMA_LIVE_RATELIMIT``), ``selfhosted`` (``SENTRY_SELF_HOSTED``).
    variant: str = "main"


@dataclass
class Answer:
    """What one backend said to one step, as compared (no ids, no dates)."""

    status: int
    content_type: str
    body: Any
    link: list[tuple[str, str, str]] | None
    rate: dict[str, str]
    retry_after: bool
    closed: bool
    www_auth: bool


class Unresolved(Exception):
    """A placeholder whose id a backend's lookup did not give."""

    def __init__(self, backend: str, key: str, why: str) -> None:
        super().__init__(f"{{{key}}} unresolved on {backend}: {why}")


class NotLimited(Exception):
    """A ``burst`` step that a backend answered without a 429 every time."""

    def __init__(self, backend: str, count: int, status: int) -> None:
        super().__init__(f"burst of {count} met no 429 on {backend} (last status {status})")


class Backend:
    """A server to send steps to: its URL, its tokens by role, and its lookups."""

    def __init__(
        self,
        name: str,
        url: str,
        tokens: Mapping[str, str],
        run: str,
        *,
        fill_quota: Callable[[], Awaitable[None]] | None = None,
        clear_quota: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.tokens = dict(tokens)
        self.run = run
        self.fill_quota = fill_quota
        self.clear_quota = clear_quota
        self._ids: dict[str, str] = {}

    def auth(self, role: str) -> dict[str, str]:
        if role == "none":
            return {}
        if role == "bad":
            return {"Authorization": "Bearer 0123456789abcdef0123456789abcdef"}
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def _get_json(self, path: str) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.url + path, headers=self.auth("owner")) as resp,
        ):
            raw = await resp.read()
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, None

    async def resolve(self, template: str) -> str:
        out = template.replace("{run}", self.run)
        for match in _PLACEHOLDER.finditer(out):
            out = out.replace(match.group(0), await self._value(match.group(1)))
        return out

    async def _value(self, key: str) -> str:
        """The id a placeholder names; ``Unresolved`` unless the lookup gave one (or
        the placeholder is ``{m?:...}``/``{t?:...}``: then ``0``)."""
        if key == "run":
            return self.run
        if key == "owner":
            key = "m:owner@example.com"
        kind, optional, name = key[0], key[1] == "?", key.partition(":")[2]
        cache_key = f"{kind}:{name}"
        if cache_key in self._ids:
            return self._ids[cache_key]
        if kind == "m":
            status, found = await self._get_json(
                f"/api/0/organizations/acme/members/?query=email:{name}"
            )
            ok = status == 200 and isinstance(found, list) and bool(found)
            value = str(found[0]["id"]) if ok else None
        else:
            status, found = await self._get_json(f"/api/0/teams/acme/{name}/")
            ok = status == 200 and isinstance(found, dict) and "id" in found
            value = str(found["id"]) if ok else None
        if value is None:
            if optional:
                return "0"
            raise Unresolved(self.name, key, f"lookup answered {status}, {found!r:.120}")
        self._ids[cache_key] = value
        return value


async def _closed_after(resp: aiohttp.ClientResponse) -> bool:
    """Whether the server closed the connection after this answer (within 0.3 s)."""
    conn = resp.connection
    transport = conn.transport if conn is not None else None
    await resp.read()
    if transport is None:
        return True
    for _ in range(60):
        if transport.is_closing():
            return True
        await asyncio.sleep(0.005)
    return False


async def send(backend: Backend, step: Step) -> Answer:
    """The step's answer; ``NotLimited`` for a burst that met no 429."""
    answer = await _send_once(backend, step)
    for _ in range(max(step.burst, step.repeat) - 1):
        if step.burst and answer.status == 429:
            break
        answer = await _send_once(backend, step)
    if step.burst and answer.status != 429:
        raise NotLimited(backend.name, step.burst, answer.status)
    return answer


async def _send_once(backend: Backend, step: Step) -> Answer:
    path = await backend.resolve(step.path)
    headers = dict(backend.auth(step.token))
    headers.update(step.headers)
    data: bytes | None = step.raw
    if data is None and step.body is not None:
        body = json.loads(await backend.resolve(json.dumps(step.body)))
        data = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    elif data is not None:
        headers.setdefault("Content-Type", "application/json")
    async with (
        aiohttp.ClientSession() as session,
        session.request(step.method, backend.url + path, data=data, headers=headers) as resp,
    ):
        closed = await _closed_after(resp)
        raw = await resp.read()
        return describe(resp.status, resp.headers, raw, closed)


def describe(status: int, headers: Mapping[str, str], raw: bytes, closed: bool) -> Answer:
    content_type = headers.get("Content-Type", "").replace(" ", "").lower()
    body: Any
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = {"<text>": raw.decode("utf-8", "replace")[:200]}
    if isinstance(body, dict) and "errorId" in body:
        body["errorId"] = "<id>"  # a fresh uuid per crash, as ids differ
    links = headers.get("Link")
    rate = {}
    for name in RATE_HEADERS:
        value = headers.get(name)
        if value is not None:
            rate[name] = "int" if value.lstrip("-").isdigit() else value
    return Answer(
        status=status,
        content_type=content_type,
        body=body,
        link=_LINK.findall(links) if links is not None else None,
        rate=rate,
        retry_after="Retry-After" in headers,
        closed=closed,
        www_auth="WWW-Authenticate" in headers,
    )


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object" if value else "{}"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def shape_diff(real: Any, emu: Any, path: str = "$") -> list[str]:
    """Where two JSON values differ in shape: kinds, key sets, list lengths, and
    the values of ``SEMANTIC_KEYS``."""
    if _kind(real) != _kind(emu):
        return [f"{path}: {_kind(real)} (real) vs {_kind(emu)} (emulator)"]
    out: list[str] = []
    if isinstance(real, dict):
        only_real, only_emu = sorted(set(real) - set(emu)), sorted(set(emu) - set(real))
        if only_real:
            out.append(f"{path}: keys only on real {only_real}")
        if only_emu:
            out.append(f"{path}: keys only on the emulator {only_emu}")
        for key in sorted(set(real) & set(emu)):
            a, b = real[key], emu[key]
            if key in UNORDERED_KEYS and isinstance(a, list) and isinstance(b, list):
                a, b = sorted(a, key=_canonical), sorted(b, key=_canonical)
            if key in SEMANTIC_KEYS and a != b:
                out.append(f"{path}.{key}: {a!r} (real) vs {b!r} (emulator)")
            else:
                out.extend(shape_diff(a, b, f"{path}.{key}"))
    elif isinstance(real, list):
        if len(real) != len(emu):
            out.append(f"{path}: {len(real)} items (real) vs {len(emu)} (emulator)")
        differing = 0
        for a, b in zip(real, emu, strict=False):
            lines = [x for x in shape_diff(a, b, f"{path}[*]") if x not in out]
            differing += bool(lines)
            out.extend(lines)
            if differing >= 3:
                break
    return out


def compare(real: Answer, emu: Answer) -> list[str]:
    """Every difference between two answers to the same step."""
    out: list[str] = []
    if real.status != emu.status:
        out.append(f"status {real.status} (real) vs {emu.status} (emulator)")
    if real.content_type != emu.content_type:
        out.append(f"content type {real.content_type!r} vs {emu.content_type!r}")
    if real.status >= 400 or emu.status >= 400:
        if real.body != emu.body:
            out.append(f"error body {real.body!r} (real) vs {emu.body!r} (emulator)")
    else:
        out.extend(shape_diff(real.body, emu.body))
    if real.link != emu.link:
        out.append(f"Link {real.link} (real) vs {emu.link} (emulator)")
    if real.rate != emu.rate:
        out.append(f"rate-limit headers {real.rate} (real) vs {emu.rate} (emulator)")
    if real.retry_after != emu.retry_after:
        out.append(f"Retry-After {real.retry_after} (real) vs {emu.retry_after} (emulator)")
    if real.www_auth != emu.www_auth:
        out.append(f"WWW-Authenticate {real.www_auth} (real) vs {emu.www_auth} (emulator)")
    if real.closed != emu.closed:
        out.append(f"connection closed {real.closed} (real) vs {emu.closed} (emulator)")
    return out


def _trace(case: Case, n: int, step: Step, a: Answer, b: Answer) -> None:
    if TRACE is not None:
        with open(TRACE, "a", encoding="utf-8") as trace:
            trace.write(
                f"{case.name} | {n} {step.method} {step.path} | {a.status} "
                f"{a.content_type} closed={a.closed} | {b.status} {b.content_type} "
                f"closed={b.closed}\n"
            )


async def run_case(case: Case, real: Backend, emu: Backend) -> list[str]:
    """Send the case's steps to both backends in turn; the differences, step by step."""
    out: list[str] = []
    for backend in (real, emu):
        if case.quota_full and backend.fill_quota is not None:
            await backend.fill_quota()
    try:
        for n, step in enumerate(case.steps, 1):
            where = f"step {n} {step.method} {step.path}"
            answers: list[Answer] = []
            errors: list[str] = []
            for backend in (real, emu):
                try:
                    answers.append(await send(backend, step))
                except (Unresolved, NotLimited) as error:
                    errors.append(f"{where}: {error}")
            if errors:
                out.extend(errors)
                break  # the steps after it would build on nothing
            a, b = answers
            out.extend(f"{where}: {d}" for d in compare(a, b))
            _trace(case, n, step, a, b)
    finally:
        for backend in (real, emu):
            if case.quota_full and backend.clear_quota is not None:
                await backend.clear_quota()
    return out
