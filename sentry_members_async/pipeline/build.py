"""Building a :class:`Request` from a path template, parameters and a JSON body (no I/O).

Each path parameter is quoted as one segment, so a slug or an id can never
change the path; a REST path always ends with ``/`` (Sentry answers a path
without it with a 404, and no redirect; SCIM paths have none); query values
are typed; the headers of a request without a
body are built once per token (:class:`Headers` are immutable, so every such
request shares them, and their redacted twin is ready for hooks and answers).
"""

from __future__ import annotations

import json as _json
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias
from urllib.parse import quote

from ..errors import ValidationError
from ..transports.base import Headers, Request
from .config import ClientConfig, Tokens

__all__ = ["QueryValue", "RequestBuilder", "encode_query", "quote_segment"]

QueryScalar: TypeAlias = "str | int | float | bool"
QueryValue: TypeAlias = "QueryScalar | Sequence[QueryScalar] | None"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
#: What ``quote(..., safe="")`` leaves as it is (RFC 3986's unreserved characters).
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+").fullmatch


def quote_segment(value: str | int) -> str:
    """One path segment, percent-encoded so it can never add or remove a segment.

    Raises :class:`ValidationError` for values that no quoting makes safe
    (empty, ``.`` and ``..``).
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError(f"path parameter must be a string or an int, not {type(value)!r}")
    text = str(value)
    if text in ("", ".", ".."):
        raise ValidationError(f"path parameter {text!r} is not a valid path segment")
    return text if _UNRESERVED(text) else quote(text, safe="")


def _query_scalar(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ValidationError(f"query parameter {key!r} has an unsupported value type")


def encode_query(params: Mapping[str, QueryValue] | None) -> list[tuple[str, str]]:
    """The query pairs (``None`` values left out, a sequence repeats its key)."""
    pairs: list[tuple[str, str]] = []
    if not params:
        return pairs
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, str | int | float | bool):
            pairs.append((key, _query_scalar(key, value)))
        else:
            pairs.extend((key, _query_scalar(key, item)) for item in value)
    return pairs


class RequestBuilder:
    """Turns one call's arguments into the :class:`Request` to send."""

    __slots__ = ("_config", "_plain", "_prefix", "_tokens", "_twins")

    def __init__(self, config: ClientConfig, tokens: Tokens) -> None:
        self._config = config
        self._prefix = config.base_url.path.rstrip("/")
        self._tokens = tokens
        # token -> the headers of a request without a body; id(headers) -> their twin
        self._plain: dict[str, Headers] = {}
        self._twins: dict[int, Headers] = {}
        for token in tokens.secrets():
            plain = Headers(
                {
                    "Authorization": f"Bearer {token}",
                    "User-Agent": config.user_agent,
                    "Accept": "application/json",
                }
            )
            self._plain[token] = plain
            self._twins[id(plain)] = plain.redacted()

    def __repr__(self) -> str:
        return "RequestBuilder(<redacted>)"

    def build(
        self,
        method: str,
        path: str,
        *,
        path_params: Mapping[str, str | int] | None,
        params: Mapping[str, QueryValue] | None,
        json: Any,
        scim: bool,
        timeout: float | None,
    ) -> Request:
        config = self._config
        filled = _fill(path, path_params)
        if filled[-1] != "/" and not scim and "/scim/v2/" not in filled:
            filled += "/"
        url = config.base_url.with_path(self._prefix + filled, encoded=True)
        query = encode_query(params)
        if query:
            url = url.with_query(query)
        tokens = self._tokens
        token = tokens.scim_token if scim and tokens.scim_token is not None else tokens.token
        body: bytes | None = None
        headers: Headers | dict[str, str] = self._plain[token]
        if json is not None:
            headers = {
                "Authorization": f"Bearer {token}",
                "User-Agent": config.user_agent,
                "Accept": "application/json",
                "Content-Type": "application/json",
            }
            body = _json.dumps(json, separators=(",", ":"), ensure_ascii=False).encode()
        return Request(
            method=method,
            url=url,
            headers=headers,
            body=body,
            timeout=config.timeout if timeout is None else timeout,
            max_response_size=config.max_response_size,
        )

    def redacted(self, request: Request) -> Request:
        """``request`` with credentials masked (the shared headers' twin is ready)."""
        twin = self._twins.get(id(request.headers))
        if twin is None:
            return request.redacted()
        return Request(
            request.method,
            request.url,
            twin,
            request.body,
            request.timeout,
            request.max_response_size,
        )


def _fill(path: str, path_params: Mapping[str, str | int] | None) -> str:
    """``path`` with each ``{placeholder}`` replaced by its quoted parameter."""
    if not path.startswith("/"):
        raise ValidationError("path must start with '/'")
    if "{" not in path:
        return path
    values = path_params or {}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise ValidationError(f"path parameter {name!r} is missing")
        return quote_segment(values[name])

    return _PLACEHOLDER.sub(substitute, path)
