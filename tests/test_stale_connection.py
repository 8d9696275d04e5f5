"""A server that closes kept-alive connections, as Sentry 23.7 under uWSGI does.

uWSGI's http-socket workers (``sentry run web``) answer ``HTTP/1.1`` without
``Connection: close`` and then close the connection; a request the client sent
on it in the meantime is never read. Measured against that uWSGI with Sentry's
own options: every second request on a connection ended in a reset (when
Django's teardown delays the close) or found the connection closed already,
and none of them was ever processed. The client must send such a request again
on a new connection, without counting a retry and without a lost answer; and it
must not send again a POST the server may have received.

:class:`ClosingServer` is that server: blocking sockets, one thread per
connection (a process of its own, as far as the client can tell), reading a
request only when it is going to answer it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import random
import socket
import struct
import sys
import threading
from collections.abc import AsyncIterator, Callable

import pytest
from yarl import URL

from sentry_members_async import RequestTimeoutError, ResponseLostError, SentryClient
from sentry_members_async.pipeline.observer import RetryEvent
from sentry_members_async.ratelimit import NoLimiter
from sentry_members_async.transports import Request, Transport
from sentry_members_async.transports.aiohttp import AiohttpTransport
from sentry_members_async.transports.httpx import HttpxTransport

from .conftest import TOKEN

LINUX = sys.platform.startswith("linux")
MEMBERS = "/api/0/organizations/acme/members/"


class ClosingServer:
    """An HTTP/1.1 server on 127.0.0.1 that closes connections the client keeps alive.

    :param per_connection: requests answered on one connection before it is
        closed (``1``: uWSGI's http-socket).
    :param linger: seconds between the answer and the close (Django's
        ``request_finished`` work): a request the client sends meanwhile is
        left unread, and the close resets the connection.
    :param idle: close a connection after this many idle seconds (a keep-alive
        timeout); ``None``: wait for the next request as long as it takes.
    :param answer: whether to answer at all (``False``: read the request, then
        close, as a worker killed after reading it).
    :param abort_after: with ``answer=False``: seconds between reading the
        whole request and aborting the connection (RST, ``SO_LINGER`` 0), as a
        peer that acted on the request and then reset (an L4 proxy passing on a
        backend's reset); ``None``: a graceful close (FIN).
    """

    def __init__(
        self,
        *,
        per_connection: int = 1,
        linger: float = 0.0,
        idle: float | None = None,
        answer: bool = True,
        abort_after: float | None = None,
    ) -> None:
        self.per_connection = per_connection
        self.linger = linger
        self.idle = idle
        self.answer = answer
        self.abort_after = abort_after
        #: (method, path, body) of every request read, in order.
        self.requests: list[tuple[str, str, bytes]] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.url = URL(f"http://127.0.0.1:{self._listener.getsockname()[1]}")

    def __enter__(self) -> ClosingServer:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        for thread in list(self._threads):
            thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5.0)  # for the first request; ``idle`` between requests
            for _ in range(self.per_connection):
                request = _read_request(conn)
                if request is None:
                    return  # idle too long, or the client closed
                with self._lock:
                    self.requests.append(request)
                    number = len(self.requests)
                if not self.answer:
                    if self.abort_after is not None:
                        self._stopping.wait(self.abort_after)  # "acting" on it
                        conn.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                    return
                body = json.dumps({"id": str(number)}).encode()
                status = b"201 Created" if request[0] == "POST" else b"200 OK"
                conn.sendall(
                    b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
                if self.idle is not None:
                    conn.settimeout(self.idle)
            if self.linger:
                self._stopping.wait(self.linger)
        # closed here: unread bytes make the kernel reset the connection


def _read_request(conn: socket.socket) -> tuple[str, str, bytes] | None:
    """One request, read no further than its end (the client never pipelines)."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        length = next(
            (
                int(line.split(":", 1)[1])
                for line in lines
                if line.lower().startswith("content-length:")
            ),
            0,
        )
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            body += chunk
    except OSError:
        return None
    return method, path, body


TRANSPORTS: dict[str, Callable[[], Transport]] = {
    "aiohttp": AiohttpTransport,
    "httpx": HttpxTransport,
}
#: The server's behaviours seen on the real one (and the keep-alive timeout of others).
SERVERS: dict[str, dict[str, float]] = {
    # uWSGI closes right after the answer: the close mostly reaches the client first
    "close-after-answer": {"per_connection": 1},
    # ... or a little later (Django's teardown): the next request is reset unread
    "close-after-teardown": {"per_connection": 1, "linger": 0.002},
    # a keep-alive server closing connections idle for 10 ms
    "idle-timeout": {"per_connection": 10_000, "idle": 0.01},
}


@contextlib.asynccontextmanager
async def client_for(
    server: ClosingServer, transport: Transport
) -> AsyncIterator[tuple[SentryClient, list[RetryEvent]]]:
    """A client on ``transport`` (closed at the end), and the retries it announced."""
    retries: list[RetryEvent] = []
    try:
        async with SentryClient(
            TOKEN,
            base_url=server.url,
            allow_insecure_http=True,
            transport=transport,
            limiter=NoLimiter(),
            on_retry=retries.append,
        ) as client:
            yield client, retries
    finally:
        await transport.aclose()


def _stale(transport: Transport) -> int:
    """How often the transport met a connection the server had closed."""
    return int(getattr(transport, "stale_dropped", 0)) + int(getattr(transport, "stale_resent", 0))


async def _pause(kind: str) -> None:
    if kind == "idle-timeout":  # around the server's timeout, either side of it
        await asyncio.sleep(random.uniform(0.006, 0.014))


@pytest.mark.parametrize("kind", list(SERVERS))
@pytest.mark.parametrize("name", list(TRANSPORTS))
async def test_sequential_gets_are_never_retried(name: str, kind: str) -> None:
    transport = TRANSPORTS[name]()
    count = 50 if kind == "idle-timeout" else 200
    with ClosingServer(**SERVERS[kind]) as server:  # type: ignore[arg-type]
        async with client_for(server, transport) as (client, retries):
            for _ in range(count):
                response = await client.request("GET", MEMBERS)
                assert response.status == 200
                assert response.attempts == 1
                await _pause(kind)
            assert client.stats.retries == 0
            assert retries == []
            assert client.stats.requests == count
            # each GET was read by the server once or, when it was sent again
            # on a kept-alive connection the server had just left, twice
            assert len(server.requests) == count
            if kind != "idle-timeout":
                assert _stale(transport) > 0  # the server did close connections under us


@pytest.mark.skipif(not LINUX, reason="the proof that a POST was not received is Linux's TCP_INFO")
@pytest.mark.parametrize("kind", list(SERVERS))
@pytest.mark.parametrize("name", list(TRANSPORTS))
async def test_posts_are_sent_again_only_when_never_received(name: str, kind: str) -> None:
    transport = TRANSPORTS[name]()
    with ClosingServer(**SERVERS[kind]) as server:  # type: ignore[arg-type]
        async with client_for(server, transport) as (client, retries):
            sent = 0
            # at least 50, and on until the transport met a closed connection:
            # whether the server's close reaches the client before its next
            # request is a race the machine's load decides
            while sent < 50 or (kind != "idle-timeout" and _stale(transport) == 0 and sent < 1000):
                response = await client.request(
                    "POST", "/api/0/organizations/acme/teams/", json={"slug": f"team-{sent}"}
                )
                assert response.status == 201
                sent += 1
                await _pause(kind)
            assert client.stats.retries == 0
            assert retries == []
    bodies = collections.Counter(body for method, _, body in server.requests if method == "POST")
    assert len(bodies) == sent
    assert set(bodies.values()) == {1}  # each POST reached the server exactly once
    if kind != "idle-timeout":
        assert _stale(transport) > 0


@pytest.mark.parametrize("name", list(TRANSPORTS))
async def test_a_post_the_server_read_is_not_sent_again(name: str) -> None:
    """A server that reads the request and closes without answering (a worker
    killed after the commit) may have acted: the POST is not sent again."""
    transport = TRANSPORTS[name]()
    try:
        with ClosingServer(per_connection=2) as server:
            await transport.send(Request("GET", server.url / "warm"))  # a kept-alive connection
            server.answer = False
            with pytest.raises(ResponseLostError) as info:
                await transport.send(Request("POST", server.url / "teams/", body=b'{"slug":"x"}'))
            assert info.value.may_have_reached_server is True
            assert [m for m, _, _ in server.requests] == ["GET", "POST"]
    finally:
        await transport.aclose()


@pytest.mark.parametrize("name", list(TRANSPORTS))
@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_an_idempotent_write_the_server_read_is_not_resent(name: str, method: str) -> None:
    """DELETE and PUT are idempotent, but a second one changes what the answer
    means (a 404 after our own first DELETE): only the retry policy, which
    counts the attempt, may send them again."""
    transport = TRANSPORTS[name]()
    try:
        with ClosingServer(per_connection=2) as server:
            await transport.send(Request("GET", server.url / "warm"))
            server.answer = False
            with pytest.raises(ResponseLostError):
                await transport.send(Request(method, server.url / "members/1/"))
            assert [m for m, _, _ in server.requests] == ["GET", method]
    finally:
        await transport.aclose()


@pytest.mark.parametrize("name", list(TRANSPORTS))
async def test_a_safe_request_the_server_read_is_sent_again_once(name: str) -> None:
    transport = TRANSPORTS[name]()
    try:
        with ClosingServer(per_connection=2) as server:
            await transport.send(Request("GET", server.url / "warm"))
            server.answer = False
            with pytest.raises(ResponseLostError):
                await transport.send(Request("GET", server.url / "again"))
            # once on the kept-alive connection, once on a new one: never a third time
            assert [p for _, p, _ in server.requests] == ["/warm", "/again", "/again"]
    finally:
        await transport.aclose()


async def test_a_callers_httpx_client_sends_safe_requests_again() -> None:
    """With a caller's client (whose connections we do not watch) a GET that met
    a connection the server left goes once more; its reuse is read from
    httpcore's trace events."""
    import httpx

    async with httpx.AsyncClient() as own:
        transport = HttpxTransport(own)
        with ClosingServer(per_connection=1, linger=0.002) as server:
            for _ in range(30):
                response = await transport.send(Request("GET", server.url / "members/"))
                assert response.status == 200
        assert transport.stale_resent > 0
        await transport.aclose()


@pytest.mark.skipif(not LINUX, reason="the proof that a POST was not received is Linux's TCP_INFO")
@pytest.mark.parametrize("name", list(TRANSPORTS))
@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_a_reset_after_the_server_acted_is_not_sent_again(name: str, method: str) -> None:
    """A peer that reads the whole request, acts on it (200 ms) and then resets
    (RST, no answer): the reset comes long after the write, so it may have acted;
    sent once, a ResponseLostError (a second invite, or a DELETE's 404 for a
    member we removed, otherwise)."""
    transport = TRANSPORTS[name]()
    try:
        with ClosingServer(per_connection=2) as server:
            await transport.send(Request("GET", server.url / "warm"))  # a kept-alive connection
            server.answer, server.abort_after = False, 0.2
            with pytest.raises(ResponseLostError) as info:
                await transport.send(Request(method, server.url / "members/", body=b'{"a":1}'))
            assert info.value.may_have_reached_server is True
            assert [m for m, _, _ in server.requests] == ["GET", method]  # received once
            assert transport.stale_resent == 0  # type: ignore[attr-defined]
    finally:
        await transport.aclose()


@pytest.mark.skipif(not LINUX, reason="the proof that a POST was not received is Linux's TCP_INFO")
@pytest.mark.parametrize("name", list(TRANSPORTS))
async def test_a_reset_after_the_server_acted_reaches_the_caller_once(name: str) -> None:
    """Through the client: the POST is not retried (it may have acted)."""
    transport = TRANSPORTS[name]()
    with ClosingServer(per_connection=2) as server:
        async with client_for(server, transport) as (client, retries):
            await client.request("GET", MEMBERS)
            server.answer, server.abort_after = False, 0.2
            with pytest.raises(ResponseLostError):
                await client.request("POST", MEMBERS, json={"email": "a@example.com"})
            assert retries == []
        assert [m for m, _, _ in server.requests] == ["GET", "POST"]


@pytest.mark.skipif(not LINUX, reason="the proof that a POST was not received is Linux's TCP_INFO")
@pytest.mark.parametrize("name", list(TRANSPORTS))
async def test_a_post_reset_unread_by_a_closing_server_is_sent_again_once(name: str) -> None:
    """uWSGI's case: the server closes 30 ms after its answer; the POST sent on the
    connection meanwhile sits unread (acknowledged by the kernel), the close resets
    it: sent again once on a new connection, received once, no error."""
    transport = TRANSPORTS[name]()
    try:
        with ClosingServer(per_connection=1, linger=0.03) as server:
            await transport.send(Request("GET", server.url / "warm"))
            response = await transport.send(
                Request("POST", server.url / "teams/", body=b'{"slug":"x"}')
            )
            assert response.status == 201
            assert transport.stale_resent == 1  # type: ignore[attr-defined]
            assert [m for m, _, _ in server.requests] == ["GET", "POST"]
            assert server.connections == 2
    finally:
        await transport.aclose()


@pytest.mark.parametrize("name", list(TRANSPORTS))
async def test_no_time_left_for_the_send_again_is_a_timeout(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the first send used up the request's timeout, the send again is not
    made (aiohttp would read the total of 0 left as no timeout: a hang)."""
    transport = TRANSPORTS[name](timeout=0.3)  # type: ignore[call-arg]
    first = transport._send_once  # type: ignore[attr-defined]
    fresh_sends = []

    async def slow_failure(*args: object, fresh: bool) -> object:
        if fresh:
            fresh_sends.append(args)
            return await first(*args, fresh=fresh)
        try:
            return await first(*args, fresh=fresh)
        except BaseException:
            await asyncio.sleep(0.35)  # the failure came as the time ran out
            raise

    monkeypatch.setattr(transport, "_send_once", slow_failure)
    try:
        with ClosingServer(per_connection=2) as server:
            await transport.send(Request("GET", server.url / "warm"))
            server.answer = False  # reads the next request, closes: a GET goes again
            with pytest.raises(RequestTimeoutError) as info:
                await asyncio.wait_for(transport.send(Request("GET", server.url / "x")), 5)
            assert fresh_sends == []
            assert info.value.may_have_reached_server is True
            assert [p for _, p, _ in server.requests] == ["/warm", "/x"]
            assert transport.stale_resent == 0  # type: ignore[attr-defined]
    finally:
        await transport.aclose()


async def test_the_httpx_send_again_never_goes_on_a_connection_opened_meanwhile() -> None:
    """After retire(), another task may open a connection and leave it in the pool;
    the send again must not take it (it may be closing as the first one was)."""
    transport = HttpxTransport()
    try:
        with ClosingServer(per_connection=10) as server:
            await transport.send(Request("GET", server.url / "warm"))
            client = transport._get_client()
            assert transport._backend is not None
            transport._backend.retire()
            await transport.send(Request("GET", server.url / "other-task"))  # a new one, pooled
            assert server.connections == 2
            status, _, _ = await transport._send_once(
                client, Request("POST", server.url / "teams/"), 5.0, fresh=True
            )
            assert status == 201
            assert server.connections == 3  # a connection of its own
    finally:
        await transport.aclose()
