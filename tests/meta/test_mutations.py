"""The suite can fail: two one-line mutations of the exactly-once core each fail a test.

Each case copies the package and the tests into a temporary directory, applies
one mutation to the copy (never to the real files), and runs a handful of the
tests that guard that rule against the copy in a subprocess. The mutation must
make at least one of them *fail* (an assertion, not a collection error).

* ``invite-posted-twice``: ``members.invite`` sends its POST, then sends it again
  and ignores the second answer. The emulator refuses the second invite ("already
  invited"), so counting the members it *kept* cannot see it; the tests that
  count the POSTs it *received* (the request log) must.
* ``no-confirmation-read``: after a POST whose answer was lost, the client does
  not look the invite up before deciding; it re-sends at once.

When a refactor moves the code a mutation anchors on, the case fails with
"anchor not found": point its pattern at the new place (``MUTATIONS`` below).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.meta


@dataclass(frozen=True)
class Mutation:
    name: str
    #: the module, relative to the repository
    path: str
    #: a regular expression that must match exactly once in that module
    pattern: str
    #: the replacement (``re.sub`` template, or a function of the match)
    replace: str | Callable[[re.Match[str]], str]
    #: the tests run against the mutated copy (node ids relative to the repository)
    tests: tuple[str, ...]


def _post_twice(match: re.Match[str]) -> str:
    """The invite's POST, then the same POST again with its answer ignored."""
    indent, name, call = match["indent"], match["name"], match["call"]
    again = call.replace("\n", "\n    ")
    return (
        f"{indent}{name} = {call}\n"
        f'{indent}with __import__("contextlib").suppress(Exception):\n'
        f"{indent}    {again}"
    )


LIMITS = "tests/integration/test_limits_and_retries.py"
MATRIX = "tests/reliability/test_fault_matrix.py"

MUTATIONS = [
    Mutation(
        "invite-posted-twice",
        "sentry_members_async/api/members.py",
        # the POST of members.invite: `answer = await self._client.create("POST", MEMBERS, ...)`
        r'(?P<indent>[ \t]+)(?P<name>\w+) = (?P<call>await self\._client\.create\(\s*"POST",'
        r"\s*MEMBERS\b.*?\n(?P=indent)\))",
        _post_twice,
        (
            f"{LIMITS}::test_invite_retried_after_503_creates_once",
            f"{LIMITS}::test_invite_whose_answer_was_lost_is_not_sent_twice",
            f"{MATRIX}::test_fault[invite-503]",
            f"{MATRIX}::test_fault[bulk-invite-503]",
        ),
    ),
    Mutation(
        "no-confirmation-read",
        "sentry_members_async/pipeline/base.py",
        # SentryClient._run: a lost answer to a create is confirmed by a read first
        r"found = await confirm\(\)",
        "found = None",
        (
            f"{LIMITS}::test_invite_whose_answer_was_lost_is_not_sent_twice",
            f"{MATRIX}::test_fault[invite-reset-after]",
            f"{MATRIX}::test_fault[bulk-invite-reset-after]",
            f"{MATRIX}::test_fault[scim-create-reset-after]",
        ),
    ),
]


def _copy(dest: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in ("sentry_members_async", "tests"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")


def _mutate(dest: Path, mutation: Mutation) -> None:
    module = dest / mutation.path
    source = module.read_text(encoding="utf-8")
    found = re.findall(mutation.pattern, source, flags=re.DOTALL)
    assert len(found) == 1, (
        f"{mutation.name}: anchor not found exactly once in {mutation.path} "
        f"({len(found)} matches): update MUTATIONS in {Path(__file__).name}"
    )
    mutated = re.sub(mutation.pattern, mutation.replace, source, flags=re.DOTALL)
    assert mutated != source
    module.write_text(mutated, encoding="utf-8")


def _run(dest: Path, tests: tuple[str, ...]) -> tuple[int, dict[str, int], str]:
    """Run ``tests`` on the copy; (exit code, junit counts, output)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    # The copy first: the package, its pytest plugin and the tests all come from it.
    env["PYTHONPATH"] = str(dest)
    where = subprocess.run(
        [sys.executable, "-c", "import sentry_members_async as p; print(p.__file__)"],
        cwd=dest, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert Path(where.strip()).is_relative_to(dest), where
    report = dest / "junit.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         f"--junitxml={report}", *tests],
        cwd=dest, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    counts = {"tests": 0, "failures": 0, "errors": 0}
    if report.exists():
        suite = ET.parse(report).getroot().find("testsuite")  # noqa: S314 (our own file)
        assert suite is not None
        counts = {k: int(suite.get(k, "0")) for k in counts}
    return proc.returncode, counts, output


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_a_mutation_of_the_exactly_once_core_fails_a_test(
    mutation: Mutation, tmp_path: Path
) -> None:
    _copy(tmp_path)
    _mutate(tmp_path, mutation)
    code, counts, output = _run(tmp_path, mutation.tests)
    assert counts["tests"] == len(mutation.tests), output[-3000:]
    assert counts["errors"] == 0, output[-3000:]
    assert counts["failures"] >= 1, f"{mutation.name}: no test failed\n{output[-3000:]}"
    assert code == 1, output[-3000:]
