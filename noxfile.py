"""Sessions: tests, tests-all, lint, typecheck, bench, conformance, docs, live, mutants.

Each session installs what it needs itself: ``pip install nox`` is the only
prerequisite. Run ``nox -s tests lint typecheck`` before pushing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

#: pytest-xdist's options for the suite: a worker per CPU by default (more,
#: e.g. ``SMA_TEST_WORKERS=4``, pays on a quiet machine: most of the suite's wall
#: clock is waiting), idle workers taking queued tests from busy ones.
PARALLEL = ["-n", os.environ.get("SMA_TEST_WORKERS", "auto"), "--dist", "worksteal"]

#: The test dependencies are the package's `test` extra (pyproject.toml), declared
#: once for nox and for a plain ``pip install -e ".[test]" && pytest``.
TEST_EXTRA = ".[test]"
LINT_DEPS = ["ruff>=0.6", "import-linter>=2.1"]
BENCH_DEPS = ["pydantic>=2", "msgspec>=0.18", "orjson>=3"]
DOCS_DEPS = [
    "mkdocs>=1.6",
    "mkdocs-material>=9.5",
    "mkdocstrings[python]>=0.26",
    "mkdocs-click>=0.8",
    "ruff>=0.6",
]


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, with a coverage report."""
    session.install("-e", TEST_EXTRA)
    # asyncio debug mode for the whole suite; ResourceWarning is an error (pyproject.toml).
    # `coverage run`, not pytest-cov: the package's pytest plugin is imported before
    # pytest-cov would start measuring.
    # Subprocesses (the CLI, the demo, README blocks run by pytest) are measured
    # too (`patch = ["subprocess"]` in pyproject.toml), each into its own data
    # file: combine them before the report.
    # pytest-xdist (PARALLEL): its workers are subprocesses, measured by the
    # same `patch`, each into its own data file.
    session.run("coverage", "erase")
    session.run(
        "coverage",
        "run",
        "-m",
        "pytest",
        *(session.posargs or ["-q", *PARALLEL]),
        env={"PYTHONASYNCIODEBUG": "1"},
    )
    session.run("coverage", "combine", "--quiet")
    session.run("coverage", "report")


#: ``nox -s tests-all``: the Pythons the package supports.
ALL_PYTHONS = ["3.10", "3.11", "3.12", "3.13"]

#: What ``tests-all`` runs under each of them: the tests marked
#: ``python_versions`` (behaviour that differs between Python releases, such as
#: ``asyncio.timeout()`` around a cancelled bulk run), then a quick smoke subset
#: (values, pagination, the API methods over HTTP against the emulator).
ALL_PYTHONS_SMOKE = [
    "tests/test_transport_values.py",
    "tests/test_pagination_unit.py",
    "tests/integration/test_api_methods.py",
]


