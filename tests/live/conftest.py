"""The public API against a real Sentry 23.7.1 (``nox -s live`` starts it).

Skipped unless ``$SMA_LIVE_STATE`` names a running server's state file
(``tools/live/harness.py up`` writes it). Every check is counted
(``check.eq``); the run ends with ``live: N of M checks held``. Each test
asserts on what the server holds or received afterwards (``real.sql``,
``real.requests_since``), not only on what the SDK reports.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from sentry_members_async import Org, SentryClient
from sentry_members_async.pipeline import RetryEvent

from ..checks import Checks as BaseChecks
from .realserver import RealSentry, load

T = TypeVar("T")

_TALLY = {"checks": 0, "held": 0, "raised": 0}


class Checks(BaseChecks):
    """Counted checks (:class:`tests.checks.Checks`), and checks of a call's outcome."""

    async def ok(self, call: Awaitable[T], what: str) -> T | None:
        """Awaits ``call``: one check that it raised nothing; its result, or None."""
        try:
            result = await call
        except Exception as exc:  # the check records it; the test goes on
            self.eq(f"{type(exc).__name__}: {exc}", "no exception", what)
            return None
        self.eq("no exception", "no exception", what)
        return result

    async def raises(self, kind: type[BaseException], call: Awaitable[Any], what: str) -> Any:
        """Awaits ``call``: one check that it raised ``kind``; the exception, or None."""
        try:
            await call
        except kind as exc:
            self.eq(kind.__name__, kind.__name__, what)
            return exc
        except Exception as exc:
            self.eq(type(exc).__name__, kind.__name__, what)
            return None
        self.eq("no exception", kind.__name__, what)
        return None


@pytest.fixture
def check() -> Iterator[Checks]:
    checks = Checks(_TALLY)
    yield checks
    if checks.failures:
        pytest.fail("checks that did not hold:\n" + "\n".join(checks.failures))


class ChecksDidNotHold(AssertionError):
    """A test's checks that did not hold, listed (raised once its body has run)."""


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    # After the body: the client's retries are one more check, then every check that
    # did not hold fails the test itself (not its teardown).
    checks = pyfuncitem.funcargs.get("check")
    try:
        result = yield
    except BaseException as exc:
        # The body raised: the checks that did not hold before it are told with it.
        if isinstance(checks, Checks) and checks.failures and hasattr(exc, "add_note"):
            exc.add_note("checks that did not hold before:\n" + "\n".join(checks.failures))
            checks.failures.clear()
        raise
    if not isinstance(checks, Checks):
        return result
    client = pyfuncitem.funcargs.get("client")
    watched = pyfuncitem.funcargs.get("watched")
    if isinstance(client, SentryClient) and isinstance(watched, Watched):
        reasons = sorted({f"{e.method} {e.reason}" for e in watched.retries})
        checks.eq((client.stats.retries, reasons), (0, []), "the client retried nothing")
    if checks.failures:
        failures, checks.failures[:] = list(checks.failures), []
        raise ChecksDidNotHold("checks that did not hold:\n" + "\n".join(failures))
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # A test body that raised (outside a check) stopped before its remaining checks:
    # it counts as one check that did not hold, so the figure never reads better
    # than the run was.
    report = yield
    raised = call.when == "call" and call.excinfo is not None
    if raised and "check" in getattr(item, "fixturenames", ()):
        assert call.excinfo is not None
        if not call.excinfo.errisinstance((pytest.skip.Exception, ChecksDidNotHold)):
            _TALLY["checks"] += 1
            _TALLY["raised"] += 1
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _TALLY["checks"]:
        line = f"live: {_TALLY['held']} of {_TALLY['checks']} checks held"
        if _TALLY["raised"]:
            line += f" ({_TALLY['raised']} of them a test that raised)"
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def real() -> RealSentry:
    server = load()
    if server is None:
        if os.environ.get("SMA_LIVE_REQUIRED"):
            pytest.fail("SMA_LIVE_STATE names no running server: run `nox -s live`")
        pytest.skip("no real Sentry: `nox -s live` runs these against one")
    return server


@pytest.fixture(autouse=True)
def _fresh_invite_quota(real: RealSentry) -> None:
    """Every test starts with the whole daily invite quota (100 an org) left."""
    real.reset_invite_quota()


@pytest.fixture
def uid() -> str:
    """A suffix for this run's e-mails and slugs, so a re-run without a reset works."""
    return uuid.uuid4().hex[:8]


@dataclass
class Watched:
    """What a client of the tests did beyond answering: its retries, as its hook saw them."""

    retries: list[RetryEvent] = field(default_factory=list)


@pytest.fixture
def watched() -> Watched:
    return Watched()


@contextlib.asynccontextmanager
async def live_client(
    real: RealSentry, token: str = "owner", **options: Any
) -> AsyncIterator[SentryClient]:
    """A client of the real server with one of its tokens, on the default transport.

    ``SMA_LIVE_TRANSPORT=fresh`` is for diagnosis only (never in ``nox -s live``):
    a new connection per request, to see what the other checks say while
    kept-alive connections are lost.
    """
    session = None
    if os.environ.get("SMA_LIVE_TRANSPORT") == "fresh":
        import aiohttp

        from sentry_members_async.transports.aiohttp import AiohttpTransport

        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
        options["transport"] = AiohttpTransport(session=session)
    try:
        async with SentryClient(real.tokens[token], base_url=real.url, **options) as c:
            yield c
    finally:
        if session is not None:
            await session.close()


@pytest.fixture
async def client(real: RealSentry, watched: Watched) -> AsyncIterator[SentryClient]:
    """The owner's client on the default transport, with the SCIM token.

    On a healthy server on loopback nothing needs a retry: each test using it
    ends with one check that it retried nothing (``stats.retries``, ``on_retry``;
    made in ``pytest_pyfunc_call``, after the body).
    """
    async with live_client(
        real, scim_token=real.tokens["scim"], on_retry=watched.retries.append
    ) as c:
        yield c


@pytest.fixture
def acme(client: SentryClient, real: RealSentry) -> Org:
    return client.org(real.org)
