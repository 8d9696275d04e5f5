"""The rules of ``transports/_stale.py``, as values: when a request goes once more.

The socket tests (tests/test_stale_connection.py) show the rules at work; these
pin each case of the proof, and what httpx must keep for the watched pool.
"""

from __future__ import annotations

import socket
import sys
import time

import httpx
import pytest
from yarl import URL

from sentry_members_async.transports import _stale
from sentry_members_async.transports._stale import (
    RESET_GRACE,
    RESET_WINDOW_CAP,
    TCP_CLOSE,
    TCP_CLOSE_WAIT,
    TCP_ESTABLISHED,
    TcpCounters,
    may_send_again,
    never_received,
    peer_closed,
    reset_window,
    tcp_counters,
    time_left,
)
from sentry_members_async.transports.base import Request, RequestTimeoutError
from sentry_members_async.transports.httpx import HttpxTransport

#: A kept-alive connection when it was picked: 200 bytes of ours acknowledged,
#: 90 received (the answers before), 2 segments with data; a 40 us round trip.
PICKED = TcpCounters(TCP_ESTABLISHED, 0, 200, 90, 2, 40, 20)
#: Soon after the write (a closing server's reset), and long after (a server that acted).
SOON = 0.005
LATE = 0.2


def after(state: int, *, acked: int = 200, received: int = 90, data: int = 2) -> TcpCounters:
    return TcpCounters(state, 0, acked, received, data)


def test_a_reset_soon_after_the_write_proves_the_request_unread() -> None:
    assert never_received(PICKED, after(TCP_CLOSE), elapsed=SOON)
    # our bytes acknowledged, then reset: the kernel acknowledged them, the close found
    # them unread (uWSGI's close after its answer)
    assert never_received(PICKED, after(TCP_CLOSE, acked=400), elapsed=SOON)
    assert never_received(PICKED, after(TCP_CLOSE, acked=400), elapsed=reset_window(PICKED))


def test_a_reset_later_than_the_window_proves_nothing() -> None:
    """A peer that read the request, acted on it (time), then reset: not sent again."""
    assert not never_received(PICKED, after(TCP_CLOSE, acked=400), elapsed=LATE)
    assert not never_received(
        PICKED, after(TCP_CLOSE, acked=400), elapsed=reset_window(PICKED) + 1e-3
    )
    assert not never_received(PICKED, after(TCP_CLOSE), elapsed=LATE)


def test_the_window_is_the_round_trip_and_its_deviation_plus_the_grace() -> None:
    assert reset_window(PICKED) == pytest.approx((40 + 4 * 20) / 1e6 + RESET_GRACE)
    far = TcpCounters(TCP_ESTABLISHED, 0, 200, 90, 2, 80_000, 10_000)  # an 80 ms link
    assert reset_window(far) == pytest.approx(0.08 + 0.04 + RESET_GRACE)
    assert never_received(far, after(TCP_CLOSE, acked=400), elapsed=0.15)
    assert not never_received(far, after(TCP_CLOSE, acked=400), elapsed=0.3)
    slow = TcpCounters(TCP_ESTABLISHED, 0, 200, 90, 2, 3_000_000, 1_000_000)
    assert reset_window(slow) == RESET_WINDOW_CAP
    # the grace stays below what any write of Sentry's takes (91 ms at the fastest, measured)
    assert RESET_GRACE < 0.09


def test_a_fin_that_acknowledged_nothing_proves_it_came_first() -> None:
    assert never_received(PICKED, after(TCP_CLOSE_WAIT, received=91), elapsed=LATE)
    # ... and the reset our bytes met after it, however late
    assert never_received(PICKED, after(TCP_CLOSE, received=91), elapsed=LATE)
    # the FIN acknowledged our request: the server's TCP had it, and its socket
    # was closed with nothing unread: it read the request
    assert not never_received(PICKED, after(TCP_CLOSE_WAIT, acked=400, received=91), elapsed=SOON)
    assert not never_received(PICKED, after(TCP_CLOSE, acked=400, received=91), elapsed=SOON)
    # bytes of an earlier request outstanding when picked: the acks prove nothing
    outstanding = TcpCounters(TCP_ESTABLISHED, 1, 200, 90, 2)
    assert not never_received(outstanding, after(TCP_CLOSE_WAIT, received=91), elapsed=SOON)


