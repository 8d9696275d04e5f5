"""``sentry-members members watch`` as a subprocess against the emulator on loopback."""

from __future__ import annotations

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
    emu = SentryEmulator(seed=21, rate_limit=None)
    emu.add_org("acme")
    emu.add_members("acme", 120, pending_ratio=0.1)
    token = emu.add_token("acme")
    with emu.serve_in_thread() as url:
        env = {**os.environ, "SENTRY_URL": url, "SENTRY_ORG": "acme", "SENTRY_AUTH_TOKEN": token}
        yield emu, env


def watch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sentry_members_async", "members", "watch", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_once_prints_what_changed_since_the_last_run_as_json_lines(
    served: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    emu, env = served
    state = str(tmp_path / "state")
    first = watch(env, "--once", "--state-dir", state)
    assert (first.returncode, first.stdout) == (0, ""), first.stderr
    invite = next(m for m in emu.members("acme") if m["pending"])
    emu.accept_invite("acme", invite["email"])
    emu.sso_login("acme", "newcomer@acme.example.com")
    second = watch(env, "--once", "--state-dir", state)
    assert second.returncode == 0, second.stderr
    lines = [json.loads(line) for line in second.stdout.splitlines()]
    assert [(e["kind"], e["email"]) for e in lines] == [
        ("joined", invite["email"]),
        ("joined", "newcomer@acme.example.com"),
    ]
    assert lines[0]["before"]["pending"] is True
    assert lines[0]["member"]["pending"] is False
    third = watch(env, "--once", "--state-dir", state)
    assert (third.returncode, third.stdout) == (0, "")
    assert env["SENTRY_AUTH_TOKEN"] not in first.stderr + second.stderr + third.stderr


def test_streams_readable_lines_and_stops_after_max_events(
    served: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    emu, env = served
    done = watch(
        env,
        "--state-dir",
        str(tmp_path),
        "--emit-initial",
        "--interval",
        "0.01",
        "--max-events",
        "3",
        "--format",
        "text",
    )
    assert done.returncode == 0, done.stderr
    rows = emu.members("acme")[:3]
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    for line, row in zip(lines, rows, strict=True):
        kind = "invited" if row["pending"] else "joined"
        assert f"acme {kind}" in line
        assert f"{row['email']} (member {row['id']}) as {row['role']}" in line


def test_bad_budget_is_a_usage_error(served: tuple[SentryEmulator, dict[str, str]]) -> None:
    emu, env = served
    done = watch(env, "--once", "--budget", "3")
    assert done.returncode == 2
    assert "budget" in done.stderr
    assert emu.requests == []
