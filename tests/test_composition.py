"""One client class and one org handle, composed rather than subclassed across layers.

``SentryClient`` is the pipeline class itself (``.org()`` on it); ``Org``
composes the resources and ``BulkAPI`` once each; ``acme.members`` is a plain
``MembersAPI`` whose ``.watch()`` takes ``WatchOptions``' fields, with their
defaults. The layers below are typed against the ``Requester`` and
``OrgContext`` protocols, which the two classes satisfy.
"""

from __future__ import annotations

import inspect

import attrs

import sentry_members_async
import sentry_members_async.client
import sentry_members_async.pipeline
from sentry_members_async import Org, SentryClient
from sentry_members_async._closing import AsyncClosing
from sentry_members_async.api import MembersAPI, OrgContext, ScimAPI, Scope, TeamsAPI
from sentry_members_async.bulk import BulkAPI
from sentry_members_async.pipeline import Requester
from sentry_members_async.transports import MemoryTransport, Request, Response
from sentry_members_async.watch import MemberWatch, WatchOptions


async def _never(request: Request) -> Response:
    raise AssertionError("nothing may be sent")


def _client() -> SentryClient:
    return SentryClient("t", transport=MemoryTransport(_never))


def test_one_client_class_under_every_name() -> None:
    assert sentry_members_async.client.SentryClient is SentryClient
    assert sentry_members_async.pipeline.SentryClient is SentryClient
    assert sentry_members_async.pipeline.BaseClient is SentryClient  # the deprecated alias
    assert SentryClient.__mro__[1:] == AsyncClosing.__mro__  # no pipeline base class


def test_the_org_handle_composes_the_resources_once_each() -> None:
    client = _client()
    acme = client.org("acme")
    assert isinstance(acme, Org)
    assert Org.__mro__ == (Org, object)  # no resource-layer base class
    assert (acme.client, acme.slug, repr(acme)) == (client, "acme", "Org('acme')")
    assert type(acme.members) is MembersAPI
    assert type(acme.teams) is TeamsAPI
    assert type(acme.scim) is ScimAPI
    assert type(acme.bulk) is BulkAPI
    context: OrgContext = acme  # the protocol the layers below are typed against
    requester: Requester = client
    assert context.client is requester


def test_members_watch_takes_the_watch_options_fields_with_their_defaults() -> None:
    keywords = inspect.signature(MembersAPI.watch).parameters
    fields = attrs.fields_dict(WatchOptions)
    assert [n for n in keywords if n != "self"] == list(fields)
    defaults = {name: field.default for name, field in fields.items()}
    assert {n: p.default for n, p in keywords.items() if n != "self"} == defaults
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for n, p in keywords.items() if n != "self")


def test_a_watch_from_resources_on_a_plain_scope() -> None:
    members = MembersAPI(Scope(_client(), "acme"))
    watch = members.watch(interval=5, budget=None)
    assert isinstance(watch, MemberWatch)
    assert watch.options == WatchOptions(interval=5, budget=None)
    assert watch.org == "acme"