def test_any_byte_of_an_answer_means_the_server_saw_the_request() -> None:
    assert not never_received(PICKED, after(TCP_CLOSE, received=91, data=3), elapsed=SOON)
    assert not never_received(PICKED, after(TCP_CLOSE, received=92), elapsed=SOON)
    assert not never_received(PICKED, after(TCP_CLOSE_WAIT, received=150, data=3), elapsed=SOON)


def test_a_connection_still_open_or_closed_before_it_was_picked_proves_nothing() -> None:
    assert not never_received(PICKED, after(TCP_ESTABLISHED), elapsed=SOON)  # a timeout, say
    closed_already = TcpCounters(TCP_CLOSE_WAIT, 0, 200, 91, 2)
    assert not never_received(closed_already, after(TCP_CLOSE, received=91), elapsed=SOON)


def test_the_time_left_for_the_send_again() -> None:
    post = Request("POST", URL("http://127.0.0.1/teams/"))
    assert time_left(post, None, 0.0, clock=lambda: 99.0) is None
    assert time_left(post, 5.0, 10.0, clock=lambda: 12.0) == 3.0
    # none left: a timeout, not a send with a total of 0 (aiohttp: no timeout at all)
    for now in (15.0, 20.0):
        with pytest.raises(RequestTimeoutError) as info:
            time_left(post, 5.0, 10.0, clock=lambda: now)  # noqa: B023 - called at once
        assert info.value.may_have_reached_server is False  # the proof: never received
    get = Request("GET", URL("http://127.0.0.1/members/"))
    with pytest.raises(RequestTimeoutError) as info:
        time_left(get, 5.0, 10.0, clock=lambda: 15.0)
    assert info.value.may_have_reached_server is True  # sent again without a proof


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_a_safe_request_goes_again_on_a_reused_connection_only(method: str) -> None:
    assert may_send_again(method, reused=True, proof=False)
    assert not may_send_again(method, reused=False, proof=True)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_any_other_request_needs_the_proof(method: str) -> None:
    assert not may_send_again(method, reused=True, proof=False)
    assert may_send_again(method, reused=True, proof=True)
    assert not may_send_again(method, reused=False, proof=True)


def test_the_keepalive_expiry_is_below_the_shortest_common_server_timeout() -> None:
    assert _stale.KEEPALIVE_EXPIRY < 2.0  # gunicorn's keepalive


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="TCP_INFO is Linux's")
def test_the_counters_are_read_where_the_struct_puts_them() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
        with client, server:
            assert not peer_closed(client)
            start = tcp_counters(client)
            assert start is not None
            assert start.state == TCP_ESTABLISHED
            server.sendall(b"hello")
            client.sendall(b"ping")
            time.sleep(0.05)
            assert peer_closed(client)  # unread bytes: not an idle connection
            client.recv(5)
            server.recv(4)
            server.close()
            time.sleep(0.05)
            end = tcp_counters(client)
            assert end is not None
            assert end.state == TCP_CLOSE_WAIT
            assert end.bytes_received - start.bytes_received == 6  # five bytes and the FIN
            assert end.data_segs_in - start.data_segs_in == 1
            assert end.bytes_acked - start.bytes_acked == 4
            assert peer_closed(client)
            # tcpi_rtt and tcpi_rttvar (offsets 68 and 72): a loopback round trip
            assert 0 < start.rtt_us < 100_000
            assert 0 < end.rtt_us < 100_000
            assert end.rttvar_us < 100_000


def test_counters_of_what_is_no_tcp_socket_are_none() -> None:
    assert tcp_counters(None) is None
    left, right = socket.socketpair()
    with left, right:
        assert tcp_counters(left) is None
    assert not peer_closed(object())


def test_httpx_sends_through_the_pool_the_transport_replaces() -> None:
    # Fails when httpx renames the pool its transport sends through.
    transport = httpx.AsyncHTTPTransport()
    assert "_pool" in vars(transport)
    assert "self._pool.handle_async_request" in _source(
        httpx.AsyncHTTPTransport.handle_async_request
    )


async def test_the_httpx_client_we_create_watches_its_connections() -> None:
    transport = HttpxTransport()
    try:
        client = transport._get_client()
        pool = client._transport._pool  # type: ignore[attr-defined]
        assert type(pool._network_backend).__name__ == "_Backend"
    finally:
        await transport.aclose()


def _source(obj: object) -> str:
    import inspect

    return inspect.getsource(obj)  # type: ignore[arg-type, unused-ignore]
