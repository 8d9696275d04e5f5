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

from sentry_members_async.transports import _stale
from sentry_members_async.transports._stale import (
    TCP_CLOSE,
    TCP_CLOSE_WAIT,
    TCP_ESTABLISHED,
    TcpCounters,
    may_send_again,
    never_received,
    peer_closed,
    tcp_counters,
)
from sentry_members_async.transports.httpx import HttpxTransport

#: A kept-alive connection when it was picked: 200 bytes of ours acknowledged,
#: 90 received (the answers before), 2 segments with data.
PICKED = TcpCounters(TCP_ESTABLISHED, 0, 200, 90, 2)


def after(state: int, *, acked: int = 200, received: int = 90, data: int = 2) -> TcpCounters:
    return TcpCounters(state, 0, acked, received, data)


def test_a_reset_with_nothing_received_proves_the_request_unread() -> None:
    assert never_received(PICKED, after(TCP_CLOSE))
    # our bytes acknowledged, then reset: closed with them unread
    assert never_received(PICKED, after(TCP_CLOSE, acked=400))
    # a FIN, then the reset our bytes met (the FIN counts one "byte")
    assert never_received(PICKED, after(TCP_CLOSE, received=91))


def test_a_fin_that_acknowledged_nothing_proves_it_came_first() -> None:
    assert never_received(PICKED, after(TCP_CLOSE_WAIT, received=91))
    # the FIN acknowledged our request: the server's TCP had it
    assert not never_received(PICKED, after(TCP_CLOSE_WAIT, acked=400, received=91))
    # bytes of an earlier request outstanding when picked: the acks prove nothing
    outstanding = TcpCounters(TCP_ESTABLISHED, 1, 200, 90, 2)
    assert not never_received(outstanding, after(TCP_CLOSE_WAIT, received=91))


def test_any_byte_of_an_answer_means_the_server_saw_the_request() -> None:
    assert not never_received(PICKED, after(TCP_CLOSE, received=91, data=3))  # one byte
    assert not never_received(PICKED, after(TCP_CLOSE, received=92))  # more than a FIN
    assert not never_received(PICKED, after(TCP_CLOSE_WAIT, received=150, data=3))


def test_a_connection_still_open_or_closed_before_it_was_picked_proves_nothing() -> None:
    assert not never_received(PICKED, after(TCP_ESTABLISHED))  # a timeout, say
    closed_already = TcpCounters(TCP_CLOSE_WAIT, 0, 200, 91, 2)
    assert not never_received(closed_already, after(TCP_CLOSE, received=91))


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
