"""Server data is data: never markup, never an escape sequence, never a spreadsheet formula.

A member sets their own display name in Sentry, so anything a listing prints
may be hostile: ``[/]`` (rich markup that crashes a table), ``[link=...]`` (a
hyperlink), ``ESC]0;...BEL`` (a terminal escape sequence) or
``=HYPERLINK(...)`` (a formula once the CSV is opened in a spreadsheet).

- :func:`terminal_text`: for anything a person reads (tables, tab-separated
  lines, messages): control characters (C0, DEL, C1) and the Unicode
  direction overrides are shown as visible escapes (``\\x1b``), so the text
  can be neither markup (it is printed with markup off, or as
  :class:`rich.text.Text`) nor an escape sequence.
- :func:`csv_cell`: OWASP's advice on CSV injection: a cell that starts with
  ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with
  ``'`` (the spreadsheet shows it as text), and control characters other than
  tab and newline are shown as escapes. ``--raw-csv`` writes values as they are.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FORMULA_STARTS", "csv_cell", "plain", "terminal_text"]

#: What a spreadsheet reads as the start of a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}
_CONTROLS = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]
_BIDI = [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]

_TERMINAL = {c: _NAMED.get(c, f"\\x{c:02x}") for c in _CONTROLS}
_TERMINAL.update({c: f"\\u{c:04x}" for c in _BIDI})
#: In a CSV cell, tab and newline are data (the cell is quoted).
_CSV = {c: v for c, v in _TERMINAL.items() if c not in (0x09, 0x0A)}


def plain(value: Any, *, sep: str = ", ") -> str:
    """A value as text: ``None`` is empty, a list or tuple is joined with ``sep``."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return sep.join(plain(v) for v in value)
    return str(value)


def terminal_text(value: Any, *, sep: str = ", ") -> str:
    """``value`` as one line a terminal shows as it is: control characters escaped."""
    return plain(value, sep=sep).translate(_TERMINAL)


def csv_cell(value: Any, *, raw: bool = False) -> str:
    """A CSV cell: formulas neutralised and control characters escaped, unless ``raw``."""
    text = plain(value, sep=";")
    if raw:
        return text
    quote = "'" if text.startswith(FORMULA_STARTS) else ""
    return quote + text.translate(_CSV)
