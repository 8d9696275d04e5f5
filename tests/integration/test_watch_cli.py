"""``sentry-members members watch`` as a subprocess against the emulator on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from sentry_members_async import SentryClient
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.watch import FileStore


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
    members = len(emu.members("acme"))
    assert (
        f"baseline recorded: {members} members and invites; changes are shown from the next run on"
    ) in first.stderr  # the first run says why it printed nothing (newcomer #26)
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
    assert "baseline" not in second.stderr + third.stderr
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


async def test_a_cron_run_beside_a_running_watcher_says_so_and_changes_nothing(
    served: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    """Issue 26 #1: the daemon and the cron run share the default key; the second refuses."""
    _, env = served
    state = tmp_path / "state"
    async with SentryClient(env["SENTRY_AUTH_TOKEN"], base_url=env["SENTRY_URL"]) as client:
        acme = client.org("acme")
        daemon = acme.members.watch(store=FileStore(state), budget=None)
        assert await daemon.poll() == []  # it holds the key from its first poll on
        await acme.members.invite("during@acme.example.com")
        cron = await asyncio.to_thread(watch, env, "--once", "--state-dir", str(state))
        assert (cron.returncode, cron.stdout) == (75, "")
        lines = cron.stderr.strip().splitlines()
        assert len(lines) == 1, cron.stderr
        assert lines[0].startswith("error: another watcher holds the checkpoint ")
        assert "run one watcher per key" in lines[0]
        assert [e.email for e in await daemon.poll()] == ["during@acme.example.com"]
        await daemon.aclose()
    after = await asyncio.to_thread(watch, env, "--once", "--state-dir", str(state))
    assert (after.returncode, after.stdout) == (0, ""), after.stderr  # nothing new, once each


def test_a_corrupt_checkpoint_is_one_line_and_reset_starts_over(
    served: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    """Issue 26 #9 (review #14): a torn checkpoint names its file and the way out."""
    emu, env = served
    state = tmp_path / "state"
    assert watch(env, "--once", "--state-dir", str(state)).returncode == 0
    (checkpoint,) = state.glob("*.json")
    checkpoint.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])
    for _ in range(2):  # the same answer every time, never a traceback
        broken = watch(env, "--once", "--state-dir", str(state))
        assert (broken.returncode, broken.stdout) == (2, ""), broken.stderr
        assert broken.stderr.count("\n") == 1, broken.stderr
        assert f"error: the checkpoint {checkpoint} is unreadable (not JSON: " in broken.stderr
        assert "--reset" in broken.stderr
    fresh = watch(env, "--once", "--reset", "--state-dir", str(state))
    assert (fresh.returncode, fresh.stdout) == (0, ""), fresh.stderr  # a new baseline
    emu.sso_login("acme", "after-reset@acme.example.com")
    later = watch(env, "--once", "--state-dir", str(state))
    assert later.returncode == 0, later.stderr
    assert [json.loads(line)["email"] for line in later.stdout.splitlines()] == [
        "after-reset@acme.example.com"
    ]


def test_an_unreachable_redis_store_is_one_line(
    served: tuple[SentryEmulator, dict[str, str]],
) -> None:
    _, env = served
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = watch(env, "--once", "--redis", f"redis://:hunter2@127.0.0.1:{port}/0")
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"error: the Redis store at redis://:***@127.0.0.1:{port}/0: ")
    assert "hunter2" not in done.stderr


def test_cron_runs_that_overlap_deliver_each_change_once(
    served: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    """Three ``--once`` runs started together, four times: a run that finds the key held
    exits 75 with one line (here 7 of 18 did, over six rounds); every change comes out once."""
    emu, env = served
    state = str(tmp_path / "state")
    args = [sys.executable, "-m", "sentry_members_async", "members", "watch", "--once"]
    assert watch(env, "--once", "--state-dir", state).returncode == 0  # the baseline
    seen: list[tuple[str, str]] = []
    for i in range(4):
        emu.sso_login("acme", f"overlap{i}@acme.example.com")  # a change before each round
        runs = [
            subprocess.Popen(
                [*args, "--state-dir", state],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        for run in runs:
            out, err = run.communicate(timeout=120)
            assert run.returncode in (0, 75), err
            if run.returncode == 75:
                assert (out, err.count("\n")) == ("", 1), err
                assert "another watcher holds the checkpoint" in err
            seen.extend((e["kind"], e["email"]) for e in map(json.loads, out.splitlines()))
    last = watch(env, "--once", "--state-dir", state)
    assert last.returncode == 0, last.stderr
    seen.extend((e["kind"], e["email"]) for e in map(json.loads, last.stdout.splitlines()))
    assert sorted(seen) == sorted(("joined", f"overlap{i}@acme.example.com") for i in range(4))


def test_a_redis_url_that_is_not_one_is_one_line(
    served: tuple[SentryEmulator, dict[str, str]],
) -> None:
    emu, env = served
    done = watch(env, "--once", "--redis", "localhost:6379")
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert done.stderr.startswith("error: --redis localhost:6379 is not a Redis URL: ")
    assert done.stderr.count("\n") == 1, done.stderr
    assert emu.requests == []
