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
state readable after the HTTP library has closed it, and from the time between
the two:

* **No byte of an answer** arrived: no segment carrying data came
  (``tcpi_data_segs_in`` unchanged; a FIN or a RST carries none, and
  ``tcpi_bytes_received`` grows by the one sequence number of a FIN only), and
  one of:
* the server closed the connection (FIN) **without acknowledging a byte of the
  request** (``tcpi_bytes_acked`` unchanged, nothing outstanding when it was
  picked), whether a reset followed or not: the FIN carries the server's
  acknowledgement of everything its TCP had received, so its TCP sent the FIN
  before the request reached it. A server that had read any of the request
  would have acknowledged it (and a socket closed with unread bytes sends a
  RST, not a FIN, RFC 9293 section 3.6.1); a server that has closed its
  sending side can never answer, and HTTP servers read a request after that
  only to discard it (the lingering close of RFC 9112 section 9.6);
* or the connection was **reset soon after the request was written**: within
  :func:`reset_window` of it, the connection's smoothed round-trip time plus
  four of its deviations (``tcpi_rtt + 4 * tcpi_rttvar``: RFC 6298's
  retransmission timeout without its floor, the time within which an
  acknowledgement nearly always comes back) plus :data:`RESET_GRACE`, at
  most :data:`RESET_WINDOW_CAP`.

