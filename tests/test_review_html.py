"""The HTML report: self-contained, escaped, and, in headless Chromium, showing the
same numbers as the JSON export, with its charts drawn."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sentry_members_async import SentryClient
from sentry_members_async.review import (
    Review,
    diff_reviews,
    review,
    review_csv,
    review_html,
    review_json,
    safe_cell,
)
from sentry_members_async.testing import SentryEmulator

HOSTILE = '<script>alert("x")</script> & =cmd|"/c calc"!A1'


async def _reviews() -> tuple[Review, Review]:
    emu = SentryEmulator(seed=3, rate_limit=None)
    emu.add_org("acme")
    emu.add_teams("acme", 4)
    emu.add_members("acme", 60, pending_ratio=0.0, teams=4, two_factor_ratio=0.5)
    emu.add_member("acme", "evil@acme.example.com", name=HOSTILE, role="owner")
    emu.add_member("acme", "boss@acme.example.com", role="owner")
    emu.add_member(
        "acme",
        "late@acme.example.com",
        pending=True,
        invited_days_ago=45,
        inviter="boss@acme.example.com",
    )
    emu.add_member("acme", "fresh@acme.example.com", pending=True, invited_days_ago=2)
    token = emu.add_token("acme")
    async with SentryClient(token, base_url="http://localhost", transport=emu.transport()) as c:
        before = await review(c.org("acme"))
        emu.add_member("acme", "+1-555@acme.example.com", role="manager", teams=["team-02"])
        after = await review(c.org("acme"))
    return before, after


def _numbers(dom: str, attribute: str) -> dict[str, int]:
    return {
        key: int(value) for key, value in re.findall(rf'{attribute}="([^"]+)"[^>]*>(\d+)<', dom)
    }


async def test_the_report_is_self_contained_and_escaped() -> None:
    before, after = await _reviews()
    page = review_html(after, diff_reviews(before, after))
    assert not re.search(r"https?:|//[a-z]|src=|href=|url\(|@import", page, re.IGNORECASE)
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; =cmd" in page
    assert _numbers(page, "data-summary") == {
        k: v for k, v in review_json(after)["summary"].items() if isinstance(v, int)
    }
    assert _numbers(page, "data-diff") == {
        "joined": 1, "left": 0, "roleChanged": 0, "lost2fa": 0, "lostSso": 0,
    }  # fmt: skip
    assert page.count("<svg") == 4


async def test_the_csv_neutralises_formulas() -> None:
    _, after = await _reviews()
    rows = {r["email"]: r for r in csv.DictReader(io.StringIO(review_csv(after)))}
    assert len(rows) == len(after.members)
    assert rows["evil@acme.example.com"]["name"] == HOSTILE  # starts with "<": left as it is
    assert rows["'+1-555@acme.example.com"]["org_role"] == "manager"
    assert [safe_cell(v) for v in ("=1+1", "+x", "-x", "@x", "\tx", "\rx", "a=b", None, True)] == [
        "'=1+1", "'+x", "'-x", "'@x", "'\tx", "'\rx", "a=b", "", "true",
    ]  # fmt: skip
    late = rows["late@acme.example.com"]
    assert (late["pending"], late["expired"], late["inviter"]) == ("true", "true", "boss")


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install -y chromium)")
    return found


def _run(chromium: str, profile: Path, *args: str) -> str:
    done = subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=1280,1800", *args,
        ],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout


async def test_chromium_renders_the_numbers_and_charts(tmp_path: Path) -> None:
    chromium = _chromium()
    before, after = await _reviews()
    report = tmp_path / "review.html"
    report.write_text(review_html(after, diff_reviews(before, after)), encoding="utf-8")
    url = report.as_uri()
    dom = _run(chromium, tmp_path / "profile-dom", "--dump-dom", url)
    summary = review_json(after)["summary"]
    assert _numbers(dom, "data-summary") == {k: v for k, v in summary.items() if isinstance(v, int)}
    assert sorted(re.findall(r'data-chart="([^"]+)"', dom)) == ["2fa", "invite-age", "roles", "sso"]
    values = dict(re.findall(r'data-value="([^"]+)"[^>]*>(\d+)<', dom))
    assert int(values["2fa:without 2FA"]) == summary["without2fa"]
    assert int(values["sso:not linked"]) == summary["ssoNotLinked"]
    assert int(values["roles:owner"]) == summary["roles"]["owner"]
    assert int(values["invite-age:over 30 days"]) == summary["invitesOlderThan30Days"]
    shot = tmp_path / "review.png"
    _run(chromium, tmp_path / "profile-shot", f"--screenshot={shot}", url)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000
