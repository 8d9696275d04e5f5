"""Sentry's endpoint logic for the emulator, sans-I/O, one module per resource.

``dispatch(state, request)`` returns ``(status, body, headers)``; ``NO_BODY``
marks an empty body. Each rule cites the Sentry source file it comes from
(getsentry/sentry, e.g. ``src/sentry/api/endpoints/organization_member/index.py``)
or the live test that settled it on a real Sentry (``tests/live/...``).

- ``routing``: the route table (which path goes where), authentication, dispatch.
- ``members`` (list, invite), ``member_details`` (get, update, remove),
  ``member_teams`` (a member on a team), ``teams``, ``scim_users``,
  ``scim_groups``, ``scim`` (what SCIM shares, and Schemas).
- ``common`` (context, early answers, error bodies), ``listing`` (pagination,
  query parsing), ``lookups``, ``serializers``, ``invite_quota``.

Imports point one way: ``routing`` → the resource modules → ``serializers``
→ ``lookups``/``listing``/``invite_quota`` → ``common``. Two resources use
another's helper, as Sentry's own endpoints do: ``member_details`` the
invite serializer's team fields (``members``), ``scim_groups`` the team
deletion (``teams``) and the SCIM basics (``scim``).
"""

from .common import NO_BODY, Text
from .routing import dispatch

__all__ = ["NO_BODY", "Text", "dispatch"]
