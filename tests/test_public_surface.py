"""The root's public surface: what a user needs, and the moved names still reachable.

``sentry_members_async.__all__`` lists the client, the org handle, the errors,
the core models, the rows, the reports and the outcomes (60 names at most).
The internals and the area-specific names it listed before live in their own
modules; importing one of them from the root still works, with a
``DeprecationWarning`` naming the module to import it from.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys

import pytest

import sentry_members_async

#: Each name the root listed before it was cut down, and its module now.
MOVED = {
    "MembersAPI": "sentry_members_async.api",
    "ScimAPI": "sentry_members_async.api",
    "TeamsAPI": "sentry_members_async.api",
    "ScimSchema": "sentry_members_async.api.scim",
    "BulkAPI": "sentry_members_async.bulk",
    "OrgAPI": "sentry_members_async.org",
    "OrgMembers": "sentry_members_async.org",
    "BaseClient": "sentry_members_async.pipeline",
    "ClientStats": "sentry_members_async.pipeline",
    "RetryEvent": "sentry_members_async.pipeline",
    "Paginator": "sentry_members_async.pagination",
    "Limiter": "sentry_members_async.ratelimit",
    "NoLimiter": "sentry_members_async.ratelimit",
    "RetryDecision": "sentry_members_async.retry",
    "ScimEmail": "sentry_members_async.models",
    "ScimGroup": "sentry_members_async.models",
    "ScimGroupMember": "sentry_members_async.models",
    "ScimName": "sentry_members_async.models",
    "ScimUser": "sentry_members_async.models",
    "TeamRoleAssignment": "sentry_members_async.models",
    "AddToTeam": "sentry_members_async.reconcile",
    "ChangeRole": "sentry_members_async.reconcile",
    "Invite": "sentry_members_async.reconcile",
    "RemoveFromTeam": "sentry_members_async.reconcile",
    "RemoveMember": "sentry_members_async.reconcile",
    "SetTeamRole": "sentry_members_async.reconcile",
    "RoleRow": "sentry_members_async.rows",
    "RowBatch": "sentry_members_async.rows",
    "TeamRow": "sentry_members_async.rows",
    "Headers": "sentry_members_async.transports",
    "MemoryTransport": "sentry_members_async.transports",
    "Request": "sentry_members_async.transports",
    "Response": "sentry_members_async.transports",
    "Transport": "sentry_members_async.transports",
    "AiohttpTransport": "sentry_members_async.transports.aiohttp",
    "EVENT_KINDS": "sentry_members_async.watch",
    "BudgetLimiter": "sentry_members_async.watch",
    "CheckpointStore": "sentry_members_async.watch",
    "EventKind": "sentry_members_async.watch",
    "FileStore": "sentry_members_async.watch",
    "MemberState": "sentry_members_async.watch",
    "MemoryStore": "sentry_members_async.watch",
    "RedisStore": "sentry_members_async.watch",
    "WatchOptions": "sentry_members_async.watch",
    "WatchStats": "sentry_members_async.watch",
}


def test_the_root_lists_at_most_60_names_once_each() -> None:
    names = sentry_members_async.__all__
    assert len(names) <= 60
    assert len(set(names)) == len(names), sorted(n for n in names if names.count(n) > 1)


def test_every_listed_name_is_importable_without_a_warning() -> None:
    code = (
        "import warnings; warnings.simplefilter('error')\n"
        "from sentry_members_async import *\n"
        "import sentry_members_async as s\n"
        "missing = [n for n in s.__all__ if n not in globals()]\n"
        "assert not missing, missing\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_no_moved_name_is_listed() -> None:
    assert set(MOVED).isdisjoint(sentry_members_async.__all__)


@pytest.mark.parametrize(("name", "module"), sorted(MOVED.items()))
def test_a_moved_name_still_imports_from_the_root_with_a_warning(name: str, module: str) -> None:
    home = importlib.import_module(module)
    assert name in home.__all__, f"{module} does not export {name}"
    message = f"sentry_members_async.{name} is deprecated: import it from {module}"
    with pytest.warns(DeprecationWarning, match=f"^{re.escape(message)}$") as caught:
        found = getattr(sentry_members_async, name)
    assert found is getattr(home, name)
    assert caught[0].filename == __file__  # the warning points at the caller


def test_from_import_of_a_moved_name_warns() -> None:
    with pytest.warns(DeprecationWarning, match="import it from sentry_members_async.pipeline"):
        from sentry_members_async import BaseClient  # type: ignore[attr-defined]
    from sentry_members_async.pipeline import BaseClient as home

    assert BaseClient is home


def test_an_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchThing'"):
        getattr(sentry_members_async, "NoSuchThing")  # noqa: B009
    assert not hasattr(sentry_members_async, "NoSuchThing")
    with pytest.raises(ImportError):
        from sentry_members_async import NoSuchThing  # type: ignore[attr-defined] # noqa: F401
