"""Following redirects: which ones, and what a redirected request keeps.

A transport never follows redirects; the pipeline does, within the origin of
the request only (scheme, host and port). A redirect to another origin is
refused for every method: a request body (an invitee's e-mail, a SCIM user) is
never sent to another host, and another host's answer never passes for
Sentry's (the ids in it are acted on, with the token, on Sentry: finding #17
of the 2026-12-03 review, a ``bulk.remove`` that deleted the member id an
open redirect's target named).
"""

from __future__ import annotations

import attrs
from yarl import URL

from ..errors import RedirectError, mask_secrets
from ..transports.base import Request, Response

__all__ = ["MAX_REDIRECTS", "REDIRECT_STATUSES", "redirected"]

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def redirected(
    request: Request, response: Response, location: str, secrets: tuple[str, ...]
) -> Request:
    """The request to send after ``response`` redirected ``request`` to ``location``.

    Raises :class:`RedirectError` for a target it refuses (not http(s), or
    another origin).
    """
    status = response.status

    def refuse(why: str) -> RedirectError:
        shown = mask_secrets(location, secrets)
        return RedirectError(
            status,
            request.method,
            request.url.path,
            f"redirect to {shown[:200]!r} not followed: {why}",
            location=shown,
        )

    try:
        target = request.url.join(URL(location))
    except (TypeError, ValueError):
        raise refuse("the Location is not a URL") from None
    if target.scheme not in ("http", "https") or not target.host:
        raise refuse("only http(s) URLs are followed")
    headers = request.headers
    method, body = request.method, request.body
    if status == 303 or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        headers = headers.drop("Content-Type")
    if target.origin() != request.url.origin():
        if body is not None:
            raise refuse(
                "it changes origin and the request has a body, which is only ever "
                f"sent to {request.url.origin()}"
            )
        raise refuse(
            f"it changes origin (to {target.origin()}), and an answer from there is not "
            f"taken for {request.url.origin()}'s; if the API now lives there, set "
            "base_url to it"
        )
    return attrs.evolve(request, method=method, url=target, headers=headers, body=body)
