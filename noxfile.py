"""Sessions: tests, lint, typecheck, bench, conformance, docs, live.

Each session installs what it needs itself: ``pip install nox`` is the only
prerequisite. Run ``nox -s tests lint typecheck`` before pushing.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

#: The test dependencies are the package's `test` extra (pyproject.toml), declared
#: once for nox and for a plain ``pip install -e ".[test]" && pytest``.
TEST_EXTRA = ".[test]"
LINT_DEPS = ["ruff>=0.6", "import-linter>=2.1"]
BENCH_DEPS = ["pydantic>=2", "msgspec>=0.18", "orjson>=3"]
DOCS_DEPS = ["mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings[python]>=0.26", "ruff>=0.6"]


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
    session.run("coverage", "erase")
    session.run(
        "coverage",
        "run",
        "-m",
        "pytest",
        *(session.posargs or ["-q"]),
        env={"PYTHONASYNCIODEBUG": "1"},
    )
    session.run("coverage", "combine", "--quiet")
    session.run("coverage", "report")


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
    """The documentation site (mkdocs-material, API reference by mkdocstrings) in strict mode."""
    session.install("-e", ".[cli,httpx,redis]", *DOCS_DEPS)
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


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