def _pyenv_answers_for(versions: list[str]) -> None:
    """Let pyenv's shims answer for an installed release of each of ``versions``
    (they answer only for the selected versions), the selected one first, so that
    nox finds ``python3.10`` and the others. Nothing when pyenv is not there or
    ``PYENV_VERSION`` is set."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    if "PYENV_VERSION" in os.environ or not (root / "versions").is_dir():
        return
    chosen = root / "version"
    names = chosen.read_text(encoding="utf-8").split() if chosen.exists() else []
    for version in versions:
        releases = [p.name for p in (root / "versions").glob(f"{version}.*")]
        releases = [r for r in releases if r.replace(".", "").isdigit()]
        if releases:
            newest = max(releases, key=lambda r: tuple(int(n) for n in r.split(".")))
            names.append(newest)
    if names:
        os.environ["PYENV_VERSION"] = ":".join(dict.fromkeys(names))


_pyenv_answers_for(ALL_PYTHONS)


@nox.session(name="tests-all", python=ALL_PYTHONS)
def tests_all(session: nox.Session) -> None:
    """The version-dependent tests and a quick subset under every supported Python."""
    session.install("-e", TEST_EXTRA)
    pytest = ["pytest", "-q", "-p", "no:cacheprovider"]
    env = {"PYTHONASYNCIODEBUG": "1"}
    if session.posargs:
        session.run(*pytest, *session.posargs, env=env)
        return
    # exit code 5: no test carries the marker (yet)
    marked = session.run(
        *pytest, "-m", "python_versions", "tests", env=env, success_codes=[0, 5], silent=True
    )
    session.log(str(marked).strip())
    if " passed" not in str(marked):
        session.warn("no test is marked python_versions")
    session.run(*pytest, *ALL_PYTHONS_SMOKE, env=env)


# mutmut 3.8's stats run crashed CPython 3.11.7 (SIGSEGV in its trampoline's
# ContextVar.set, twice); it runs on 3.12.1.
@nox.session(python="3.12")
def mutants(session: nox.Session) -> None:
    """Mutation testing of the exactly-once core (mutmut 3, ``[tool.mutmut]`` in
    pyproject.toml): the modules, the fast tests, and the kill rate (>= 85 %).

    ``nox -s mutants`` mutates them all; ``nox -s mutants --
    'sentry_members_async.changes.outcomes*'`` the functions of one module.
    The survivors: ``mutmut results``, one shown by ``mutmut show NAME``.
    """
    session.install("-e", TEST_EXTRA, "mutmut>=3.3,<4")
    session.run("mutmut", "run", "--max-children", "2", *session.posargs)
    session.run("mutmut", "export-cicd-stats")
    stats = json.loads(Path("mutants/mutmut-cicd-stats.json").read_text(encoding="utf-8"))
    session.log(f"mutmut: {stats}")
    killed = stats.get("killed", 0) + stats.get("caught_by_type_check", 0)
    # a mutant no selected test reaches is missed too; those not run (outside the
    # glob given) are in "total" only
    missed = ("survived", "no_tests", "timeout", "suspicious", "segfault")
    judged = killed + sum(stats.get(kind, 0) for kind in missed)
    rate = killed / judged if judged else 0.0
    session.log(f"mutants killed: {killed} of {judged} ({rate:.0%})")
    if rate < MIN_KILL_RATE:
        session.error(f"kill rate {rate:.0%} below {MIN_KILL_RATE:.0%}: see `mutmut results`")


#: The share of mutants of the exactly-once core the tests must kill.
MIN_KILL_RATE = 0.85


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (style, function size), ruff format --check, import-linter (layers)."""
    session.install(*LINT_DEPS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # import-linter reads its contracts from pyproject.toml and analyses the
    # package's source; the package itself need not be installed.
    session.run("lint-imports", env={"PYTHONPATH": "."})
    too_long = _modules_over(MAX_MODULE_LINES)
    if too_long:
        session.error(f"modules over {MAX_MODULE_LINES} lines: {', '.join(too_long)}")


#: No module of the package is longer than this: split it by meaning.
MAX_MODULE_LINES = 500


def _modules_over(limit: int) -> list[str]:
    """The package's modules longer than ``limit`` lines, with their length."""
    found = []
    for path in sorted(Path("sentry_members_async").rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            found.append(f"{path} ({lines})")
    return found


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package and the tests."""
    session.install("-e", TEST_EXTRA)
    session.run("mypy", "--strict", "sentry_members_async", "tests")


@nox.session
def bench(session: nox.Session) -> None:
    """Runs every benchmarks/bench_*.py script and prints its table."""
    session.install("-e", ".[redis]", *BENCH_DEPS)
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session
def conformance(session: nox.Session) -> None:
    """Schemathesis against Sentry's OpenAPI, served by the emulator: 0 failures."""
    session.install("-e", ".", "schemathesis>=4")
    session.run("python", "tests/conformance/run.py")


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs-material, API reference by mkdocstrings, the CLI
    reference by mkdocs-click) in strict mode, then the checks of the built site
    (no unrendered role, every internal link a file, a page per command)."""
    session.install("-e", TEST_EXTRA, *DOCS_DEPS)
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})
    session.run(
        "pytest", "-q", "-p", "no:cacheprovider", "tests/test_docs_build.py",
        env={"SMA_DOCS_SITE": "site"},
    )  # fmt: skip


MULTI_BACKEND_TESTS = ["tests/integration/test_idp_removal.py"]

#: The servers of ``nox -s live``: (environment of the harness, the variable that
#: names its state file to the tests). The main one is seeded as tools/live/seed.py
#: says; the other two give the differential suite the generic limiter's 429s
#: and a self-hosted install's answers (no rate-limit headers).
LIVE_SERVERS = (
    ({}, "SMA_LIVE_STATE"),
    ({"SMA_LIVE_INSTANCE": "11", "SMA_LIVE_RATELIMIT": "3"}, "SMA_LIVE_STATE_RATELIMIT"),
    ({"SMA_LIVE_INSTANCE": "12", "SMA_LIVE_SELF_HOSTED": "1"}, "SMA_LIVE_STATE_SELF_HOSTED"),
)


@nox.session
def live(session: nox.Session) -> None:
    """The SDK and the emulator against a real Sentry 23.7.1 (tools/live/harness.py).

    Starts the servers (installing Sentry into a cache directory the first
    time, about 3.5 minutes; then seconds), runs ``tests/live`` (the public API
    on the real server) and ``tests/differential`` (the same raw requests to the
    real server and to the emulator's 23.7 profile), and stops what it started.
    """
    session.install("-e", TEST_EXTRA)
    harness = "tools/live/harness.py"
    states = {}
    try:
        for env, variable in LIVE_SERVERS:
            # Exits 3 with "live-sentry: cannot run: <what is missing>" when it cannot.
            session.run("python", harness, "up", env=env)
            path = session.run("python", harness, "state", env=env, silent=True)
            states[variable] = str(path).strip()
        session.run(
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            # and the integration bodies that run on every backend (MULTI_BACKEND
            # in tests/integration/conftest.py), here against the real server too
            *(session.posargs or ["tests/live", "tests/differential", *MULTI_BACKEND_TESTS]),
            env=states,
        )
    finally:
        for env, _ in LIVE_SERVERS:
            session.run("python", harness, "down", env=env)
