"""Which requests share a rate-limit window: Sentry's key is the caller and the HTTP method.

``get_rate_limit_key`` (getsentry/sentry src/sentry/ratelimits/utils.py) builds
``{category}:{group}:{METHOD}:{id}``: a user token counts as its user, an
internal integration's (SCIM's) token as its organization.
"""

from __future__ import annotations

import aiohttp

from sentry_members_async.testing import RateLimit, SentryEmulator

from .test_members_http import Http
from .test_paging_limits_faults import FakeClock

M = "/api/0/organizations/acme/members/"
ROLE = {"orgRole": "manager"}


def emulator() -> SentryEmulator:
    emu = SentryEmulator(rate_limit=RateLimit(limit=2, window=10.0), clock=FakeClock())
    emu.add_org("acme")
    return emu


async def test_gets_and_puts_of_one_caller_have_separate_windows() -> None:
    emu = emulator()
    token = emu.add_token("acme")
    member_id = emu.add_members("acme", 1, pending_ratio=0.0)[0]
    async with emu.serve() as base, aiohttp.ClientSession() as session:
        http = Http(session, base)
        gets = [await http("GET", M, token) for _ in range(3)]
        puts = [await http("PUT", f"{M}{member_id}/", token, json_body=ROLE) for _ in range(3)]
    assert [a.status for a in gets] == [200, 200, 429]
    assert [a.status for a in puts] == [200, 200, 429]
    assert [a.headers["X-Sentry-Rate-Limit-Remaining"] for a in puts] == ["1", "0", "0"]


async def test_two_tokens_of_one_user_share_a_window() -> None:
    emu = emulator()
    first = emu.add_token("acme")
    second = emu.add_token("acme")  # the owner again: the same user
    async with emu.serve() as base, aiohttp.ClientSession() as session:
        http = Http(session, base)
        answers = [await http("GET", M, t) for t in (first, second, first)]
    assert [a.status for a in answers] == [200, 200, 429]


async def test_integration_tokens_count_as_their_org_apart_from_users() -> None:
    emu = emulator()
    user = emu.add_token("acme")
    scim = emu.add_token("acme", kind="scim")
    integration = emu.add_token("acme", kind="integration")
    async with emu.serve() as base, aiohttp.ClientSession() as session:
        http = Http(session, base)
        users = [await http("GET", M, user) for _ in range(2)]
        orgs = [await http("GET", M, t) for t in (scim, integration, scim)]
    assert [a.status for a in users] == [200, 200]
    assert [a.status for a in orgs] == [200, 200, 429]  # one window for the org's integrations
