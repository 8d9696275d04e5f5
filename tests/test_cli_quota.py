"""``sentry-members members invite`` at the daily invite quota, and ``--via scim``."""

from __future__ import annotations

import csv
import os
import pathlib
import re
import subprocess
import sys

from sentry_members_async.testing import SentryEmulator


def _cli(env: dict[str, str], *args: str, cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sentry_members_async", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


def test_quota_defers_rows_to_a_file_and_scim_provisions_them(tmp_path: pathlib.Path) -> None:
    emu = SentryEmulator.sentry_io(seed=21)
    emu.add_org("acme", scim=True)
    token = emu.add_token("acme")
    scim = emu.add_token("acme", kind="scim")
    source = tmp_path / "people.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "role"])
        for i in range(120):
            writer.writerow([f"hire{i:03d}@example.com", "member"])
    with emu.serve_in_thread() as url:
        env = {
            **os.environ,
            "SENTRY_URL": url,
            "SENTRY_ORG": "acme",
            "SENTRY_AUTH_TOKEN": token,
            "SENTRY_SCIM_TOKEN": scim,
            "COLUMNS": "200",
        }
        done = _cli(env, "members", "invite", "--from-csv", str(source), cwd=tmp_path)
        assert done.returncode == 75, done.stderr
        assert "the daily invite quota was reached: 20 rows not sent" in done.stderr
        assert "deferred-invites.csv" in done.stderr
        # the quota's answers 429 are reported, counted from this work's start (one, or
        # as many as were in flight when the first came: the engine sends in parallel)
        progress = [x for x in done.stderr.splitlines() if x.startswith("inviting: ")]
        limited = emu.stats()["rate_limited"]
        assert limited >= 1
        assert re.fullmatch(
            rf"inviting: 120/120 done, in \d+\.\d s, 429 answers: {limited}", progress[-1]
        )
        with (tmp_path / "deferred-invites.csv").open(newline="") as handle:
            deferred = list(csv.DictReader(handle))
        assert len(deferred) == 20
        assert {r["error"] for r in deferred} == {
            "429 POST /api/0/organizations/acme/members/: You are being rate limited for too "
            "many invitations."
        }
        assert not (tmp_path / "failed-members-invite.csv").exists()
        again = _cli(
            env,
            "members",
            "invite",
            "--from-csv",
            str(tmp_path / "deferred-invites.csv"),
            "--via",
            "scim",
            cwd=tmp_path,
        )
        assert again.returncode == 0, again.stderr
    pending = [m for m in emu.members("acme") if m["pending"]]
    assert len(pending) == 120
    assert sum(m["flags"]["idp:provisioned"] for m in pending) == 20
    assert {r["email"] for r in deferred} == {
        m["email"] for m in pending if m["flags"]["idp:provisioned"]
    }


def test_apply_past_the_quota_exits_75_and_applies_the_rest_tomorrow(
    tmp_path: pathlib.Path,
) -> None:
    emu = SentryEmulator.sentry_io(seed=22)
    emu.add_org("acme")
    token = emu.add_token("acme")
    roster = tmp_path / "roster.csv"
    with roster.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "role", "teams"])
        for i in range(102):
            writer.writerow([f"hire{i:03d}@example.com", "member", ""])
    with emu.serve_in_thread() as url:
        env = {
            **os.environ,
            "SENTRY_URL": url,
            "SENTRY_ORG": "acme",
            "SENTRY_AUTH_TOKEN": token,
            "COLUMNS": "200",
        }
        done = _cli(env, "apply", str(roster), "--keep-missing", "--yes", cwd=tmp_path)
        assert done.returncode == 75, done.stderr
        assert "the daily invite quota was reached: 2 invites were not sent" in done.stderr
        assert not (tmp_path / "failed-members-invite.csv").exists()
        assert len([m for m in emu.members("acme") if m["pending"]]) == 100
        emu.advance(days=1)
        again = _cli(env, "apply", str(roster), "--keep-missing", "--yes", cwd=tmp_path)
        assert again.returncode == 0, again.stderr
    assert len([m for m in emu.members("acme") if m["pending"]]) == 102
