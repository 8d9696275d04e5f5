"""The command line as a subprocess against the emulator served on loopback."""

from __future__ import annotations

import csv
import json
import os
import pathlib
import subprocess
import sys
from collections.abc import Iterator

import pytest

from sentry_members_async.testing import SentryEmulator


@pytest.fixture
def served() -> Iterator[tuple[SentryEmulator, dict[str, str]]]:
    emu = SentryEmulator(seed=12, rate_limit=None)
    emu.add_org("acme", scim=True)
    emu.add_teams("acme", 3)
    emu.add_members("acme", 249, teams=3)
    token = emu.add_token("acme")
    with emu.serve_in_thread() as url:
        env = {
            **os.environ,
            "SENTRY_URL": url,
            "SENTRY_ORG": "acme",
            "SENTRY_AUTH_TOKEN": token,
            "COLUMNS": "200",
        }
        yield emu, env


def cli(
    env: dict[str, str], *args: str, cwd: pathlib.Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sentry_members_async", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


def test_csv_export_round_trips_every_member(
    served: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    emu, env = served
    out = tmp_path / "members.csv"
    done = cli(env, "members", "list", "--format", "csv", "--output", str(out))
    assert done.returncode == 0, done.stderr
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    state = emu.members("acme")
    assert len(rows) == 250
    assert [(r["id"], r["email"], r["role"], r["pending"]) for r in rows] == [
        (str(m["id"]), m["email"], m["role"], str(m["pending"])) for m in state
    ]
    jsonl = cli(env, "members", "list", "--format", "jsonl", "--role", "owner")
    assert [json.loads(line)["role"] for line in jsonl.stdout.splitlines()] == ["owner"]
    assert env["SENTRY_AUTH_TOKEN"] not in done.stdout + done.stderr + jsonl.stdout + jsonl.stderr


def test_invite_from_csv_with_bad_rows(
    served: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    emu, env = served
    source = tmp_path / "hires.csv"
    source.write_text(
        "email,role,teams\n"
        "ok1@example.com,member,team-01\n"
        "not-an-email,member,\n"
        "ok2@example.com,manager,\n"
        "ok3@example.com,pirate,\n"
        "ok4@example.com,member,team-99\n"
        "ok5@example.com,,team-02;team-03\n"
    )
    done = cli(env, "members", "invite", "--from-csv", str(source), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    invalid = [line for line in done.stderr.splitlines() if line.startswith("invalid:")]
    assert len(invalid) == 3
    assert "row 3: email" in invalid[0]
    assert "row 5: role: unknown role 'pirate'" in invalid[1]
    assert "row 6: teams: unknown team 'team-99'" in invalid[2]
    assert "created" in done.stdout
    state = {m["email"]: m for m in emu.members("acme")}
    for email in ("ok1@example.com", "ok2@example.com", "ok5@example.com"):
        assert state[email]["pending"]
    assert state["ok5@example.com"]["teams"] == {"team-02": None, "team-03": None}
    assert "ok3@example.com" not in state
    with (tmp_path / "failed-members-invite.csv").open(newline="") as handle:
        failed = list(csv.DictReader(handle))
    assert [r["email"] for r in failed] == ["not-an-email", "ok3@example.com", "ok4@example.com"]
    assert [r["teams"] for r in failed] == ["", "", "team-99"]
    assert (
        "3 rows not done written to failed-members-invite.csv (run them again with: "
        "sentry-members members invite --from-csv failed-members-invite.csv)"
    ) in done.stderr


def test_bad_token_exits_2_with_one_line(served: tuple[SentryEmulator, dict[str, str]]) -> None:
    _, env = served
    bad = {**env, "SENTRY_AUTH_TOKEN": "sntryu_not_a_real_token_4242"}
    done = cli(bad, "members", "list")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: 401 GET /api/0/organizations/acme/members/: Invalid token")
    assert "SENTRY_AUTH_TOKEN" in lines[0]
    assert "sntryu_not_a_real_token_4242" not in done.stderr + done.stdout


def test_missing_org_and_usage_errors(served: tuple[SentryEmulator, dict[str, str]]) -> None:
    _, env = served
    no_org = {k: v for k, v in env.items() if k != "SENTRY_ORG"}
    done = cli(no_org, "members", "list")
    assert done.returncode == 2
    assert "SENTRY_ORG" in done.stderr
    assert cli(env, "members", "invite").returncode == 2


def test_single_item_commands(served: tuple[SentryEmulator, dict[str, str]]) -> None:
    emu, env = served
    target = next(m for m in emu.members("acme") if m["role"] == "member" and not m["pending"])
    done = cli(env, "members", "set-role", target["email"], "manager")
    assert (done.returncode, done.stdout.strip()) == (
        0,
        f"updated: {target['email']} (role manager)",
    )
    got = cli(env, "members", "get", target["email"], "--format", "json")
    assert json.loads(got.stdout)["role"] == "manager"
    assert cli(env, "teams", "create", "platform").returncode == 0
    assert "platform" in [t["slug"] for t in emu.teams("acme")]
    added = cli(env, "teams", "add", "platform", target["email"])
    assert added.returncode == 0, added.stderr
    assert "platform" in {m["id"]: m for m in emu.members("acme")}[target["id"]]["teams"]
    removed = cli(env, "members", "remove", target["email"])
    assert removed.returncode == 0
    assert target["id"] not in [m["id"] for m in emu.members("acme")]
    missing = cli(env, "members", "get", "999999")
    assert missing.returncode == 3  # not found
    assert missing.stderr.startswith("error: 404 ")


def test_plan_and_apply(
    served: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    emu, env = served
    keep = emu.members("acme")[1]
    roster = tmp_path / "roster.csv"
    roster.write_text(
        f"email,role,teams\n{keep['email']},manager,\nnew@example.com,member,team-01\n"
    )
    plan = cli(env, "plan", str(roster), "--keep-missing")
    assert plan.returncode == 0
    assert f"~ {keep['email']}: role {keep['role']} -> manager" in plan.stdout
    assert "+ invite new@example.com as member to team-01" in plan.stdout
    refused = cli(env, "apply", str(roster), "--keep-missing")
    assert refused.returncode == 2  # not a terminal and no --yes
    applied = cli(env, "apply", str(roster), "--keep-missing", "--yes")
    assert applied.returncode == 0, applied.stderr
    state = {m["email"]: m for m in emu.members("acme")}
    assert state[keep["email"]]["role"] == "manager"
    assert state["new@example.com"]["teams"] == {"team-01": None}


def test_demo_runs_small(tmp_path: pathlib.Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sentry_members_async",
            "demo",
            "--members",
            "400",
            "--invites",
            "30",
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert "created │    30" in done.stdout
    assert "All done." in done.stdout
    assert (tmp_path / "members.csv").read_text().count("\n") == 401


def test_progress_counts_the_429s_of_its_own_work() -> None:
    from sentry_members_async import SentryClient
    from sentry_members_async.cli.output import Reporter

    client = SentryClient("t", base_url="http://127.0.0.1:1")
    client.stats.rate_limited = 3  # answered before this work began
    reporter = Reporter("inviting", 10, client, quiet=True)
    assert reporter.limited == 0
    client.stats.rate_limited += 2
    assert reporter.limited == 2
