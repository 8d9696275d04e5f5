"""Every ```python block of README.md and of the docs site runs, as written, against the emulator.

The emulator is seeded exactly as ``sentry-members emulator serve`` seeds it
(organization ``acme``, teams ``team-01``... and ``backend``, and the
examples' people from ``sentry_members_async.testing.people``) and served on
127.0.0.1; each block runs in a folder holding a copy of ``examples/`` (the
CSV files the examples read), and nothing else is prepared. This test runs
the blocks in-process, to check what each promises on the server's state;
``tests/test_docs_examples.py`` runs every block (shell ones too) as a reader
does, in subprocesses. The environment points the examples at it: ``SENTRY_URL``,
``SENTRY_AUTH_TOKEN``, ``SENTRY_SCIM_TOKEN``, ``SENTRY_ORG`` and
``REDIS_URL`` (a closed port: the Redis example carries on alone, as the
README says it does). The text of a block is never edited.

How a block runs, as the README says:

* a block that defines ``test_...`` functions is a pytest file: it runs with
  pytest in a subprocess, pytest-asyncio in *strict* mode, the package's
  plugin loaded from its entry point;
* a block that ``await``s at top level runs as in ``python -m asyncio``, after
  ``client = SentryClient()`` and ``acme = client.org("acme")``;
* any other block is a script (``__name__ == "__main__"``).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import inspect
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from sentry_members_async import SentryClient
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.testing.__main__ import build
from sentry_members_async.testing.conformance import CHECKS
from sentry_members_async.testing.people import add_example_people

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").rglob("*.md"))
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


@attrs.frozen
class Block:
    source: str
    line: int
    code: str

    @property
    def id(self) -> str:
        return f"{self.source}:{self.line}"


def python_blocks(path: pathlib.Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    name = path.relative_to(ROOT).as_posix()
    return [
        Block(name, text.count("\n", 0, m.start()) + 2, m.group(1)) for m in _BLOCK.finditer(text)
    ]


BLOCKS = [block for path in (README, *DOCS) for block in python_blocks(path)]


def test_the_readme_has_its_examples() -> None:
    # A change to the fence syntax must not silently leave nothing to run.
    assert len([b for b in BLOCKS if b.source == "README.md"]) >= 4
    assert any("asyncio.run(main())" in b.code for b in BLOCKS)
    for guide in ("bulk", "client", "limits-and-retries", "emulator", "redis"):
        assert any(b.source == f"docs/guides/{guide}.md" for b in BLOCKS), guide


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@attrs.define
class Served:
    emu: SentryEmulator
    url: str
    token: str
    scim_token: str
    env: dict[str, str]


@pytest.fixture
def served(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    args = argparse.Namespace(
        seed=0,
        rate_limit="none",
        latency=0.0,
        no_retry_after=False,
        org="acme",
        teams=5,
        members=100,
    )
    emu, token, scim_token = build(args)
    add_example_people(emu, "acme")  # as `sentry-members emulator serve` does
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    # The removal example asks before it removes: this reader answers no.
    monkeypatch.setattr("builtins.input", lambda prompt="": "n")
    # The examples run `sentry-members`, as a reader's shell finds it.
    bindir = str(pathlib.Path(sys.executable).parent)
    monkeypatch.setenv("PATH", bindir + os.pathsep + os.environ.get("PATH", ""))
    with emu.serve_in_thread() as url:
        env = {
            "SENTRY_URL": url,
            "SENTRY_AUTH_TOKEN": token,
            "SENTRY_SCIM_TOKEN": scim_token,
            "SENTRY_ORG": "acme",
            "REDIS_URL": f"redis://127.0.0.1:{_closed_port()}/0",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        yield Served(emu, url, token, scim_token, env)


def _is_pytest_file(code: str) -> bool:
    tree = ast.parse(code)
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
        for node in tree.body
    )


async def _run_awaiting(code: Any) -> dict[str, Any]:
    """As ``python -m asyncio`` would, with the README's ``client`` and ``acme``."""
    async with SentryClient() as client:
        namespace: dict[str, Any] = {"client": client, "acme": client.org("acme")}
        result = eval(code, namespace)  # noqa: S307 - the README's own text
        if inspect.iscoroutine(result):
            await result
    return namespace


