"""Every ```python and ```bash block of README.md and docs/ runs where people run it.

Each block runs in a subprocess, in a fresh folder holding a copy of the
checkout's ``examples/`` (the CSV files the examples read), after the README's
own setup block (``sentry-members emulator serve --detach > emulator.env``
then ``. ./emulator.env``), in the environment that setup exports, with no
other preparation: the people the examples name come from the emulator's seed
(``sentry_members_async/testing/people.py``), exactly as for a reader. The
text of a block is never edited. Two things only differ from a reader's
shell: ``SENTRY_EMULATOR_PORT=0`` (the emulator takes a free port instead of
8765, so test runs can overlap) and ``REDIS_URL`` names a closed port (the
Redis examples carry on alone, as the docs say they do).

How a block runs:

* ```bash: as a ``bash -euo pipefail`` script after the setup;
* ```python that defines ``test_...`` functions: ``python -m pytest`` on it,
  pytest-asyncio in strict mode (the package's plugin loaded from its entry
  point);
* ```python that ``await``s at top level: as in ``python -m asyncio``, after
  ``client = SentryClient()`` and ``acme = client.org("acme")``;
* any other ```python: ``python block.py``.

A block whose first line is ``# [not run by the docs tests: REASON]`` is not
run; the marker is in the Markdown, visible to readers, and the test reports
it as skipped with its reason (``pytest -rs`` lists them).
"""

from __future__ import annotations

import ast
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys

import attrs
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_FENCE = re.compile(r"^```(python|bash|sh|shell)[^\n]*\n(.*?)^```", re.S | re.M)
MARK = re.compile(r"\A# \[not run by the docs tests: (?P<reason>[^\]]+)\]\s*\n")
#: The README's setup: what a reader runs before any example.
SETUP_MARK = "emulator serve --detach > emulator.env"
TIMEOUT = 240

_AWAIT_RUNNER = '''\
"""As ``python -m asyncio`` runs pasted code, after the docs' two lines."""
import ast, asyncio, inspect, sys

from sentry_members_async import SentryClient


async def main(path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        code = compile(handle.read(), path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    client = SentryClient()
    namespace = {"__name__": "__main__", "client": client, "acme": client.org("acme")}
    try:
        result = eval(code, namespace)
        if inspect.iscoroutine(result):
            await result
    finally:
        await client.aclose()


asyncio.run(main(sys.argv[1]))
'''


@attrs.frozen
class Block:
    source: str
    line: int
    lang: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.source}:{self.line}"

    @property
    def skip_reason(self) -> str | None:
        match = MARK.match(self.code)
        return match["reason"] if match else None


def blocks(path: pathlib.Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    name = path.relative_to(ROOT).as_posix()
    return [
        Block(name, text.count("\n", 0, m.start()) + 1, m.group(1), m.group(2))
        for m in _FENCE.finditer(text)
    ]


BLOCKS = [block for path in SOURCES for block in blocks(path)]
SETUP = [b for b in BLOCKS if b.source == "README.md" and SETUP_MARK in b.code]


def test_the_readme_has_one_setup_and_examples() -> None:
    assert len(SETUP) == 1, "README.md needs exactly one block with " + SETUP_MARK
    assert SETUP[0].skip_reason is None
    assert len(BLOCKS) >= 40  # a change of fence syntax must not leave nothing to run
    marked = [b for b in BLOCKS if b.skip_reason is not None]
    # The blocks that cannot run here are few, and each says why in the Markdown.
    assert len(marked) <= 10, [b.id for b in marked]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _environment() -> dict[str, str]:
    """A reader's shell: none of the test run's SENTRY_* settings, the package's tools on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    bindir = str(pathlib.Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["SENTRY_EMULATOR_PORT"] = "0"
    env["REDIS_URL"] = f"redis://127.0.0.1:{_closed_port()}/0"
    return env


def _defines_tests(code: str) -> bool:
    tree = ast.parse(code)
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
        for node in tree.body
    )


def _awaits(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return True  # 'await' outside a function: only top-level-await mode compiles it
    compiled = compile(code, "<block>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    return bool(compiled.co_flags & 0x80)  # CO_COROUTINE


def command_for(block: Block, folder: pathlib.Path) -> str:
    """The shell line a reader would type for ``block``, with its file written in ``folder``."""
    if block.lang != "python":
        return block.code
    if _defines_tests(block.code):
        (folder / "pytest.ini").write_text(
            "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
        )
        (folder / "test_block.py").write_text(block.code, encoding="utf-8")
        return "python -m pytest -q -p no:cacheprovider test_block.py"
    (folder / "block.py").write_text(block.code, encoding="utf-8")
    if _awaits(block.code):
        (folder / "_await_runner.py").write_text(_AWAIT_RUNNER, encoding="utf-8")
        return "python _await_runner.py block.py"
    return "python block.py"


def run_block(block: Block, folder: pathlib.Path) -> subprocess.CompletedProcess[str]:
    shutil.copytree(
        ROOT / "examples", folder / "examples", ignore=shutil.ignore_patterns("__pycache__")
    )
    setup = SETUP[0].code
    body = "" if block == SETUP[0] else command_for(block, folder)
    script = (
        "set -euo pipefail\n"
        # only the emulator the setup started (never `kill 0`: the process group)
        'trap \'[ -z "${SENTRY_EMULATOR_PID:-}" ] || kill "$SENTRY_EMULATOR_PID" 2>/dev/null'
        " || true' EXIT\n"
        f"{setup}\n"
        "echo '--- the example ---'\n"
        f"{body}\n"
    )
    return subprocess.run(
        [shutil.which("bash") or "/bin/bash", "-c", script],
        cwd=folder,
        env=_environment(),
        input="n\n",  # a reader who answers "no" when an example asks before removing
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        start_new_session=True,  # nothing a block signals can reach pytest or nox
    )


#: What a block prints, where its text promises it (a comment beside the line).
EXPECTED = {
    "{'created': 2, 'already_member': 1}": "{'created': 2, 'already_member': 1}",
    "print(owners)  # ['owner@acme.example.com']": "['owner@acme.example.com']",
    "# 1 removed True": "1 removed True",
    "accepted: new.one@example.com": "accepted: new.one@example.com",
    "# accepted: ['carol@example.com'] still pending: []": (
        "accepted: ['carol@example.com'] still pending: []"
    ),
    'print("nothing applied")': "nothing applied",
}


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.id)
def test_docs_block_runs(block: Block, tmp_path: pathlib.Path) -> None:
    if block.skip_reason is not None:
        pytest.skip(f"marked in {block.source}: {block.skip_reason}")
    done = run_block(block, tmp_path)
    report = f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    assert done.returncode == 0, report
    assert "Traceback" not in done.stderr, report
    out = done.stdout.split("--- the example ---\n", 1)[-1]
    if block.lang == "python" and _defines_tests(block.code):
        assert re.search(r"\b\d+ passed\b", out), report
    for promise, printed in EXPECTED.items():
        if promise in block.code:
            assert printed in out, report
