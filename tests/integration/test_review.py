"""``review()`` over the emulator: exactly the seeded findings, in the planned requests,
and a reading that notices the org changing under it."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest

from sentry_members_async import SentryClient
from sentry_members_async.review import diff_reviews, load_review, review, review_json
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.transports.base import Request

OWNER = "owner@acme.example.com"
OWNERS_NO_2FA = ["cto@acme.example.com", "founder@acme.example.com"]
INVITES = {"new3@acme.example.com": 3, "new10@acme.example.com": 10, "new40@acme.example.com": 40}


def _seed(profile: str) -> tuple[SentryEmulator, list[str]]:
    """2,000 members in 40 teams: 3 owners (2 without 2FA), invites aged 3, 10 and 40
    days, 5 accepted members on no team; everyone else has 2FA and a team."""
    emu = SentryEmulator(seed=11, rate_limit=None, profile=profile)
    emu.add_org("acme")
    slugs = emu.add_teams("acme", 40)
    emu.set_teams("acme", OWNER, [slugs[0]])
    ids = emu.add_members(
        "acme", 1994, pending_ratio=0.0, teams=40, roles={"member": 1.0}, two_factor_ratio=1.0
    )
    for n, email in enumerate(OWNERS_NO_2FA):
        emu.add_member("acme", email, role="owner", teams=[slugs[n + 1]], has_2fa=False)
    for email, days in INVITES.items():
        emu.add_member("acme", email, pending=True, invited_days_ago=days, inviter=OWNER)
    by_id = {m["id"]: m["email"] for m in emu.members("acme")}
    lonely = [by_id[i] for i in ids[100:1900:400]]
    for email in lonely:
        emu.set_teams("acme", email, [])
    assert len(emu.members("acme")) == 2000
    return emu, lonely


def _listed_on(emu: SentryEmulator, slug: str) -> int:
    """Members a team's list shows: invites too on 23.7.1, accepted members only since."""
    rows = [m for m in emu.members("acme") if slug in m["teams"]]
    if emu.profile.name != "23.7":
        rows = [m for m in rows if not m["pending"]]
    return len(rows)


@pytest.mark.parametrize("profile", ["latest", "23.7"])
async def test_review_finds_exactly_the_seeded_findings_in_the_planned_requests(
    profile: str,
) -> None:
    emu, lonely = _seed(profile)
    token = emu.add_token("acme")
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        result = await review(client.org("acme"))

    summary = result.summary
    assert (summary.members, summary.accepted, summary.pending) == (2000, 1997, 3)
    assert (summary.owners, summary.managers) == (3, 0)
    assert (summary.without_2fa, summary.owners_without_2fa) == (2, 2)
    assert (summary.invites_older_7, summary.invites_older_30, summary.expired) == (2, 1, 1)
    assert summary.without_team == 5
    found = result.findings()
    assert sorted(m.email for m in found["ownersWithout2fa"]) == OWNERS_NO_2FA
    assert sorted(m.email for m in found["staleInvites"]) == [
        "new10@acme.example.com",
        "new40@acme.example.com",
    ]
    assert sorted(m.email for m in found["withoutTeam"]) == sorted(lonely)
    invites = {m.email: m for m in result.members if m.pending}
    assert {e: round(m.invite_age_days(result.finished_at) or 0) for e, m in invites.items()} == (
        INVITES
    )
    assert {m.inviter_name for m in invites.values()} == {"Org Owner"}

    # Teams and team roles as the server holds them, for every member.
    held = {str(m["id"]): sorted(m["teams"]) for m in emu.members("acme") if not m["pending"]}
    assert {
        m.member_id: sorted(s for s, _ in m.teams) for m in result.members if not m.pending
    } == (held)

    # Team roles as held: a seeded team admin is "admin", the owners are team admins
    # everywhere (their minimum), on both releases (23.7.1 lists a stored NULL).
    roles = {
        (str(m["id"]), slug): role for m in emu.members("acme") for slug, role in m["teams"].items()
    }
    for m in result.members:
        for slug, role in m.teams:
            stored = roles[(m.member_id, slug)]
            assert role == ("admin" if m.org_role == "owner" else stored or "contributor")
    assert {r for m in result.members for _, r in m.teams} == {"admin", "contributor"}

    # The requests: the teams list, each member page, each team page, and the
    # last member page once more. Never a member's details.
    pages_of_members = math.ceil(2000 / 100)
    team_pages = sum(max(1, math.ceil(_listed_on(emu, t["slug"]) / 100)) for t in emu.teams("acme"))
    paths = [r.path for r in emu.requests]
    assert len(paths) <= pages_of_members + team_pages + 2
    assert paths.count("/api/0/organizations/acme/members/") == pages_of_members + 1
    assert paths.count("/api/0/organizations/acme/teams/") == 1
    assert sum(p.startswith("/api/0/teams/acme/") for p in paths) == team_pages
    assert all(r.status == 200 and r.method == "GET" for r in emu.requests)
    proof = result.completeness
    assert proof is not None
    assert (proof.members_walked, proof.members_at_end, proof.member_pages) == (2000, 2000, 20)
    assert proof.consistent
    assert proof.teams_complete
    assert proof.rounds == 1
    assert not proof.changed
    assert proof.requests == len(emu.requests)
    assert all(t.complete and t.listed == _listed_on(emu, t.slug) for t in result.teams)


