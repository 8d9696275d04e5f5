"""The marker of a parameter or setting left at its default (httpx's ``USE_CLIENT_DEFAULT``).

Where ``None`` or a number is itself a value a caller may choose, "not given"
needs a value of its own: comparing with the default's number mistakes a
caller who chose that number for one who chose nothing.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = ["USE_DEFAULT", "UseDefault"]


class UseDefault(enum.Enum):
    """The type of :data:`USE_DEFAULT` (an enum of one, so ``is`` narrows it)."""

    USE_DEFAULT = "USE_DEFAULT"

    def __repr__(self) -> str:
        return "USE_DEFAULT"


#: "Not given": the default applies, whatever it is where it is read.
USE_DEFAULT: Final = UseDefault.USE_DEFAULT
