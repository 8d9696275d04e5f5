"""``sentry-members plan`` / ``apply`` guards, as a subprocess against the emulator on loopback:
nothing is removed unless asked, a mass removal needs ``--max-removals``, removals need
``--yes`` without a terminal, and the question names them on one."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from collections.abc import Iterator

import click
import pytest

from sentry_members_async.cli import roster as roster_cli
from sentry_members_async.models import MemberId
from sentry_members_async.reconcile import Plan, RemoveMember
from sentry_members_async.testing import SentryEmulator


@pytest.fixture
def served() -> Iterator[tuple[SentryEmulator, dict[str, str]]]:
    emu = SentryEmulator(seed=13, rate_limit=None)
    emu.add_org("acme")
    emu.add_members("acme", 100, pending_ratio=0.0, roles={"member": 1.0})
    token = emu.add_token("acme")
    with emu.serve_in_thread() as url:
        env = {**os.environ, "SENTRY_URL": url, "SENTRY_ORG": "acme", "SENTRY_AUTH_TOKEN": token}
        yield emu, env


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sentry_members_async", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_removals_only_when_asked_and_within_the_limit(
    served: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    emu, env = served
    owner = emu.members("acme")[0]["email"]
    roster = tmp_path / "roster.csv"
    roster.write_text(f"email,role\n{owner},owner\n")

    kept = cli(env, "plan", str(roster))
    assert (kept.returncode, kept.stdout) == (0, "no changes\n")

    refused = cli(env, "plan", str(roster), "--remove-missing")
    assert refused.returncode != 0
    assert "would remove 100 of its 101 members" in refused.stderr
    assert "--max-removals 100" in refused.stderr

    unconfirmed = cli(env, "apply", str(roster), "--remove-missing", "--max-removals", "100")
    assert unconfirmed.returncode == 2  # not a terminal and no --yes
    assert unconfirmed.stdout.splitlines()[-1] == "100 changes: 100 removals"
    assert len(emu.members("acme")) == 101
    assert not emu.find("DELETE")

    applied = cli(env, "apply", str(roster), "--remove-missing", "--max-removals", "100", "--yes")
    assert applied.returncode == 0, applied.stderr
    assert [m["email"] for m in emu.members("acme")] == [owner]

    contradiction = cli(env, "plan", str(roster), "--max-removals", "3")
    assert contradiction.returncode != 0
    assert "--max-removals needs --remove-missing" in contradiction.stderr


def test_the_question_names_the_removals(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(click, "confirm", lambda text, **_: asked.append(text))
    plan = Plan(
        "acme",
        tuple(RemoveMember(MemberId(str(i)), f"m{i}@example.com", "member") for i in (1, 2, 3)),
    )
    roster_cli._confirm(plan, yes=False)
    roster_cli._confirm(plan, yes=True)  # --yes: no question
    assert asked == ["apply 3 changes, removing 3 members?"]
