"""JSON decoding: ``orjson`` when it is installed (optional, faster), else the stdlib.

``pip install orjson`` is all it takes; ``SENTRY_MEMBERS_JSON=json`` forces the
standard library.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

__all__ = ["BACKEND", "loads"]

loads: Callable[[bytes], Any] = json.loads
BACKEND = "json"

if os.environ.get("SENTRY_MEMBERS_JSON", "").lower() != "json":
    try:
        import orjson  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        pass
    else:
        loads = orjson.loads
        BACKEND = "orjson"
