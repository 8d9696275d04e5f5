"""The journal of a bulk run from a file: what a re-run of the same command skips.

``kill -9`` leaves no outcome table, so a run from ``--from-csv FILE`` appends
a line to ``FILE.journal`` (beside the input) for each row as it is taken
(``sent``) and as it finishes (``done``), one JSON object a line, flushed as
written: a killed process loses none. A run that ends (done, interrupted,
stopped by an error) appends ``redo`` for each row it did not finish and
``end``; a run where every row ended well removes the journal.

A ``done`` line carries the row's outcome (``created``, ``removed``, ...)
when the engine fills the report in place (``report=``); a row that ended
failed, deferred or not sent gets ``redo`` instead. A re-run reads it
(:meth:`Journal.load`):

- rows ``done`` with an outcome, or ``done`` in a run that reached its ``end``
  (and not ``redo`` after), are *confirmed*: skipped, without a request;
- rows taken but not finished by a run that was killed (no ``end``) are
  *unconfirmed*: the command checks them against the server first where a
  re-send is not harmless (an invite: one members lookup per 20 rows, and the
  rows found are skipped); elsewhere (removals, team changes, which Sentry
  applies once however often they are sent) they run again.

Rows are keyed by what identifies them (an e-mail, lower-cased), so an edited
input resumes too. ``--no-resume`` ignores and replaces the journal.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import IO, Any

import attrs

__all__ = ["Journal", "JournalState"]


@attrs.define
class JournalState:
    """What earlier runs did: keys confirmed done, and keys a killed run may have done."""

    confirmed: set[str] = attrs.field(factory=set)
    unconfirmed: set[str] = attrs.field(factory=set)

    def __bool__(self) -> bool:
        return bool(self.confirmed or self.unconfirmed)


class _Reader:
    """Reads a journal's lines in order, run by run."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.state = JournalState()
        self.done: set[str] = set()
        self.sent: set[str] = set()
        self.mine = False

    def _killed(self) -> None:  # a run of this command that never reached its end
        if self.mine:
            self.state.unconfirmed.update((self.done | self.sent) - self.state.confirmed)

    def read(self, entry: dict[str, Any]) -> None:
        if "start" in entry:
            self._killed()
            self.done, self.sent = set(), set()
            self.mine = entry["start"].get("command") == self.command
        elif not self.mine:
            return
        elif "sent" in entry:
            self.sent.add(entry["sent"])
        elif "done" in entry:
            if entry.get("kind"):  # the outcome is known: done, whatever comes next
                self.state.confirmed.add(entry["done"])
                self.state.unconfirmed.discard(entry["done"])
            self.done.add(entry["done"])
        elif "redo" in entry:
            for keys in (self.done, self.sent, self.state.confirmed):
                keys.discard(entry["redo"])
        elif "end" in entry:
            self.state.confirmed |= self.done
            self.state.unconfirmed -= self.done
            self.state.unconfirmed |= self.sent - self.done - self.state.confirmed
            self.done, self.sent, self.mine = set(), set(), False

    def close(self) -> JournalState:
        self._killed()
        self.state.unconfirmed -= self.state.confirmed
        return self.state


class Journal:
    """An append-only journal at ``path`` for ``command``."""

    def __init__(self, path: str | os.PathLike[str], command: str) -> None:
        self.path = Path(path)
        self.command = command
        self._handle: IO[str] | None = None

    @classmethod
    def beside(cls, source: str, command: str) -> Journal:
        """The journal of input file ``source``: ``source.journal``."""
        return cls(f"{source}.journal", command)

    def load(self) -> JournalState:
        """What the journal says earlier runs of this command did (nothing if none)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return JournalState()
        reader = _Reader(self.command)
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line torn by a kill -9: its row is in `sent`, unconfirmed
            if isinstance(entry, dict):
                reader.read(entry)
        return reader.close()

    def _write(self, entry: dict[str, Any]) -> None:
        if self._handle is None:
            self._handle = self.path.open("a", encoding="utf-8")
        self._handle.write(json.dumps(entry) + "\n")
        self._handle.flush()

    def start(self) -> None:
        self._write({"start": {"command": self.command}})

    def sent(self, key: str) -> None:
        self._write({"sent": key})

    def done(self, key: str, kind: str | None = None) -> None:
        """``key`` finished: ``kind`` its outcome (``None``: finished, outcome unknown)."""
        self._write({"done": key, "kind": kind} if kind else {"done": key})

    def redo(self, key: str) -> None:
        """``key`` ended not done (failed, deferred, not sent): a re-run does it."""
        self._write({"redo": key})

    def finish(self, redo: list[str], *, complete: bool) -> None:
        """The run ended: ``redo`` keys were not done; ``complete`` removes the journal."""
        for key in redo:
            self.redo(key)
        self._write({"end": {"complete": complete}})
        self.close()
        if complete:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