async def test_an_unchanged_org_gives_the_same_hash_and_an_empty_diff() -> None:
    emu, _ = _seed("latest")
    token = emu.add_token("acme")
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        first = await review(client.org("acme"))
        again = await client.org("acme").review()  # the org handle's way in
        emu.add_member("acme", "joiner@acme.example.com", teams=["team-05"], has_2fa=True)
        emu.remove_member("acme", OWNERS_NO_2FA[0])
        emu.set_user("acme", "joiner@acme.example.com", has_2fa=False)
        emu.state.org("acme").members[  # type: ignore[union-attr]
            int(first.members[5].member_id)
        ].role = "manager"
        emu.set_user("acme", first.members[6].email, has_2fa=False)
        later = await review(client.org("acme"))
    assert first.content_hash == again.content_hash
    assert not diff_reviews(first, again)
    stored = load_review(json.dumps(review_json(first)))
    assert stored.content_hash == first.content_hash
    diff = diff_reviews(stored, later)
    assert [m.email for m in diff.joined] == ["joiner@acme.example.com"]
    assert [m.email for m in diff.left] == [OWNERS_NO_2FA[0]]
    assert [(c.email, c.before, c.after) for c in diff.role_changed] == [
        (first.members[5].email, "member", "manager")
    ]
    assert [m.email for m in diff.lost_2fa] == [first.members[6].email]
    assert diff.counts() == {"joined": 1, "left": 1, "roleChanged": 1, "lost2fa": 1, "lostSso": 0}


def _hook(when: Callable[[Request, dict[str, int]], bool], act: Callable[[], None]) -> Any:
    seen: dict[str, int] = {}
    fired: list[bool] = []

    def on_request(request: Request) -> None:
        if request.url.path.endswith("/members/") and "/teams/" not in request.url.path:
            cursor = request.url.query.get("cursor", "")
            seen[cursor] = seen.get(cursor, 0) + 1
            if not fired and when(request, seen):
                fired.append(True)
                act()

    return on_request


@pytest.mark.parametrize("moment", ["mid-walk", "before-the-end-count"])
async def test_members_joining_and_leaving_during_the_review_are_reported(moment: str) -> None:
    emu, _ = _seed("latest")
    early = [m["email"] for m in emu.members("acme")[10:12]]
    joiners = [f"late{n}@acme.example.com" for n in range(3)]

    def change() -> None:
        for email in early:
            emu.remove_member("acme", email)
        for email in joiners:
            emu.add_member("acme", email, teams=["team-07"], has_2fa=True)

    if moment == "mid-walk":
        hook = _hook(lambda r, seen: r.url.query.get("cursor") == "100:3:0", change)
    else:
        hook = _hook(lambda r, seen: max(seen.values()) == 2, change)
    token = emu.add_token("acme")
    async with emu.serve() as url, SentryClient(token, base_url=url, on_request=hook) as client:
        result = await review(client.org("acme"))

    proof = result.completeness
    assert proof is not None
    assert proof.rounds == 2
    assert proof.consistent
    assert proof.changed.signs
    assert sorted(proof.changed.disappeared) == sorted(early)
    held = {str(m["id"]): m["email"] for m in emu.members("acme")}
    assert {m.member_id: m.email for m in result.members} == held
    assert result.summary.members == len(held) == 2001
    assert proof.members_walked == proof.members_at_end == 2001
    if moment == "before-the-end-count":
        assert sorted(proof.changed.appeared) == joiners
    else:
        assert set(joiners) <= {m.email for m in result.members}
