"""The command line as a person uses it (issue 14): each case in a subprocess."""

from __future__ import annotations

import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from sentry_members_async.testing import SentryEmulator

from .test_cli import cli

BASH = shutil.which("bash") or "/bin/bash"


@pytest.fixture
def served() -> Iterator[tuple[SentryEmulator, dict[str, str]]]:
    emu = SentryEmulator(seed=14, rate_limit=None)
    emu.add_org("acme", scim=True)
    emu.add_teams("acme", 3)
    emu.add_members("acme", 1499, teams=3)
    token = emu.add_token("acme")
    with emu.serve_in_thread() as url:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")},
            "SENTRY_URL": url,
            "SENTRY_ORG": "acme",
            "SENTRY_AUTH_TOKEN": token,
            "COLUMNS": "200",
        }
        yield emu, env


def test_csv_with_bom_is_read(
    served: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    emu, env = served
    source = tmp_path / "hires.csv"
    # Excel's "CSV UTF-8": a byte-order mark before the header, CRLF line ends.
    source.write_bytes("email,role,teams\r\nzoe@example.com,member,team-01\r\n".encode("utf-8-sig"))
    done = cli(env, "members", "invite", "--from-csv", str(source), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    new = emu.members("acme")[-1]
    assert (new["email"], new["teams"]) == ("zoe@example.com", {"team-01": None})


def test_latin1_csv_gets_one_line_naming_file_and_line(
    served: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    emu, env = served
    before = len(emu.requests)
    source = tmp_path / "hires.csv"
    source.write_bytes(
        "email,role,teams\nann@example.com,member,\nzoé@example.com,member,\n".encode("latin-1")
    )
    for args in (
        ("members", "invite", "--from-csv", str(source)),
        ("plan", str(source)),
    ):
        done = cli(env, *args, cwd=tmp_path)
        assert done.returncode == 2
        assert done.stderr.splitlines() == [
            f"error: {source}: line 3 is not UTF-8 (byte 0xe9); save the file as 'CSV UTF-8' "
            f"or convert it, e.g. iconv -f latin1 -t utf-8 {source} > fixed.csv"
        ]
        assert "Traceback" not in done.stderr
    assert [r.method for r in emu.requests[before:]] == []  # refused before anything is sent


def test_csv_without_email_column_one_message_for_plan_and_invite(
    served: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    _, env = served
    source = tmp_path / "people.csv"
    source.write_text("mail,role\nann@example.com,member\n")
    expected = [
        f"error: {source}: the first row must be a header with an 'email' column "
        "(columns found: mail, role)"
    ]
    for args in (
        ("members", "invite", "--from-csv", str(source)),
        ("plan", str(source)),
        ("apply", str(source), "--yes"),
    ):
        done = cli(env, *args, cwd=tmp_path)
        assert (done.returncode, done.stderr.splitlines()) == (2, expected), args


def test_positional_emails_and_from_csv_are_refused_together(
    served: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    emu, env = served
    before = len(emu.requests)
    source = tmp_path / "hires.csv"
    source.write_text("email\nbob@example.com\n")
    done = cli(env, "members", "invite", "a@b.com", "--from-csv", str(source), cwd=tmp_path)
    assert done.returncode == 2
    assert "give e-mails or --from-csv FILE, not both" in done.stderr
    assert len(emu.requests) == before


def test_broken_pipe_stops_quietly(served: tuple[SentryEmulator, dict[str, str]]) -> None:
    _, env = served
    # As `sentry-members members list --format jsonl | head -1` in a shell with pipefail.
    done = subprocess.run(
        [
            BASH,
            "-c",
            "set -o pipefail; "
            f"{shlex.quote(sys.executable)} -m sentry_members_async members list --format jsonl "
            "| head -1",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.count("\n") == 1
    assert '"role": "owner"' in done.stdout
    assert done.stderr == ""  # no "Broken pipe", no "Exception ignored"
    assert done.returncode == 141  # 128 + SIGPIPE, as Unix tools end


def test_bad_scim_token_is_named_as_such(served: tuple[SentryEmulator, dict[str, str]]) -> None:
    _, env = served
    bad = {**env, "SENTRY_SCIM_TOKEN": "sntrys_not_a_real_scim_token"}
    done = cli(bad, "scim", "users", "list")
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("error: 401 GET /api/0/organizations/acme/scim/v2/Users")
    assert "check SENTRY_SCIM_TOKEN (or --scim-token)" in line
    assert "SENTRY_AUTH_TOKEN" not in line
    assert "sntrys_not_a_real_scim_token" not in done.stderr + done.stdout


def test_errors_name_cli_flags_not_python_arguments(
    served: tuple[SentryEmulator, dict[str, str]],
) -> None:
    _, env = served
    insecure = cli({**env, "SENTRY_URL": "http://sentry.internal"}, "members", "list")
    assert insecure.returncode == 2
    assert insecure.stderr.splitlines() == [
        "error: refusing to send a token over plain http:// to a non-loopback host; "
        "use https:// or pass --allow-insecure-http"
    ]
    no_token = {k: v for k, v in env.items() if k != "SENTRY_AUTH_TOKEN"}
    missing = cli(no_token, "members", "list")
    assert missing.returncode == 2
    assert "pass --token or set SENTRY_AUTH_TOKEN" in missing.stderr
    assert "token=" not in missing.stderr
    spaced = cli({**env, "SENTRY_SCIM_TOKEN": "two words"}, "members", "list")
    assert spaced.stderr.splitlines() == [
        "error: the SCIM token (SENTRY_SCIM_TOKEN or --scim-token) contains whitespace "
        "or control characters"
    ]
    for done in (insecure, missing, spaced):
        assert "allow_insecure_http" not in done.stderr
        assert "base_url" not in done.stderr


def test_allow_insecure_http_flag_is_honoured(
    served: tuple[SentryEmulator, dict[str, str]],
) -> None:
    _, env = served
    # The flag lifts the refusal: the next failure is the network, not the configuration.
    done = cli(
        {**env, "SENTRY_URL": "http://sentry.invalid"}, "--allow-insecure-http", "members", "list"
    )
    assert done.returncode == 1
    assert "refusing" not in done.stderr
    assert "check SENTRY_URL (or --url) and your network" in done.stderr


def test_emulator_serve_help_lists_its_options(
    served: tuple[SentryEmulator, dict[str, str]],
) -> None:
    _, env = served
    done = cli(env, "emulator", "serve", "--help")
    assert done.returncode == 0
    assert done.stdout.startswith("Usage: sentry-members emulator serve")
    for option in (
        "--port",
        "--org",
        "--members",
        "--teams",
        "--seed",
        "--latency",
        "--rate-limit",
    ):
        assert option in done.stdout


def test_serve_prints_lines_a_shell_can_source(tmp_path: pathlib.Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sentry_members_async", "emulator", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(5)]
        (tmp_path / "emulator.env").write_text("".join(lines))
        # Source the lines, then use the CLI exactly as the README shows.
        done = subprocess.run(
            [
                BASH,
                "-c",
                ". ./emulator.env && "
                f"{shlex.quote(sys.executable)} -m sentry_members_async members list "
                "--role owner --format jsonl && "
                f"{shlex.quote(sys.executable)} -m sentry_members_async teams list --format csv",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert '"email": "owner@acme.example.com"' in out[0]
    assert sorted(row.split(",")[1] for row in out[2:]) == [
        "backend", "team-01", "team-02", "team-03", "team-04", "team-05",
    ]  # fmt: skip


def test_progress_without_a_terminal(
    served: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    _, env = served
    listed = cli(env, "members", "list", "--format", "csv", "-o", str(tmp_path / "m.csv"))
    assert listed.returncode == 0, listed.stderr
    *during, last = listed.stderr.splitlines()
    # A line every 10 s while it lasts (none on a quick run), one at the end; no "/None".
    assert all(re.fullmatch(r"members: \d+ done, \d+/s, 429 answers: 0", x) for x in during)
    assert re.fullmatch(r"members: 1500 done, in \d+\.\d s, 429 answers: 0", last), last
    invited = cli(env, "members", "invite", "x1@example.com", "x2@example.com", cwd=tmp_path)
    assert invited.returncode == 0, invited.stderr
    progress = [x for x in invited.stderr.splitlines() if x.startswith("inviting: ")]
    assert re.fullmatch(r"inviting: 2/2 done, in \d+\.\d s, 429 answers: 0", progress[-1])
    quiet = cli(env, "--quiet", "members", "list", "--format", "csv", "-o", str(tmp_path / "q.csv"))
    assert (quiet.returncode, quiet.stderr) == (0, "")
