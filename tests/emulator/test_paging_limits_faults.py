"""Link headers, rate limits and injected faults, over loopback HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest
from yarl import URL

from sentry_members_async import (
    ConnectError,
    DecodeError,
    RequestTimeoutError,
    ResponseLostError,
    SentryClient,
    ServerError,
)
from sentry_members_async.retry import RetryPolicy
from sentry_members_async.testing import RateLimit, SentryEmulator
from sentry_members_async.testing.faults import ResetAfter, ResetBefore, Slow, Status, TruncatedBody

from .test_members_http import Http


@pytest.fixture
def emu() -> SentryEmulator:
    emulator = SentryEmulator(seed=3, rate_limit=None)
    emulator.add_org("acme")
    emulator.add_members("acme", 999)  # + the owner: 1,000 members, 10 pages
    return emulator


@pytest.fixture
async def served(emu: SentryEmulator) -> AsyncIterator[tuple[Http, str]]:
    async with emu.serve() as base, aiohttp.ClientSession() as session:
        yield Http(session, base), base


M = "/api/0/organizations/acme/members/"


def link(base: str, prev: str, prev_has: bool, nxt: str, nxt_has: bool, query: str = "") -> str:
    uri = f"{base}{M}?{query}"
    t, f = '"true"', '"false"'
    return (
        f'<{uri}&cursor={prev}>; rel="previous"; results={t if prev_has else f}; '
        f'cursor="{prev}", <{uri}&cursor={nxt}>; rel="next"; results={t if nxt_has else f}; '
        f'cursor="{nxt}"'
    )


async def test_link_header_first_middle_last(emu: SentryEmulator, served: tuple[Http, str]) -> None:
    http, base = served
    token = emu.add_token("acme")
    first = await http("GET", M, token)
    assert len(first.body) == 100
    assert first.headers["Link"] == link(base, "100:-1:1", False, "100:1:0", True)
    middle = await http("GET", M, token, params={"cursor": "100:4:0"})
    assert middle.headers["Link"] == link(base, "100:3:1", True, "100:5:0", True)
    last = await http("GET", M, token, params={"cursor": "100:9:0"})
    assert len(last.body) == 100
    assert last.headers["Link"] == link(base, "100:8:1", True, "100:10:0", False)
    ids = [int(m["id"]) for m in first.body + middle.body + last.body]
    assert ids == sorted(ids)


async def test_link_header_keeps_other_params(
    emu: SentryEmulator, served: tuple[Http, str]
) -> None:
    http, base = served
    token = emu.add_token("acme")
    r = await http("GET", M, token, params={"per_page": "50", "query": "role:member"})
    assert r.headers["Link"] == link(
        base, "50:-1:1", False, "50:1:0", True, query="per_page=50&query=role%3Amember"
    )


async def test_cursor_jump(emu: SentryEmulator, served: tuple[Http, str]) -> None:
    http, _ = served
    token = emu.add_token("acme")
    jumped = await http("GET", M, token, params={"cursor": "100:7:0"})
    every = [m["id"] for m in emu.members("acme")]
    assert [m["id"] for m in jumped.body] == [str(i) for i in every[700:800]]


async def test_bad_cursor_and_per_page(emu: SentryEmulator, served: tuple[Http, str]) -> None:
    http, _ = served
    token = emu.add_token("acme")
    for params, detail in [
        ({"cursor": "abc"}, "Invalid cursor parameter."),
        ({"cursor": "100:-2:0"}, "Pagination offset cannot be negative"),
        ({"per_page": "x"}, "Invalid per_page parameter."),
        ({"per_page": "101"}, "Invalid per_page value. Cannot exceed 100."),
    ]:
        r = await http("GET", M, token, params=params)
        assert (r.status, r.body) == (400, {"detail": detail}), params


# -- rate limits ---------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("retry_after", [True, False])
async def test_429_with_and_without_retry_after(retry_after: bool) -> None:
    clock = FakeClock()
    emu = SentryEmulator(
        rate_limit=RateLimit(limit=3, window=10.0), retry_after=retry_after, clock=clock
    )
    emu.add_org("acme")
    token = emu.add_token("acme")
    async with emu.serve() as base, aiohttp.ClientSession() as session:
        http = Http(session, base)
        answers = [await http("GET", M, token) for _ in range(4)]
        clock.now += 10
        after = await http("GET", M, token)
    assert [a.status for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-Sentry-Rate-Limit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    limited = answers[3]
    assert limited.body == (
        "You are attempting to use this endpoint too frequently. Limit is 3 requests in 10 seconds"
    )
    assert limited.headers["X-Sentry-Rate-Limit-Limit"] == "3"
    assert limited.headers["X-Sentry-Rate-Limit-Reset"] == "1700000010"
    assert limited.headers["X-Sentry-Rate-Limit-ConcurrentLimit"] == "100"
    if retry_after:
        assert limited.headers["Retry-After"] == "10"
    else:
        assert "Retry-After" not in limited.headers
    assert after.status == 200
    assert emu.stats()["rate_limited"] == 1


async def test_concurrent_limit() -> None:
    emu = SentryEmulator(rate_limit=RateLimit(limit=1000, window=1.0, concurrent=2), latency=0.2)
    emu.add_org("acme")
    token = emu.add_token("acme")
    async with emu.serve() as base, aiohttp.ClientSession() as session:
        http = Http(session, base)
        answers = await asyncio.gather(*(http("GET", M, token) for _ in range(4)))
    assert sorted(a.status for a in answers) == [200, 200, 429, 429]
    assert emu.stats()["rate_limited"] == 2
    assert emu.stats()["peak_concurrency"] >= 2


async def test_invite_rate_limit_per_address() -> None:
    emu = SentryEmulator(rate_limit=None)
    emu.add_org("acme", invite_rate_limits=True)
    token = emu.add_token("acme")
    async with emu.serve() as base, aiohttp.ClientSession() as session:
        http = Http(session, base)
        for _ in range(10):
            await http("POST", M, token, json_body={"email": "spam@x.io"})
            member = emu.member("acme", "spam@x.io")
            assert member is not None
            emu.state.remove_member(emu.state.orgs["acme"], member)
        r = await http("POST", M, token, json_body={"email": "spam@x.io"})
    assert (r.status, r.body) == (
        429,
        {"detail": "You are being rate limited for too many invitations."},
    )


# -- faults (through our client, to see what a user sees) ------------------------


async def test_status_fault_with_html_body(emu: SentryEmulator) -> None:
    token = emu.add_token("acme")
    emu.inject("GET", M, Status(502, "<html><title>502 Bad Gateway</title></html>"), calls={1, 2})
    once = RetryPolicy(max_attempts=1)
    async with emu.serve() as base, SentryClient(token, base_url=base, retry=once) as client:
        with pytest.raises(ServerError) as info:
            await client.request("GET", M)
        assert info.value.detail == "502 Bad Gateway"
    async with emu.serve() as base, SentryClient(token, base_url=base) as client:
        ok = await client.request("GET", M)  # 502, then retried
    assert ok.status == 200
    assert client.stats.retries == 1
    assert [r.status for r in emu.requests] == [502, 502, 200]


async def test_reset_before_changes_nothing(emu: SentryEmulator) -> None:
    token = emu.add_token("acme")
    emu.inject("POST", M, ResetBefore())
    async with emu.serve() as base, SentryClient(token, base_url=base) as client:
        with pytest.raises(ResponseLostError):
            await client.request("POST", M, json={"email": "x@y.io"})
    assert emu.member("acme", "x@y.io") is None
    assert [r.status for r in emu.requests] == [None]


async def test_reset_after_applies_the_change(emu: SentryEmulator) -> None:
    token = emu.add_token("acme")
    emu.inject("POST", M, ResetAfter(), calls={1})
    async with emu.serve() as base, SentryClient(token, base_url=base) as client:
        with pytest.raises(ResponseLostError):
            await client.request("POST", M, json={"email": "x@y.io"})
    member = emu.member("acme", "x@y.io")
    assert member is not None
    assert member.pending


async def test_slow_answer_times_out(emu: SentryEmulator) -> None:
    token = emu.add_token("acme")
    emu.inject("GET", M, Slow(0.5))
    once = RetryPolicy(max_attempts=1)
    async with emu.serve() as base, SentryClient(token, base_url=base, retry=once) as client:
        with pytest.raises(RequestTimeoutError):
            await client.request("GET", M, timeout=0.1)


async def test_truncated_body(emu: SentryEmulator) -> None:
    token = emu.add_token("acme")
    emu.inject("GET", M, TruncatedBody(keep=12))
    async with emu.serve() as base, SentryClient(token, base_url=base) as client:
        response = await client.request("GET", M)
        assert len(response.body) == 12
        with pytest.raises(DecodeError, match="is not valid JSON") as info:
            await client.org("acme").members.list().collect()
    assert info.value.endpoint == f"GET {M}"


async def test_ratio_faults_are_seeded() -> None:
    def run() -> list[int | None]:
        emu = SentryEmulator(seed=11, rate_limit=None)
        emu.add_org("acme")
        emu.inject("GET", "/api/0/*", Status(503), ratio=0.3)
        token = emu.add_token("acme")

        async def go() -> list[int | None]:
            transport = emu.transport()
            async with SentryClient(
                token,
                base_url="http://localhost",
                transport=transport,
                retry=RetryPolicy(max_attempts=1),
            ) as client:
                for _ in range(40):
                    with contextlib.suppress(ServerError):
                        await client.request("GET", M)
            return [r.status for r in emu.requests]

        return asyncio.run(go())

    first = await asyncio.to_thread(run)
    assert first == await asyncio.to_thread(run)
    assert 5 <= first.count(503) <= 20


async def test_memory_door_gives_the_same_answers(emu: SentryEmulator) -> None:
    token = emu.add_token("acme")
    async with emu.serve() as base, SentryClient(token, base_url=base) as over_http:
        a = await over_http.request("GET", M, params={"cursor": "100:3:0"})
    async with SentryClient(token, base_url=base, transport=emu.transport()) as in_memory:
        b = await in_memory.request("GET", M, params={"cursor": "100:3:0"})
    assert a.json() == b.json()
    assert a.headers["Link"] == b.headers["Link"]
    transport = emu.transport()
    await transport.aclose()
    async with SentryClient(
        token, base_url=base, transport=transport, retry=RetryPolicy(max_attempts=1)
    ) as closed:
        with pytest.raises(ConnectError):
            await closed.request("GET", M)


def test_plugin_fixtures(
    sentry_emulator: SentryEmulator, sentry_base_url: str, sentry_token: str
) -> None:
    import urllib.request

    sentry_emulator.add_members("acme", 5)
    request = urllib.request.Request(
        sentry_base_url + M, headers={"Authorization": f"Bearer {sentry_token}"}
    )
    with urllib.request.urlopen(request) as resp:
        body = json.loads(resp.read())
    assert len(body) == 6
    assert URL(sentry_base_url).host == "127.0.0.1"


def test_serve_command_prints_url_and_token() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sentry_members_async.testing",
            "serve",
            "--port",
            "0",
            "--members",
            "10",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(5)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert lines[0].startswith("# Sentry emulator serving")
    assert all(line.startswith("export ") for line in lines[1:])
    settings = dict(line.removeprefix("export ").split("=", 1) for line in lines[1:])
    assert settings["SENTRY_URL"].startswith("http://127.0.0.1:")
    assert settings["SENTRY_ORG"] == "acme"
    assert settings["SENTRY_AUTH_TOKEN"].startswith("sntryu_")
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.URLError):  # the server has stopped with the process
        urllib.request.urlopen(settings["SENTRY_URL"] + M, timeout=2)


async def test_a_large_orgs_team_counts_follow_changes() -> None:
    """The teams list's ``memberCount`` of an org over 2,000 members comes from a
    count kept per change (``handlers/lookups.py``): it follows joins and removals."""
    emulator = SentryEmulator(seed=5, rate_limit=None)
    emulator.add_org("acme")
    emulator.add_teams("acme", 2)
    emulator.add_members("acme", 2_500, teams=2, pending_ratio=0.0)
    token = emulator.add_token("acme")
    teams_path = "/api/0/organizations/acme/teams/"

    async with emulator.serve() as base, aiohttp.ClientSession() as session:
        http = Http(session, base)

        async def counts() -> dict[str, int]:
            reply = await http("GET", teams_path, token)
            assert reply.status == 200
            return {t["slug"]: int(t["memberCount"]) for t in reply.body}

        async def listed(team: str) -> set[str]:
            ids: set[str] = set()
            cursor = "100:0:0"
            while True:
                reply = await http(
                    "GET", f"/api/0/teams/acme/{team}/members/", token, params={"cursor": cursor}
                )
                ids |= {m["id"] for m in reply.body}
                if 'results="true"' not in reply.headers["Link"].split(",")[1]:
                    return ids
                cursor = reply.headers["Link"].split(",")[1].split('cursor="')[1].rstrip('"')

        before = await counts()
        team = sorted(before)[0]
        on_team = await listed(team)
        assert before[team] == len(on_team) > 0
        everyone = await http("GET", M, token, params={"per_page": "100"})
        newcomer = next(m["id"] for m in everyone.body if m["id"] not in on_team)
        joined = await http("POST", f"{M}{newcomer}/teams/{team}/", token)
        assert joined.status == 201
        assert (await counts())[team] == before[team] + 1
        leaver = sorted(on_team)[0]
        removed = await http("DELETE", f"{M}{leaver}/", token)
        assert removed.status == 204
        assert (await counts())[team] == before[team]
        assert await listed(team) == (on_team | {newcomer}) - {leaver}
