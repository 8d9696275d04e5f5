"""Kept-alive connections the server has closed: when a request is sent again on a new one.

A server may close a kept-alive connection at any time between two requests:
uWSGI's http-socket workers (``sentry run web``, Sentry 23.7) close every
connection right after the answer, though the answer says ``HTTP/1.1`` and no
``Connection: close``; other servers close connections idle for a few seconds.
A request sent on such a connection fails before any byte of an answer. The
transports of this package deal with it in three steps, none of which is a
retry (no backoff, not counted in the client's stats, never a
:class:`~.base.ResponseLostError`):

1. **Before reuse** a pooled connection is checked (:func:`peer_closed`, as
   urllib3's ``is_connection_dropped`` and curl do): an idle HTTP/1.1
   connection has nothing to read, so a readable one was closed by the server
   (or carries what no request asked for) and is dropped unused. Nothing was
   sent on it: safe for every method. httpcore does this check itself.
2. **Keep-alive expiry** shorter than any common server's idle timeout
   (:data:`KEEPALIVE_EXPIRY`; gunicorn 2 s, uvicorn, Node and Apache 5 s), so
   an idle connection is not reused just as the server closes it.
3. **One send again, on a new connection**, when a request failed on a *reused*
   connection closed by the server before any byte of the answer, and only
   when that cannot have had an effect (:func:`may_send_again`):

   * a *safe* request (GET, HEAD, OPTIONS; RFC 9110 section 9.2.1) always: it
     has no effect to repeat, which is why aiohttp, urllib3 and curl send it
     again (RFC 9112 section 9.3.1.1);
   * any other request (POST, and PUT, PATCH, DELETE too) only with *proof
     that the server never received it* (:func:`never_received`). For PUT and
     DELETE idempotence is not enough: a DELETE sent twice answers 404 the
     second time, and a hidden second send would make "it was already gone"
     out of "we removed it". A request the server may have received stays a
     ``ResponseLostError``, for the retry policy (which counts the attempt)
     and the operation's own rules (an invite looked up by e-mail, a 404
     after a retried remove).

The proof comes from the kernel's counters of the connection (Linux
``TCP_INFO``), taken when the connection is picked for the request and again
after the failure, while a duplicate of its descriptor keeps the connection's
state readable after the HTTP library has closed it:

* **No byte of an answer** arrived: no segment carrying data came
  (``tcpi_data_segs_in`` unchanged; a FIN or a RST carries none, and
  ``tcpi_bytes_received`` grows by the one sequence number of a FIN only), and
* either the connection was **reset** (RST): the server's TCP discarded our
  bytes unread, because they arrived after the server closed its socket or
  because it closed the socket with them still unread (a close with unread
  data sends RST, RFC 9293 section 3.6.1; what uWSGI does when the next
  request arrives before its close, and what follows the close in every
  other case). A server that had read the whole request and acted on it
  answers, or closes gracefully (FIN), since nothing is left unread;
* or the server closed the connection (FIN) **without acknowledging a byte
  of the request** (``tcpi_bytes_acked`` unchanged, nothing outstanding when
  it was picked): the FIN carries the server's acknowledgement of everything
  its TCP had received, so its TCP sent the FIN before the request reached
  it; a server that has closed its sending side can never answer, and HTTP
  servers read a request after that only to discard it (the lingering close
  of RFC 9112 section 9.6).

What stays ambiguous is not sent again: the server acknowledged the request
and closed (FIN) without an answer: it may have read it and died after acting
(a worker killed after the commit). The one case the reset rule cannot tell
apart is a server that reads a whole request, acts, and then *aborts* the
connection (RST, ``SO_LINGER`` 0) without a byte of answer; no HTTP server
closes a connection it served that way (an abortive close destroys the answer
it would carry). Where the counters cannot be read (not Linux, a Unix socket),
only safe requests are sent again. TLS: an alert (``close_notify``) counts as
bytes received, so a POST on a TLS connection closed that way is not sent
again (step 1 catches nearly all of them: the alert makes the socket readable).
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import sys
from typing import Any

import attrs

__all__ = [
    "KEEPALIVE_EXPIRY",
    "SAFE_METHODS",
    "ConnectionWatch",
    "TcpCounters",
    "may_send_again",
    "never_received",
    "peer_closed",
    "tcp_counters",
]

#: Seconds a pooled connection may stay idle before it is closed by us, below
#: the idle timeout of the servers that have the shortest (gunicorn: 2 s).
KEEPALIVE_EXPIRY = 1.5
#: Methods with no effect on the server (RFC 9110 section 9.2.1).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Linux's TCP states (include/net/tcp_states.h)
TCP_ESTABLISHED = 1
TCP_CLOSE = 7
TCP_CLOSE_WAIT = 8
# struct tcp_info: state (u8) at 0, unacked (u32) at 24, bytes_acked and
# bytes_received (u64) at 120 and 128, data_segs_in (u32) at 152 (Linux >= 4.6)
_TCP_INFO = getattr(socket, "TCP_INFO", None) if sys.platform.startswith("linux") else None
_TCP_INFO_SIZE = 156


@attrs.frozen(slots=True)
class TcpCounters:
    """What the kernel tells of one TCP connection at one moment."""

    state: int
    #: segments sent and not yet acknowledged
    unacked: int
    #: bytes of ours the server's TCP acknowledged, since the connection opened
    bytes_acked: int
    #: bytes received from the server, since the connection opened (and 1 for its FIN)
    bytes_received: int
    #: segments received that carried data
    data_segs_in: int


def tcp_counters(sock: Any) -> TcpCounters | None:
    """The kernel's counters of ``sock`` (Linux), else ``None``."""
    if _TCP_INFO is None or sock is None:
        return None
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _TCP_INFO_SIZE)
    except (OSError, AttributeError, TypeError, ValueError):
        return None
    if not isinstance(raw, bytes) or len(raw) < _TCP_INFO_SIZE:
        return None
    (unacked,) = struct.unpack_from("I", raw, 24)
    acked, received = struct.unpack_from("QQ", raw, 120)
    (data_segs_in,) = struct.unpack_from("I", raw, 152)
    return TcpCounters(raw[0], unacked, acked, received, data_segs_in)