Why the time. A reset with nothing received says that the server's TCP
discarded our bytes, or that its socket was aborted; not which. uWSGI (the
server of Sentry 23.7) closes each kept-alive connection a few milliseconds
after its answer (Django's teardown); a request that reached it in between
sits unread in the socket, the kernel acknowledges it (so ``tcpi_bytes_acked``
grows: that acknowledgement proves nothing), and the close, finding it unread,
resets the connection. That reset comes back at most one round trip plus the
rest of the teardown after the request was written: on a real Sentry 23.7.1,
620 such resets of a POST or DELETE came 0.4 to 60 ms after the write (median
5 ms, 99th percentile 17 ms). A peer that *read* the whole request and acted
on it before it reset (an L4 proxy or load balancer passing on the reset of a
backend that died after its commit, a server aborting a request it has done)
resets one round trip plus that action after the write, and an action on a
POST, PUT or DELETE takes longer than :data:`RESET_GRACE` (a database
transaction; Sentry's fastest team create there took 91 ms). So a reset
within the window is the unread request of a closing server, sent again
silently; a later reset is ambiguous and is *not* sent again (a
``ResponseLostError``: the retry policy and the operation's own rules decide,
and a DELETE's 404 after it is known to be the answer to a second send). The
grace also covers the event loop's delay in noticing the reset: the time is
measured on our side, from before the first byte is written to when the
failure is seen, so a delay only makes a reset look later, and the error is
always towards not sending again.

What stays ambiguous is not sent again: the server acknowledged the request
and closed (FIN) without an answer (it may have read it and died after
acting: a worker killed after the commit), or reset it later than the window.
The one case these rules cannot tell apart is a peer that reads a whole
request, acts on it *within* the window and then aborts the connection (RST)
without a byte of answer (a test server can do it in under a millisecond): no
HTTP server closes a connection it served that way (an abortive close destroys
the answer it would carry), the resets of proxies come at their timeouts
(seconds), and no action of Sentry's on a member is that
fast. Where the counters cannot be read (not Linux, a Unix socket), only safe
requests are sent again. TLS: an alert (``close_notify``) counts as bytes
received, so a POST on a TLS connection closed that way is not sent again
(step 1 catches nearly all of them: the alert makes the socket readable).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import struct
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs

from .base import Request, RequestTimeoutError

__all__ = [
    "KEEPALIVE_EXPIRY",
    "RESET_GRACE",
    "RESET_WINDOW_CAP",
    "SAFE_METHODS",
    "ConnectionWatch",
    "SendAgain",
    "TcpCounters",
    "may_send_again",
    "never_received",
    "peer_closed",
    "reset_window",
    "send_once_more_if_stale",
    "tcp_counters",
    "time_left",
]

logger = logging.getLogger("sentry_members_async")

_T = TypeVar("_T")

#: Seconds a pooled connection may stay idle before it is closed by us, below
#: the idle timeout of the servers that have the shortest (gunicorn: 2 s).
KEEPALIVE_EXPIRY = 1.5
#: Methods with no effect on the server (RFC 9110 section 9.2.1).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Seconds added to the round trip for a reset to prove the request unread: the
#: rest of a closing server's linger after its answer, and the event loop's
#: delay in seeing the reset. Measured on a real Sentry 23.7.1 (uWSGI, local):
#: 620 resets of a POST or DELETE sent on a connection closing after its
#: answer came 0.4 to 60 ms after the write (median 5 ms, 99th percentile
#: 17 ms); the fastest team create there answered in 91 ms.
RESET_GRACE = 0.075
#: The window never exceeds this many seconds, whatever the round trip says.
RESET_WINDOW_CAP = 1.0

# Linux's TCP states (include/net/tcp_states.h)
TCP_ESTABLISHED = 1
TCP_CLOSE = 7
TCP_CLOSE_WAIT = 8
# struct tcp_info (include/uapi/linux/tcp.h): state (u8) at 0, unacked (u32) at
# 24, rtt and rttvar (u32, microseconds) at 68 and 72, bytes_acked and
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
    #: the smoothed round-trip time, microseconds (``tcpi_rtt``)
    rtt_us: int = 0
    #: its mean deviation, microseconds (``tcpi_rttvar``)
    rttvar_us: int = 0


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
    rtt, rttvar = struct.unpack_from("II", raw, 68)
    acked, received = struct.unpack_from("QQ", raw, 120)
    (data_segs_in,) = struct.unpack_from("I", raw, 152)
    return TcpCounters(raw[0], unacked, acked, received, data_segs_in, rtt, rttvar)


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


def reset_window(picked: TcpCounters) -> float:
    """Seconds after the request's write within which a reset proves it unread:
    the connection's round trip and four deviations (when it was picked) plus
    :data:`RESET_GRACE`, at most :data:`RESET_WINDOW_CAP`."""
    round_trip = (picked.rtt_us + 4 * picked.rttvar_us) / 1e6
    return min(RESET_WINDOW_CAP, round_trip + RESET_GRACE)


def never_received(before: TcpCounters, after: TcpCounters, *, elapsed: float) -> bool:
    """Whether the counters prove that the server never received the request
    sent between ``before`` (the connection picked) and ``after`` (it failed),
    ``elapsed`` seconds after it was written.

    See the module's documentation for the reasoning.
    """
    if before.state != TCP_ESTABLISHED:
        return False  # closed before it was picked: it should not have been used
    if after.state not in (TCP_CLOSE, TCP_CLOSE_WAIT):
        return False  # still open (a timeout, say): nothing is known
    received = after.bytes_received - before.bytes_received
    if after.data_segs_in != before.data_segs_in or received > 1:  # more than a FIN
        return False  # the server sent something: it saw the request
    if received == 1:  # a FIN came (and maybe a reset after it)
        # sent before any byte of the request reached the server, or else proving nothing
        return before.unacked == 0 and after.bytes_acked == before.bytes_acked
    # a reset alone: the request unread only if it came too soon for any action on it
    return after.state == TCP_CLOSE and elapsed <= reset_window(before)


def may_send_again(method: str, reused: bool, proof: bool) -> bool:
    """Whether a request that failed before any answer goes once more, on a new connection.

    ``reused``: it went on a kept-alive connection; ``proof``: the counters
    show the server never received it (:func:`never_received`).
    """
    return reused and (method in SAFE_METHODS or proof)


def time_left(
    request: Request,
    timeout: float | None,
    started: float,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> float | None:
    """The seconds of ``timeout`` left for the send again, the first send having
    started at ``started`` (``clock``); ``None``: no timeout.

    Raises :class:`~.base.RequestTimeoutError` when none is left, instead of
    sending again: aiohttp reads a total of 0 as *no* timeout, which would let
    the second send hang. The first send was never received (or was a safe
    request), so the error says a POST, PUT or DELETE did not reach the server.
    """
    if timeout is None:
        return None
    left = timeout - (clock() - started)
    if left <= 0:
        raise RequestTimeoutError(
            f"no complete answer within {timeout} s (the kept-alive connection had been "
            "closed by the server, and no time was left to send the request again)",
            request=request,
            may_have_reached_server=request.method in SAFE_METHODS,
        )
    return left


class SendAgain(Exception):
    """The request failed on a stale connection and may go once more (raised by a
    transport's single send, caught by :func:`send_once_more_if_stale`)."""


async def send_once_more_if_stale(
    request: Request,
    timeout: float | None,
    send: Callable[[float | None, bool], Awaitable[_T]],
    on_resend: Callable[[], None],
) -> _T:
    """``send(timeout, fresh=False)``; after a :class:`SendAgain`, once more on a new
    connection (``fresh=True``) with the time left, ``on_resend()`` called first
    (the transport counts it, and may retire its connections). The one place both
    transports send a request again."""
    started = time.monotonic()
    try:
        return await send(timeout, False)
    except SendAgain as stale:
        timeout = time_left(request, timeout, started)  # (raises when none is left)
        on_resend()
        logger.debug(
            "%s %s: the kept-alive connection was closed by the server before the "
            "answer (%s); sent again on a new connection",
            request.method,
            request.url.path,
            stale.__cause__,
        )
        return await send(timeout, True)


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

    __slots__ = ("_before", "_clock", "_probe", "_written", "method", "reused")

    def __init__(
        self,
        method: str,
        sock: Any,
        *,
        reused: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.method = method
        self.reused = reused
        self._clock = clock
        #: when the request was (about to be) written: the reset window starts here
        self._written = clock()
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
        elapsed = self._clock() - self._written
        after = tcp_counters(self._probe)
        if after is None:
            return False
        proof = never_received(self._before, after, elapsed=elapsed)
        logger.debug(
            "%s on a closed connection: %s -> %s, %.2f ms after the write (window %.2f ms): %s",
            self.method,
            self._before,
            after,
            elapsed * 1e3,
            reset_window(self._before) * 1e3,
            "never received" if proof else "may have been received",
        )
        return proof

    def may_send_again(self) -> bool:
        """After a failure before any answer: whether to send once more on a new connection."""
        safe = self.method in SAFE_METHODS
        return may_send_again(self.method, self.reused, not safe and self.proof())

    def close(self) -> None:
        probe, self._probe = self._probe, None
        if probe is not None:
            probe.close()
