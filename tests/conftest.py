"""Shared fixtures: a scriptable aiohttp server on 127.0.0.1 that records requests."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, settings
from yarl import URL

# `nox -s tests` sets PYTHONASYNCIODEBUG=1: asyncio's debug mode for the event loops
# the suite runs in threads (the emulator's server, asyncio.run). The CLIs, emulators
# and bots the tests start as subprocesses must not inherit it: under load its
# "Executing <Task ...> took 0.2 seconds" lines land in the very stderr and stdout
# those tests read. So the variable leaves the environment (SMA_TESTS_ASYNCIO_DEBUG
# carries it to pytest-xdist's workers) and the loops of this process get debug mode
# from the event loop policy. (pytest-asyncio sets its test loops' debug mode itself,
# from its asyncio_debug option.)
if os.environ.pop("PYTHONASYNCIODEBUG", None):
    os.environ["SMA_TESTS_ASYNCIO_DEBUG"] = "1"


class _DebugLoops(asyncio.DefaultEventLoopPolicy):
    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        loop = super().new_event_loop()
        loop.set_debug(True)
        return loop


if os.environ.get("SMA_TESTS_ASYNCIO_DEBUG"):
    asyncio.set_event_loop_policy(_DebugLoops())

# The property tests share the machine with the rest of the suite (pytest-xdist
# workers, other runs): a slow example or a slow draw there is the machine's
# load, not a bug, so neither the deadline nor the too_slow health check applies.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")

TOKEN = "sntrys_TESTTOKEN_a1b2c3d4e5f6"
SCIM_TOKEN = "scimtoken_SECRET_9f8e7d6c"

ServerHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    raw_path: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    host: str


@dataclass
class RecordingServer:
    """An aiohttp server whose answers are scripted by ``handler``."""

    url: URL
    seen: list[Seen] = field(default_factory=list)
    handler: ServerHandler | None = None


async def _default(request: web.Request) -> web.StreamResponse:
    return web.json_response({"ok": True})


@pytest.fixture
async def server() -> AsyncIterator[RecordingServer]:
    state = RecordingServer(url=URL("http://127.0.0.1"))

    async def catch_all(request: web.Request) -> web.StreamResponse:
        state.seen.append(
            Seen(
                method=request.method,
                raw_path=request.raw_path.split("?", 1)[0],
                path=request.path,
                query=list(request.query.items()),
                headers=dict(request.headers),
                body=await request.read(),
                host=request.host,
            )
        )
        handler = state.handler or _default
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", catch_all)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = URL(f"http://127.0.0.1:{port}")
    try:
        yield state
    finally:
        await runner.cleanup()


class FakeTime:
    """Virtual time for a limiter (``RateLimiter(clock=, wall_clock=, sleep=)``) and
    an emulator (``SentryEmulator(clock=)``), in stamina's ``set_testing`` manner:
    a sleep returns at once and moves both clocks on by what it asked for.

    For tests where waiting is not the point: a pause is still taken (the clocks
    say so, and the requests after it are sent as after a real one), only not
    waited out in real time. Concurrent sleepers each move the clocks on, so the
    virtual time may run ahead of what real sleeps would give, never behind.
    """

    def __init__(self) -> None:
        self.slept = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.slept

    def time(self) -> float:
        return time.time() + self.slept

    async def sleep(self, seconds: float) -> None:
        self.slept += max(0.0, seconds)
        await asyncio.sleep(0)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def refused_url() -> URL:
    """A loopback URL on which nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return URL(f"http://127.0.0.1:{port}")


# -- secrets: no token in any log record or exception text of the whole suite ----------

_ISSUED: set[str] = {TOKEN, SCIM_TOKEN}
_SEEN: list[str] = []


class _Capture(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            _SEEN.append(record.getMessage())
        except Exception:  # a record whose args do not format: keep what we can
            _SEEN.append(str(record.msg))
        if record.exc_info and record.exc_info[1] is not None:
            _SEEN.append(repr(record.exc_info[1]))


@pytest.fixture(scope="session", autouse=True)
def _no_token_anywhere() -> Iterator[None]:
    from sentry_members_async.errors import SentryError
    from sentry_members_async.testing import SentryEmulator

    original_add_token = SentryEmulator.add_token

    def add_token(self: SentryEmulator, *args: Any, **kwargs: Any) -> str:
        token = original_add_token(self, *args, **kwargs)
        _ISSUED.add(token)
        return token

    def recording_init(self: BaseException, *args: object) -> None:
        Exception.__init__(self, *args)
        _SEEN.append(" ".join(str(a) for a in args))

    handler = _Capture(level=logging.DEBUG)
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    SentryEmulator.add_token = add_token  # type: ignore[method-assign]
    SentryError.__init__ = recording_init  # type: ignore[method-assign]
    try:
        yield
    finally:
        SentryEmulator.add_token = original_add_token  # type: ignore[method-assign]
        del SentryError.__init__
        root.removeHandler(handler)
        root.setLevel(previous_level)
    leaked = [text for text in _SEEN for token in _ISSUED if token in text]
    assert leaked == [], f"a token appeared in {len(leaked)} log records or exception texts"