def peer_closed(sock: Any) -> bool:
    """Whether an idle connection's socket is readable: closed (or reset) by the
    server, or carrying bytes no request asked for. Either way it is not reused.

    ``False`` when the socket cannot be polled (the connection is then used as
    it is).
    """
    try:
        fd = sock.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    if fd < 0:
        return True
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(fd, select.POLLIN | select.POLLPRI)
            return bool(poller.poll(0))
        readable, _, _ = select.select([fd], [], [], 0)  # pragma: no cover - Windows
        return bool(readable)  # pragma: no cover
    except (OSError, ValueError):
        return False


def never_received(before: TcpCounters, after: TcpCounters) -> bool:
    """Whether the counters prove that the server never received the request
    sent between ``before`` (the connection picked) and ``after`` (it failed).

    See the module's documentation for the reasoning.
    """
    if before.state != TCP_ESTABLISHED:
        return False  # closed before it was picked: it should not have been used
    if (
        after.data_segs_in != before.data_segs_in
        or after.bytes_received - before.bytes_received > 1  # more than a FIN
    ):
        return False  # the server sent something: it saw the request
    if after.state == TCP_CLOSE:
        return True  # reset: its TCP discarded our bytes unread
    return (
        after.state == TCP_CLOSE_WAIT
        and before.unacked == 0
        and after.bytes_acked == before.bytes_acked
    )


def may_send_again(method: str, reused: bool, proof: bool) -> bool:
    """Whether a request that failed before any answer goes once more, on a new connection.

    ``reused``: it went on a kept-alive connection; ``proof``: the counters
    show the server never received it (:func:`never_received`).
    """
    return reused and (method in SAFE_METHODS or proof)


class ConnectionWatch:
    """The connection one request went on, watched until the request ends.

    Made *before* the connection is checked with :func:`peer_closed`, so that a
    close arriving after its counters were read is seen by the check or counted
    after the failure, never lost between the two. For a request that is not
    safe, on a reused connection, it keeps a duplicate of the socket's
    descriptor, so that the connection's counters can still be read after the
    HTTP library closed its own descriptor on the failure (the duplicate also
    holds our side of the connection open until
    :meth:`close`). Always :meth:`close` it.
    """

    __slots__ = ("_before", "_probe", "method", "reused")

    def __init__(self, method: str, sock: Any, *, reused: bool) -> None:
        self.method = method
        self.reused = reused
        self._before: TcpCounters | None = None
        self._probe: socket.socket | None = None
        if reused and method not in SAFE_METHODS and sock is not None:
            self._before = tcp_counters(sock)
            if self._before is not None:
                with contextlib.suppress(OSError, AttributeError, ValueError):
                    self._probe = socket.socket(fileno=os.dup(sock.fileno()))

    def proof(self) -> bool:
        """Whether the counters show that the server never received the request."""
        if self._before is None or self._probe is None:
            return False
        after = tcp_counters(self._probe)
        return after is not None and never_received(self._before, after)

    def may_send_again(self) -> bool:
        """After a failure before any answer: whether to send once more on a new connection."""
        safe = self.method in SAFE_METHODS
        return may_send_again(self.method, self.reused, not safe and self.proof())

    def close(self) -> None:
        probe, self._probe = self._probe, None
        if probe is not None:
            probe.close()