def run_block(block: Block, tmp_path: pathlib.Path) -> dict[str, Any]:
    if _is_pytest_file(block.code):
        (tmp_path / "pytest.ini").write_text(
            "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
        )
        # A test's own emulator, not the one the variables point at (README: pytest plugin).
        env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
        (tmp_path / "test_readme_block.py").write_text(block.code)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "test_readme_block.py",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert re.search(r"\b\d+ passed\b", done.stdout), done.stdout
        return {"pytest": done.stdout}
    code = compile(block.code, block.id, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    if code.co_flags & inspect.CO_COROUTINE:
        return asyncio.run(_run_awaiting(code))
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(code, namespace)  # noqa: S102 - the README's own text
    return namespace


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.id)
def test_readme_block_runs(
    block: Block, served: Served, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    namespace = run_block(block, tmp_path)
    out = capsys.readouterr().out
    state = {m["email"]: m for m in served.emu.members("acme")}
    # What each example promises, checked on the server's state or its printed output.
    if block.source == "README.md":
        check_readme_block(block, served, namespace, out, state)
    check_guide_block(block, served, namespace, out, state)


def check_readme_block(
    block: Block, served: Served, namespace: dict[str, Any], out: str, state: dict[str, Any]
) -> None:
    if "asyncio.run(main())" in block.code:  # the Quickstart
        hire = state["new.hire@example.com"]
        assert (hire["pending"], hire["role"], hire["teams"]) == (
            True,
            "manager",
            {"backend": None},
        )
        assert out.splitlines() == ["owner@acme.example.com owner"]
    if "report.counts()" in block.code and "load_invite_rows" in block.code:
        assert out.splitlines() == ["{'created': 2, 'already_member': 1}"]
        assert state["ann@example.com"]["role"] == "manager"
        assert state["new.two@example.com"]["role"] == "manager"
        assert state["new.two@example.com"]["teams"] == {"team-01": None, "backend": None}
    if "load_roster(" in block.code:
        # Nobody the roster leaves out is removed: the seeded 100, the owner, ann, bob,
        # leaver, and carol invited.
        assert len(state) == 1 + 100 + 3 + 1
        assert state["ann@example.com"]["role"] == "manager"
        assert state["bob@example.com"]["teams"] == {"backend": None, "team-02": None}
        assert state["carol@example.com"]["pending"]
        assert "+ invite carol@example.com" in out
        assert "- remove" not in out
    if "test_offboarding" in block.code:
        assert "1 passed" in namespace["pytest"]


def check_guide_block(
    block: Block, served: Served, namespace: dict[str, Any], out: str, state: dict[str, Any]
) -> None:
    if "acme.scim.users.list(user_name=" in block.code:  # the client guide's tour
        assert state["new.hire@example.com"]["role"] == "manager"
        assert "leaver@example.com" not in state  # SCIM deactivation removes the member
    if "converter.structure(payload, Member)" in block.code:
        assert out.splitlines() == ["member {'newField': 1}", "$.user.id"]
    if "HttpxTransport(my_httpx_client)" in block.code:
        assert namespace["me"].org_role == "owner"
    if "RedisLimiter.for_token" in block.code:
        assert namespace["me"].org_role == "owner"
    if "test_my_transport" in block.code:
        assert f"{len(CHECKS)} passed" in namespace["pytest"]
    if "acme.members.watch(interval=1" in block.code:
        assert out == "invited new.hire@example.com\n"
    if "wait_for_acceptance(people" in block.code:
        assert out.splitlines()[-1] == "accepted: ['carol@example.com'] still pending: []"
        assert not state["carol@example.com"]["pending"]
    if "allow_mass_removal=True" in block.code:
        assert out.splitlines()[-1] == "nothing applied"  # the reader answered no
        assert len(state) == 1 + 100 + 3
    if "def hires()" in block.code:
        assert out == "{'created': 50}\n"
        assert all(
            state[f"hire{i:03d}@example.com"]["teams"] == {"backend": None} for i in range(50)
        )
    if "bad-hires.csv" in block.code:
        assert out.splitlines()[-1] == "1"
        assert [line.split(":")[0:2] for line in out.splitlines()[:-1]] == [
            ["row 3", " email"],
            ["row 3", " role"],
        ]
    if '"nobody@example.com", "bob@example.com"' in block.code:
        assert out.splitlines() == ["0 not_found False", "1 removed True"]
        assert "bob@example.com" not in state
    if 'DesiredMember("new.lead@example.com"' in block.code:
        assert out.splitlines()[-1] == "True"
        assert state["ann@example.com"]["role"] == "manager"
        assert state["new.lead@example.com"]["pending"]
        assert state["new.lead@example.com"]["teams"] == {"backend": None}
    if "SentryEmulator.sentry_io()  # sentry.io's limits" in block.code:
        assert out.splitlines() == [
            "{'created': 100, 'deferred': 3}",
            "InviteQuotaError " + str([f"hire{i}@example.com" for i in (100, 101, 102)]),
        ]
    if "retries: list[RetryEvent]" in block.code:
        assert out == "1 0 0\n"
    if 'emu.add_members("acme", 200' in block.code:
        assert out == "202 ['backend', 'team-02']\n"
    if "owners = [" in block.code:
        assert out == "['owner@acme.example.com']\n"
    if "ResetAfter(), calls={1}" in block.code:
        assert out == "{'created': 1} {'ann@example.com': 1}\n"
    if "test_promote" in block.code:
        assert "1 passed" in namespace["pytest"]
    # docs/guides/watching.md and scenarios.md
    if "for event in await watch.poll()" in block.code:
        assert out == ""  # the first run records the baseline
        assert any(pathlib.Path(".sentry-members-state").iterdir())
    if 'print(event.kind, event.before.role, "->", event.member.role)' in block.code:
        assert out == "role_changed member -> manager\n"
        assert state["bob@example.com"]["role"] == "manager"
    if "asyncio.timeout(0.05)" in block.code:  # the bulk guide's cancellation
        stopped = re.fullmatch(r"stopped: (\d+) done, (\d+) to run again\n", out)
        assert stopped is not None, out
        done, left = stopped.groups()
        assert int(done) + int(left) == 300
        assert int(left) > 0
        invited = [e for e in state if e.startswith("late.hire")]
        assert len(invited) == int(done)  # the report matches the server
    if 'print("ALERT", event.kind, event.email)' in block.code:
        assert out == "ALERT role_raised bob@example.com\n"
        assert state["bob@example.com"]["role"] == "manager"
    if "test_invite_and_wait" in block.code:
        assert "1 passed" in namespace["pytest"]
    if '"leaver@example.com", "gone@example.com"' in block.code:
        assert out.splitlines() == ["0 removed True", "1 not_found True"]
        assert "leaver@example.com" not in state
    if "except InsufficientRoleError" in block.code:
        assert out == "manager\n"
        assert state["bob@example.com"]["role"] == "manager"
