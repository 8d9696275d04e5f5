"""Every operation under every fault: the typed outcome, the requests the server got, its state.

Each case injects one fault on the first call of the operation's route, runs
the operation through a client with a fast retry policy, and checks:

* what the user sees (success, or the documented typed error);
* how many requests reached that route;
* the server's final state: changed exactly once, or not at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from sentry_members_async import (
    DecodeError,
    InviteRow,
    MemberId,
    Org,
    OutcomeKind,
    RequestTimeoutError,
    ResponseLostError,
    SentryClient,
    ServerError,
)
from sentry_members_async.ratelimit import RateLimiter
from sentry_members_async.retry import RetryPolicy
from sentry_members_async.rows import RoleRow, TeamRow
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.testing.faults import (
    Fault,
    ResetAfter,
    ResetBefore,
    Slow,
    Status,
    TruncatedBody,
)

from ..conftest import FakeTime

ORG = "/api/0/organizations/acme"
HTML = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"

FAULTS: dict[str, Fault] = {
    # a wait named in the answer (delta-seconds; a fraction: the retry loop waits it out)
    "429-retry-after": Status(429, '"too frequently"', {"Retry-After": "0.2"}),
    "429-no-retry-after": Status(429, '"too frequently"'),
    "500": Status(500, {"detail": "Internal Error", "errorId": "x"}),
    "502-html": Status(502, HTML, {"Content-Type": "text/html"}),
    "503": Status(503, {"detail": "unavailable"}),
    "504": Status(504, ""),
    "reset-before": ResetBefore(),
    "reset-after": ResetAfter(),
    "slow": Slow(0.6),
    "truncated": TruncatedBody(keep=5),
}
RETRIED = {"429-retry-after", "429-no-retry-after", "502-html", "503", "504"}


@dataclass
class Op:
    name: str
    method: str
    route: str
    #: "read", "idempotent", "invite" (looked up when lost) or "post" (never re-sent)
    kind: str
    #: whether the answer's body is decoded (a truncated body then fails)
    decodes: bool
    run: Callable[[Org, dict[str, Any]], Awaitable[Any]]
    #: the server state shows the change was applied
    applied: Callable[[SentryEmulator, dict[str, Any]], bool]
    bulk: bool = False


def _member(emu: SentryEmulator, **where: Any) -> dict[str, Any]:
    return next(
        m
        for m in emu.members("acme")
        if not m["pending"] and all(m.get(k) == v for k, v in where.items())
    )


def _state(emu: SentryEmulator, member_id: int) -> dict[str, Any] | None:
    return next((m for m in emu.members("acme") if m["id"] == member_id), None)


OPS = [
    Op("list", "GET", f"{ORG}/members/", "read", True,
       lambda org, ctx: org.members.list().collect(), lambda emu, ctx: True),
    Op("get", "GET", f"{ORG}/members/*/", "read", True,
       lambda org, ctx: org.members.get(MemberId(str(ctx["target"]["id"]))),
       lambda emu, ctx: True),
    Op("invite", "POST", f"{ORG}/members/", "invite", True,
       lambda org, ctx: org.members.invite("fresh@example.com"),
       lambda emu, ctx: emu.invites_created("acme").get("fresh@example.com") == 1),
    Op("update", "PUT", f"{ORG}/members/*/", "idempotent", True,
       lambda org, ctx: org.members.update(MemberId(str(ctx["target"]["id"])), role="manager"),
       lambda emu, ctx: (_state(emu, ctx["target"]["id"]) or {}).get("role") == "manager"),
    Op("remove", "DELETE", f"{ORG}/members/*/", "idempotent", False,
       lambda org, ctx: org.members.remove(MemberId(str(ctx["target"]["id"]))),
       lambda emu, ctx: _state(emu, ctx["target"]["id"]) is None),
    Op("team-add", "POST", f"{ORG}/members/*/teams/*/", "idempotent", False,
       lambda org, ctx: org.members.add_to_team(MemberId(str(ctx["outsider"]["id"])), "team-02"),
       lambda emu, ctx: "team-02" in (_state(emu, ctx["outsider"]["id"]) or {})["teams"]),
    Op("team-remove", "DELETE", f"{ORG}/members/*/teams/*/", "idempotent", True,
       lambda org, ctx: org.members.remove_from_team(
           MemberId(str(ctx["insider"]["id"])), "team-01"
       ),
       lambda emu, ctx: "team-01" not in (_state(emu, ctx["insider"]["id"]) or {})["teams"]),
    Op("scim-create", "POST", f"{ORG}/scim/v2/Users", "post", True,
       lambda org, ctx: org.scim.users.create("okta@example.com"),
       lambda emu, ctx: emu.member("acme", "okta@example.com") is not None),
    Op("scim-deactivate", "PATCH", f"{ORG}/scim/v2/Users/*", "idempotent", False,
       lambda org, ctx: org.scim.users.deactivate(MemberId(str(ctx["target"]["id"]))),
       lambda emu, ctx: _state(emu, ctx["target"]["id"]) is None),
    Op("bulk-invite", "POST", f"{ORG}/members/", "invite", True,
       lambda org, ctx: org.bulk.invite([InviteRow("b1@example.com"), InviteRow("b2@example.com")]),
       lambda emu, ctx: all(emu.invites_created("acme").get(e) == 1
                            for e in ("b1@example.com", "b2@example.com")), bulk=True),
    Op("bulk-set-roles", "PUT", f"{ORG}/members/*/", "idempotent", True,
       lambda org, ctx: org.bulk.set_roles([RoleRow(ctx["target"]["email"], "manager")]),
       lambda emu, ctx: (_state(emu, ctx["target"]["id"]) or {}).get("role") == "manager",
       bulk=True),
    Op("bulk-add-to-teams", "POST", f"{ORG}/members/*/teams/*/", "idempotent", False,
       lambda org, ctx: org.bulk.add_to_teams([TeamRow(ctx["outsider"]["email"], "team-02")]),
       lambda emu, ctx: "team-02" in (_state(emu, ctx["outsider"]["id"]) or {})["teams"],
       bulk=True),
    Op("bulk-remove-from-teams", "DELETE", f"{ORG}/members/*/teams/*/", "idempotent", True,
       lambda org, ctx: org.bulk.remove_from_teams([TeamRow(ctx["insider"]["email"], "team-01")]),
       lambda emu, ctx: "team-01" not in (_state(emu, ctx["insider"]["id"]) or {})["teams"],
       bulk=True),
    Op("bulk-remove", "DELETE", f"{ORG}/members/*/", "idempotent", False,
       lambda org, ctx: org.bulk.remove([ctx["target"]["email"]]),
       lambda emu, ctx: _state(emu, ctx["target"]["id"]) is None, bulk=True),
    Op("bulk-deprovision", "PATCH", f"{ORG}/scim/v2/Users/*", "idempotent", False,
       lambda org, ctx: org.bulk.deprovision([ctx["target"]["email"]]),
       lambda emu, ctx: _state(emu, ctx["target"]["id"]) is None, bulk=True),
]  # fmt: skip


def expected(op: Op, fault: str) -> tuple[type[BaseException] | None, bool | None]:
    """(the error the user sees or None, whether the change is applied or None: n/a)."""
    mutates = op.kind != "read"
    if fault in RETRIED:
        return None, True if mutates else None
    if fault == "500":
        return ServerError, False if mutates else None
    if fault == "truncated":
        if op.decodes:
            return DecodeError, True if mutates else None
        return None, True if mutates else None
    if op.kind == "post":  # never re-sent: the failure is reported as it is
        lost = RequestTimeoutError if fault == "slow" else ResponseLostError
        return lost, fault != "reset-before"
    return None, True if mutates else None


CASES = [(op, fault) for op in OPS for fault in FAULTS]


@pytest.mark.parametrize(("op", "fault"), CASES, ids=[f"{op.name}-{fault}" for op, fault in CASES])
async def test_fault(op: Op, fault: str, fake_time: FakeTime) -> None:
    emu = SentryEmulator(seed=21, rate_limit=None)
    emu.add_org("acme", scim=True)
    emu.add_teams("acme", 2)
    emu.add_members("acme", 12, pending_ratio=0.0, roles={"member": 1.0}, teams=1)
    ctx = {
        "target": _member(emu, role="member"),
        "insider": next(m for m in emu.members("acme") if "team-01" in m["teams"]),
        "outsider": next(
            m for m in emu.members("acme") if m["role"] == "member" and "team-02" not in m["teams"]
        ),
    }
    token = emu.add_token("acme")
    emu.inject(op.method, op.route, FAULTS[fault], calls={1})
    fast = RetryPolicy(base_delay=0.01, max_delay=2.0, max_attempts=4)
    # The default limiter in virtual time: the pause a 429 imposes on every caller
    # (Retry-After, else a second of backoff) is taken, not waited out.
    limiter = RateLimiter(
        clock=fake_time.monotonic, wall_clock=fake_time.time, sleep=fake_time.sleep
    )
    error_type, applied = expected(op, fault)
    outcome: Any = None
    raised: BaseException | None = None
    async with emu.serve() as url:
        async with SentryClient(
            token, base_url=url, retry=fast, timeout=0.3, limiter=limiter
        ) as client:
            try:
                outcome = await op.run(client.org("acme"), ctx)
            except Exception as exc:
                raised = exc
        if isinstance(FAULTS[fault], Slow):
            await asyncio.sleep(0.7)  # let the slow first attempt finish on the server
    if op.bulk:
        assert raised is None, raised
        errors = [o.error for o in outcome if o.kind is OutcomeKind.FAILED]
        if error_type is None:
            assert errors == []
        else:
            assert len(errors) >= 1
            assert all(isinstance(e, error_type) for e in errors), errors
    elif error_type is None:
        assert raised is None, repr(raised)
    else:
        assert isinstance(raised, error_type), repr(raised)
    route_calls = len(emu.find(op.method, op.route))
    if fault in RETRIED or (error_type is None and fault in ("reset-before", "slow")):
        assert route_calls >= 2
    elif fault == "reset-after" and op.kind == "idempotent":
        assert route_calls == 2
    elif fault == "reset-after" and op.kind == "invite":
        assert route_calls == (1 if not op.bulk else 2)  # looked up, not re-sent
    elif error_type is not None and not op.bulk:
        assert route_calls == 1
    if op.kind == "invite":
        assert sorted(emu.invite_posts("acme").values()) == _invite_posts(op, fault)
    if applied is not None:
        assert op.applied(emu, ctx) is applied
    assert all(n == 1 for n in emu.invites_created("acme").values())


def _invite_posts(op: Op, fault: str) -> list[int]:
    """The invite POSTs the server must have *received* per address, sorted.

    One per address; two for the address whose first POST met a fault that calls
    for sending it again: a retried status, a connection dropped before the
    request was read, or a timeout whose confirmation read (at 0.3 s) found no
    invite yet (the slow POST is handled at 0.6 s, and refused as already
    invited). A lost answer is confirmed by a read, never re-sent blindly.
    """
    addresses = 2 if op.bulk else 1
    sent_again = fault in RETRIED or fault in ("reset-before", "slow")
    return [1] * (addresses - 1) + [2 if sent_again else 1]


async def test_connection_refused_is_retried_then_typed(refused_url: object) -> None:
    from sentry_members_async import ConnectError

    fast = RetryPolicy(base_delay=0.01, max_delay=0.05, max_attempts=3)
    async with SentryClient("token", base_url=str(refused_url), retry=fast) as client:
        for call in (
            lambda: client.org("acme").members.get("me"),
            lambda: client.org("acme").members.invite("a@example.com"),
            lambda: client.org("acme").scim.users.create("a@example.com"),
        ):
            with pytest.raises(ConnectError) as info:
                await call()
            assert info.value.attempts == 3
            assert info.value.may_have_reached_server is False
