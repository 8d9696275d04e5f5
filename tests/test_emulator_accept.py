"""A served emulator plays the invitee: ``POST /_emulator/organizations/{org}/accept/``,
``sentry-members emulator accept``, and ``emulator serve --detach`` with the examples' people."""

from __future__ import annotations

import json
import os
import pathlib
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from yarl import URL

from sentry_members_async.cli import run
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.testing.people import EXAMPLE_PEOPLE, add_example_people
from sentry_members_async.transports.base import Headers, Request, Response

ACCEPT = "/_emulator/organizations/acme/accept/"


@pytest.fixture
def emu() -> SentryEmulator:
    emulator = SentryEmulator(seed=0, rate_limit=None)
    emulator.add_org("acme", scim=True)
    emulator.add_team("acme", "backend")
    emulator.add_member("acme", "pending@example.com", pending=True)
    emulator.add_member("acme", "sso@example.com", pending=True)
    return emulator


async def _post(emu: SentryEmulator, token: str, body: object) -> Response:
    request = Request(
        "POST",
        URL(f"http://localhost{ACCEPT}"),
        Headers({"Authorization": f"Bearer {token}", "Content-Type": "application/json"}),
        json.dumps(body).encode(),
    )
    return await emu.handle(request)


async def test_the_endpoint_accepts_a_pending_invite(emu: SentryEmulator) -> None:
    token = emu.add_token("acme")
    before = next(m for m in emu.members("acme") if m["email"] == "pending@example.com")
    response = await _post(emu, token, {"email": "pending@example.com"})
    assert response.status == 200
    after = next(m for m in emu.members("acme") if m["email"] == "pending@example.com")
    assert (after["id"], after["pending"], after["flags"].get("sso:linked")) == (
        before["id"],
        False,
        False,
    )
    assert json.loads(response.body)["id"] == str(before["id"])


async def test_by_sso_the_member_is_linked(emu: SentryEmulator) -> None:
    response = await _post(emu, emu.add_token("acme"), {"email": "sso@example.com", "sso": True})
    assert response.status == 200
    member = next(m for m in emu.members("acme") if m["email"] == "sso@example.com")
    assert not member["pending"]
    assert member["flags"]["sso:linked"] is True


async def test_refusals(emu: SentryEmulator) -> None:
    owner = emu.add_token("acme")
    missing = await _post(emu, owner, {"email": "nobody@example.com"})
    assert missing.status == 404
    assert "No pending invite for nobody@example.com" in missing.body.decode()
    assert (await _post(emu, owner, {})).status == 400
    assert (await _post(emu, owner, {"email": "pending@example.com", "sso": "yes"})).status == 400
    reader = emu.add_token("acme", ["member:read"], role="member")
    assert (await _post(emu, reader, {"email": "pending@example.com"})).status == 403
    assert (await _post(emu, "sntryu_nope", {"email": "pending@example.com"})).status == 401
    assert all(m["pending"] for m in emu.members("acme") if m["email"].endswith("@example.com"))


def test_the_command_accepts_and_says_so(
    emu: SentryEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token = emu.add_token("acme")
    with emu.serve_in_thread() as url:
        for name, value in {
            "SENTRY_URL": url,
            "SENTRY_AUTH_TOKEN": token,
            "SENTRY_ORG": "acme",
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("SENTRY_SCIM_TOKEN", raising=False)
        code = run(["emulator", "accept", "pending@example.com", "nobody@example.com"])
    captured = capsys.readouterr()
    assert code == 1  # one of the two had no invite
    assert captured.out == "accepted: pending@example.com (e-mail link)\n"
    assert "404 POST /_emulator/organizations/acme/accept/" in captured.err
    assert token not in captured.err
    posts = [(r.path, r.status) for r in emu.find("POST", "/_emulator/*")]
    assert posts == [(ACCEPT, 200), (ACCEPT, 404)]


def test_example_people_are_added_once(emu: SentryEmulator) -> None:
    assert add_example_people(emu, "acme") == [p.email for p in EXAMPLE_PEOPLE]
    assert add_example_people(emu, "acme") == []
    bob = next(m for m in emu.members("acme") if m["email"] == "bob@example.com")
    assert (bob["pending"], bob["role"], bob["teams"]) == (False, "member", {"backend": None})


@pytest.fixture
def detached(tmp_path: pathlib.Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    env["SENTRY_EMULATOR_PORT"] = "0"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sentry_members_async",
            "emulator",
            "serve",
            "--detach",
            "--members",
            "5",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    exported = dict(
        shlex.split(line.removeprefix("export "))[0].split("=", 1)
        for line in done.stdout.splitlines()
        if line.startswith("export ")
    )
    yield exported
    os.kill(int(exported["SENTRY_EMULATOR_PID"]), signal.SIGTERM)


def test_detach_returns_once_it_answers_with_the_people(detached: dict[str, str]) -> None:
    assert set(detached) == {
        "SENTRY_URL",
        "SENTRY_ORG",
        "SENTRY_AUTH_TOKEN",
        "SENTRY_SCIM_TOKEN",
        "SENTRY_EMULATOR_PID",
    }
    env = {**os.environ, **detached}
    listed = subprocess.run(
        [sys.executable, "-m", "sentry_members_async", "members", "list", "--format", "csv", "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    emails = {line.split(",")[1] for line in listed.stdout.splitlines()[1:]}
    assert {p.email for p in EXAMPLE_PEOPLE} <= emails
    assert len(emails) == 1 + 5 + len(EXAMPLE_PEOPLE)
