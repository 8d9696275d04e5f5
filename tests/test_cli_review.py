"""``sentry-members review`` and ``resolve`` as subprocesses against the emulator.

The two commands are registered here as ``sentry_members_async.cli`` will
register them (``cli.add_command(review_cmd)``, ``cli.add_command(resolve_cmd)``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import pathlib
import subprocess
import sys
from collections.abc import Iterator

import pytest

from sentry_members_async.testing import SentryEmulator

RUN = (
    "import sys\n"
    "from sentry_members_async.cli import cli, run\n"
    "from sentry_members_async.cli.resolve import resolve_cmd\n"
    "from sentry_members_async.cli.review import review_cmd\n"
    "cli.add_command(review_cmd)\n"
    "cli.add_command(resolve_cmd)\n"
    "sys.exit(run(sys.argv[1:]))\n"
)


@pytest.fixture
def served() -> Iterator[tuple[SentryEmulator, dict[str, str]]]:
    emu = SentryEmulator(seed=12, rate_limit=None)
    emu.add_org("acme")
    emu.add_teams("acme", 3)
    emu.add_members("acme", 120, teams=3, pending_ratio=0.0)
    emu.add_member("acme", "left@acme.example.com", teams=["team-01"])
    emu.add_member("acme", "old@acme.example.com", pending=True, invited_days_ago=40)
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


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUN, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_review_writes_the_evidence_and_diffs_against_the_last(
    served: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    emu, env = served
    first = tmp_path / "first.json"
    done = _cli(env, "review", "--json", str(first))
    assert done.returncode == 0, done.stderr
    assert "invites older than 30 days" in done.stdout
    assert "complete: 123 members on 2 pages, 123 counted at the end" in done.stdout
    data = json.loads(first.read_text())
    assert data["schema"] == "sentry-members-review/1"
    assert data["summary"]["members"] == 123
    assert data["summary"]["invitesOlderThan30Days"] == 1
    assert f"sha256 {data['contentHash']}" in done.stdout

    emu.remove_member("acme", "left@acme.example.com")
    out = tmp_path / "second"
    done = _cli(
        env, "review", "--against", str(first), "--json", f"{out}.json",
        "--csv", f"{out}.csv", "--html", f"{out}.html",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    second = json.loads(pathlib.Path(f"{out}.json").read_text())
    assert second["diff"]["counts"]["left"] == 1
    assert second["diff"]["left"][0]["email"] == "left@acme.example.com"
    rows = list(csv.DictReader(io.StringIO(pathlib.Path(f"{out}.csv").read_text())))
    assert len(rows) == 122
    assert 'data-diff="left">1<' in pathlib.Path(f"{out}.html").read_text()

    first.write_text(first.read_text().replace('"orgRole": "owner"', '"orgRole": "member"', 1))
    done = _cli(env, "review", "--against", str(first))
    assert done.returncode == 2
    assert "content hash does not match" in done.stderr


def test_resolve_prints_the_leavers_and_removes_them_with_apply(
    served: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    emu, env = served
    people = tmp_path / "people.csv"
    people.write_text(
        "email,status,employee_id\n"
        "LEFT@acme.example.com,terminated,E1\n"
        "old@acme.example.com,terminated,E2\n"
        "owner@acme.example.com,active,E0\n",
        encoding="utf-8",
    )
    done = _cli(env, "resolve", str(people))
    assert done.returncode == 0, done.stderr
    assert "leaver still present: E1: left@acme.example.com (member)" in done.stdout
    assert "    member email left@acme.example.com = email left@acme.example.com" in done.stdout
    assert "- remove left@acme.example.com (member)" in done.stdout
    assert "- remove old@acme.example.com (invite)" in done.stdout
    assert not emu.find("DELETE")

    done = _cli(env, "resolve", str(people), "--apply", "--yes")
    assert done.returncode == 0, done.stderr
    assert len(emu.find("DELETE")) == 2
    emails = {m["email"] for m in emu.members("acme")}
    assert not emails & {"left@acme.example.com", "old@acme.example.com"}
