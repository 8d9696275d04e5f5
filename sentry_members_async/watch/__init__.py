"""Membership changes as a feed: ``acme.members.watch()``.

Sentry sends no webhook when an invite is accepted, a member is removed or a
role changes (the integration guide says to poll the member list on a
schedule). :class:`MemberWatch` does that polling and diffing once, right:

* **Typed events** (:class:`MemberEvent`): ``invited``, ``joined`` (an invite
  was accepted, by the e-mail link or by SSO login), ``removed``,
  ``role_changed``, ``teams_changed`` (``teams=True``: one more list per team)
  and ``invite_expired``, each with the member now and before, and a stable
  ``id`` a consumer can deduplicate on.
* **Privilege alerts** (:data:`ALERT_KINDS`, ``event.is_alert``):
  ``role_raised`` (to manager or owner), ``2fa_disabled``, ``sso_link_lost``
  and ``idp_changed``, compared from the same list rows: no request more.
* **A baseline**: the first poll with an empty store records the org and emits
  nothing (``emit_initial=True`` emits every member instead).
* **One watcher per checkpoint**: the store's lease (a ``flock`` for the
  :class:`FileStore`, a fenced lease for the :class:`RedisStore`) lets one
  watcher hold a key; a second refuses to start
  (:class:`CheckpointBusyError`) instead of losing the first's events.
* **Checkpoints** in a :class:`CheckpointStore` (a :class:`FileStore` by
  default, :class:`RedisStore` with the ``redis`` extra): the snapshot and the
  events not yet handed out are saved before any of them is handed out, so a
  watcher that restarts emits exactly what changed while it was down. An event
  counts as delivered when it is handed out; the count is saved at the end of
  each batch, every 100 events and on :meth:`MemberWatch.aclose` (a crash in
  between hands the last few out again, with the same ids).
* **A budget**: the watcher's requests pass a gate that lets through at most
  ``budget`` of the server's limit per rate-limit window, then the client's
  own limiter (so they also count against the whole limit). A bulk job on the
  same client keeps the rest. When one poll needs more requests than the
  budget allows in ``interval``, the interval stretches, and the watcher says
  so (a log line, and :attr:`MemberWatch.interval` / :attr:`MemberWatch.stats`).
* **Nothing in the background**: all work happens inside ``__anext__`` (or
  :meth:`MemberWatch.poll`), so ``break`` or cancelling the consuming task
  leaves no task behind.

The rooms, lowest first (each imports only those before it):

* :mod:`.errors`: what can go wrong with a checkpoint (held, moved, unreadable);
* :mod:`.states`: :class:`MemberState`, what is kept of a member;
* :mod:`.alerts`: the privilege alert rules (pure);
* :mod:`.events`: the events and the pure :func:`diff_members`;
* :mod:`.stores`: the store and lease protocols, the memory store;
  :mod:`.filestore` and :mod:`.redisstore`, the file and Redis stores;
* :mod:`.budget`: the :class:`BudgetLimiter` (the watcher's share of the limit);
* :mod:`.options`: :class:`WatchOptions`, the settings, written and checked once;
* :mod:`.checkpoint`: the snapshot, its batch of events and the delivery cursor;
* :mod:`.snapshot`: one poll's reading of the org through the resources;
* :mod:`.watcher`: :class:`MemberWatch`, the loop that ties them together.
"""

from .alerts import ALERT_KINDS, AlertKind
from .budget import BudgetLimiter
from .errors import (
    CheckpointBusyError,
    CheckpointConflictError,
    CheckpointCorruptError,
    CheckpointError,
)
from .events import EVENT_KINDS, EventKind, MemberEvent, MemberState, diff_members
from .filestore import FileStore
from .options import WatchOptions
from .redisstore import RedisStore
from .stores import CheckpointLease, CheckpointStore, LeasingStore, MemoryStore, default_state_dir
from .watcher import MemberWatch, WatchStats, default_key

__all__ = [
    "ALERT_KINDS",
    "EVENT_KINDS",
    "AlertKind",
    "BudgetLimiter",
    "CheckpointBusyError",
    "CheckpointConflictError",
    "CheckpointCorruptError",
    "CheckpointError",
    "CheckpointLease",
    "CheckpointStore",
    "EventKind",
    "FileStore",
    "LeasingStore",
    "MemberEvent",
    "MemberState",
    "MemberWatch",
    "MemoryStore",
    "RedisStore",
    "WatchOptions",
    "WatchStats",
    "default_key",
    "default_state_dir",
    "diff_members",
]
