"""The ``table`` format: columns sized to a terminal, or tab-separated lines in a pipe.

As gh does: on a terminal, a few key columns sized to its width, one header,
and no cell of a column that cannot shrink (an e-mail, an id) ever cut (a
longer cell in a later row is printed whole, out of line); columns that do
not fit are left out, and a note on stderr says so. Anywhere else (a pipe, a
file), every value in full, tab-separated, one row per line, no header: what
``cut -f``, ``sort`` and ``awk -F'\\t'`` expect.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any

from rich.console import Console
from rich.text import Text

from .safe import terminal_text

__all__ = ["TerminalTable", "tsv_line"]

#: Columns that may be cut (with an ellipsis) to fit; all others keep their full width.
SHRINKABLE = frozenset({"name", "teams", "display_name", "invite_status"})
#: Rows read before the widths are fixed (then the rows stream).
SAMPLE = 1000
_GAP = 2
_MIN = 6


def tsv_line(row: dict[str, Any], columns: Sequence[str]) -> str:
    """One row, tab-separated, every value in full (tabs, newlines, escapes made visible)."""
    return "\t".join(terminal_text(row.get(c), sep=",") for c in columns) + "\n"


def _fit(cell: str, width: int, shrink: bool) -> str:
    if len(cell) <= width or not shrink:
        return cell
    return cell[: max(width - 1, 0)] + "…"


class TerminalTable:
    """Rows laid out for a terminal ``width`` columns wide."""

    def __init__(self, out: IO[str], columns: Sequence[str], width: int) -> None:
        self.out = out
        self.columns = list(columns)
        self.width = width
        self._sample: list[dict[str, str]] = []
        self._widths: list[tuple[str, int]] | None = None
        self.hidden: list[str] = []

    def add(self, row: dict[str, Any]) -> None:
        cells = {c: terminal_text(row.get(c)) for c in self.columns}
        if self._widths is None:
            self._sample.append(cells)
            if len(self._sample) >= SAMPLE:
                self._start()
            return
        self._line(cells)

    def close(self) -> None:
        if self._widths is None:
            self._start()

    def _start(self) -> None:
        natural = {c: max([len(c), *(len(r[c]) for r in self._sample)]) for c in self.columns}
        chosen: list[str] = []
        used = 0
        for column in self.columns:
            need = natural[column] if column not in SHRINKABLE else min(natural[column], _MIN)
            if not chosen or used + _GAP + need <= self.width:
                chosen.append(column)
                used += need + (_GAP if len(chosen) > 1 else 0)
        self.hidden = [c for c in self.columns if c not in chosen]
        spare = self.width - used
        widths: list[tuple[str, int]] = []
        for column in chosen:
            width = natural[column]
            if column in SHRINKABLE:
                width = min(natural[column], _MIN + max(spare, 0))
                spare -= width - _MIN if natural[column] > _MIN else 0
            widths.append((column, width))
        self._widths = widths
        if self._sample:
            header = "  ".join(c.ljust(w) for c, w in widths).rstrip()
            Console(file=self.out, highlight=False, soft_wrap=True).print(
                Text(header, style="bold")
            )
        for cells in self._sample:
            self._line(cells)
        self._sample = []

    def _line(self, cells: dict[str, str]) -> None:
        assert self._widths is not None
        parts = [_fit(cells[c], w, c in SHRINKABLE).ljust(w) for c, w in self._widths]
        self.out.write("  ".join(parts).rstrip() + "\n")
