"""Lists: Sentry's ``OffsetPaginator`` and its Link header (§6), and
``tokenize_query`` for the ``query`` parameter (§1).

Sources: src/sentry/api/base.py (``get_per_page``, ``build_cursor_link``),
src/sentry/api/paginator.py, src/sentry/utils/cursors.py,
src/sentry/search/utils.py (``tokenize_query``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from .common import Answer, Ctx, Result

__all__ = ["link_header", "offset_paginate", "parse_cursor", "per_page", "tokenize_query"]


def per_page(ctx: Ctx, default: int = 100, maximum: int = 100) -> int:
    raw = ctx.query.get("per_page")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Answer(400, {"detail": "Invalid per_page parameter."}) from None
    if value < 0 and not ctx.profile.negative_per_page:
        raise Answer(400, {"detail": "Invalid per_page parameter."})
    if value > maximum:
        raise Answer(400, {"detail": f"Invalid per_page value. Cannot exceed {maximum}."})
    return value


def parse_cursor(raw: str | None) -> tuple[int, int, int]:
    if raw is None or raw == "":
        return 0, 0, 0
    bits = raw.split(":")
    try:
        if len(bits) != 3:
            raise ValueError(raw)
        value = float(bits[0]) if "." in bits[0] else int(bits[0])
        return int(value), int(bits[1]), int(bits[2])
    except (ValueError, TypeError, OverflowError):
        raise Answer(400, {"detail": "Invalid cursor parameter."}) from None


def link_header(ctx: Ctx, nxt: tuple[str, bool], prev: tuple[str, bool]) -> str:
    url = ctx.request.url
    base = str(url.with_query(None).with_fragment(None))
    query = urlencode([(k, v) for k, v in ctx.query.items() if k != "cursor"])
    uri = f"{base}?{query}"
    return ", ".join(
        f'<{uri}&cursor={cursor}>; rel="{name}"; results="{"true" if has else "false"}"; '
        f'cursor="{cursor}"'
        for name, (cursor, has) in (("previous", prev), ("next", nxt))
    )


def offset_paginate(ctx: Ctx, rows: Sequence[Any], serialize: Callable[[Any], Any]) -> Result:
    """Sentry's ``OffsetPaginator``: cursor ``{per_page}:{page}:{is_prev}``."""
    limit = per_page(ctx)
    value, page, _is_prev = parse_cursor(ctx.query.get("cursor"))
    if page < 0 or value < 0:
        raise Answer(400, {"detail": "Pagination offset cannot be negative"})
    offset = page * value
    stop = offset + (value or limit) + 1
    results = list(rows[offset:stop])
    if value != limit:
        results = results[-(limit + 1) :]
    nxt = (f"{limit}:{page + 1}:0", len(results) > limit)
    prev = (f"{limit}:{page - 1}:1", page > 0)
    body = [serialize(row) for row in results[:limit]]
    return 200, body, {"Link": link_header(ctx, nxt, prev)}


def tokenize_query(text: str) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for token in re.findall(r'(?:[^\s"]+|"[^"]*")+', text):
        if ":" in token:
            key, value = token.split(":", 1)
            value = value.strip('"')
            if key:
                result.setdefault(key, []).append(value)
                continue
        result.setdefault("query", []).append(token.strip('"'))
    return result
