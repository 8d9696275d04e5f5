"""A limiter per token: Sentry counts the user token and the SCIM token apart.

``get_rate_limit_key`` (getsentry/sentry src/sentry/ratelimits/utils.py): a user
token counts as its user, an internal integration's token (SCIM's) as its
organization, each with windows of its own.
"""

from __future__ import annotations

import asyncio
import collections

import pytest

from sentry_members_async import OutcomeKind, RateLimiter, SentryClient, ValidationError
from sentry_members_async.ratelimit import NoLimiter
from sentry_members_async.testing import RateLimit, SentryEmulator

LOCAL = "http://127.0.0.1:1"


def test_a_distinct_scim_token_gets_a_limiter_of_its_own() -> None:
    client = SentryClient(
        "sntryu_user", scim_token="sntrys_scim", base_url=LOCAL, rate_limit=(40, 1.0)
    )
    assert isinstance(client.scim_limiter, RateLimiter)
    assert client.scim_limiter is not client.limiter
    assert (client.scim_limiter.limit, client.scim_limiter.window) == (40, 1.0)


def test_one_token_or_a_given_limiter_means_one_limiter() -> None:
    same = SentryClient("sntryu_t", scim_token="sntryu_t", base_url=LOCAL)
    assert same.scim_limiter is same.limiter
    # an integration's token may share the organization's window with SCIM's
    integration = SentryClient("sntrys_org", scim_token="sntrys_scim", base_url=LOCAL)
    assert integration.scim_limiter is integration.limiter
    unprefixed = SentryClient("0123abcd", scim_token="4567ef", base_url=LOCAL)
    assert unprefixed.scim_limiter is unprefixed.limiter
    no_scim = SentryClient("t", base_url=LOCAL)
    assert no_scim.scim_limiter is no_scim.limiter
    mine = NoLimiter()
    given = SentryClient("sntryu_t", scim_token="s", base_url=LOCAL, limiter=mine)
    assert given.limiter is mine
    assert given.scim_limiter is mine
    paced = RateLimiter()
    view = SentryClient("sntryu_t", scim_token="s", base_url=LOCAL).with_limiter(paced)
    assert (view.limiter, view.scim_limiter) == (paced, paced)


async def test_each_token_spends_its_own_window() -> None:
    emu = SentryEmulator(rate_limit=RateLimit(limit=3, window=60.0), retry_after=False)
    emu.add_org("acme", scim=True)
    emu.add_members("acme", 5, pending_ratio=0.0)
    user = emu.add_token("acme")
    scim = emu.add_token("acme", kind="scim")
    async with (
        emu.serve() as url,
        SentryClient(user, scim_token=scim, base_url=url, max_server_pause=5) as client,
    ):
        acme = client.org("acme")
        members = await asyncio.gather(
            *(acme.members.list(page_size=2, limit=2).collect() for _ in range(3))
        )
        users = await asyncio.gather(
            *(acme.scim.users.list(page_size=2, limit=2).collect() for _ in range(3))
        )
    # Six requests, three a token: each token's window of 3 holds its three; one
    # shared limiter would have held the fourth for the next minute (and refused).
    assert [len(page) for page in members + users] == [2] * 6
    assert emu.stats()["rate_limited"] == 0
    assert isinstance(client.limiter, RateLimiter)
    assert isinstance(client.scim_limiter, RateLimiter)
    assert (client.limiter.sent, client.scim_limiter.sent) == (3, 3)
    paths = sorted(r.path for r in emu.requests)
    assert (
        paths
        == ["/api/0/organizations/acme/members/"] * 3
        + ["/api/0/organizations/acme/scim/v2/Users"] * 3
    )


async def test_bulk_via_scim_keeps_both_tokens_busy() -> None:
    """With a limiter per token, bulk.invite(via="scim") keeps 50 rows in flight by
    default (25 a token, sentry.io's concurrent cap): each stage (SCIM POST, team
    add) can fill its token while the other waits."""
    # 200 ms a request: enough for 50 rows to be in flight on a loaded host, too.
    emu = SentryEmulator(latency=0.2, rate_limit=RateLimit(limit=1000, window=1.0, concurrent=25))
    emu.add_org("acme", scim=True)
    emu.add_team("acme", "team-01")
    user = emu.add_token("acme")
    scim = emu.add_token("acme", kind="scim")
    rows = [{"email": f"p{i:03d}@example.com", "teams": ["team-01"]} for i in range(200)]
    async with emu.serve() as url, SentryClient(user, scim_token=scim, base_url=url) as client:
        report = await client.org("acme").bulk.invite(rows, via="scim")
    assert report.counts() == {OutcomeKind.CREATED: 200}
    # More than the 32 of two 16-row pools; the server's 25 a token never exceeded.
    assert emu.stats()["peak_concurrency"] > 32
    assert emu.stats()["rate_limited"] == 0
    # one team listing, one lookup of who is there already per 100 rows (bulk.invite
    # reads that first), then a POST Users and a team add a row, nothing twice
    sent = collections.Counter((r.method, r.path) for r in emu.requests)
    assert sent == {
        ("GET", "/api/0/organizations/acme/teams/"): 1,
        ("GET", "/api/0/organizations/acme/members/"): 2,
        ("POST", "/api/0/organizations/acme/scim/v2/Users"): 200,
        **{
            ("POST", path): 1
            for path in {r.path for r in emu.requests if r.path.endswith("/teams/team-01/")}
        },
    }
    assert sum(n for (method, path), n in sent.items() if path.endswith("/team-01/")) == 200


@pytest.mark.parametrize("per_token", [4, 16])
async def test_a_bulk_concurrency_of_ones_own_counts_per_token(per_token: int) -> None:
    # 16 is the default's value: set explicitly, it is still the user's (it was taken
    # for "not set" and became 25 a token)
    # 200 ms a request: the rows pile up to the cap even on a loaded host
    emu = SentryEmulator(latency=0.2, rate_limit=None)
    emu.add_org("acme", scim=True)
    emu.add_team("acme", "team-01")
    user = emu.add_token("acme")
    scim = emu.add_token("acme", kind="scim")
    rows = [{"email": f"p{i:03d}@example.com", "teams": ["team-01"]} for i in range(60)]
    async with emu.serve() as url, SentryClient(user, scim_token=scim, base_url=url) as client:
        acme = client.org("acme")
        acme.bulk.concurrency = per_token
        report = await acme.bulk.invite(rows, via="scim")
    assert report.counts() == {OutcomeKind.CREATED: 60}
    # per_token rows a token, both tokens busy: at most 2 * per_token in flight (the
    # default would have let 50 go), more than one token's share
    assert per_token < emu.stats()["peak_concurrency"] <= 2 * per_token


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "8"])
async def test_a_bulk_concurrency_is_a_positive_integer(bad: object) -> None:
    emu = SentryEmulator(rate_limit=None)
    emu.add_org("acme")
    async with SentryClient(emu.add_token("acme"), transport=emu.transport()) as client:
        acme = client.org("acme")
        with pytest.raises(ValidationError, match="concurrency must be a positive integer"):
            acme.bulk.concurrency = bad  # type: ignore[assignment]
        assert acme.bulk.concurrency == 16  # the default, unchanged
    assert emu.requests == []
