"""An IdP role-restricted member's org role cannot be changed over REST (the latest
profile: ``put`` in src/sentry/api/endpoints/organization_member/details.py after
23.7.1; 23.7.1 has the lockout commented out, and its profile changes the role)."""

from __future__ import annotations

import aiohttp

from sentry_members_async.testing import SentryEmulator

LOCKED = {"role": "This user's org-role is managed through your organization's identity provider."}


async def _put_role(profile: str) -> tuple[int, object, str]:
    emu = SentryEmulator(seed=3, rate_limit=None, profile=profile)
    emu.add_org("acme")
    member_id = emu.add_member("acme", "locked@example.com", flags={"idp:role-restricted": True})
    token = emu.add_token("acme")
    with emu.serve_in_thread() as url:
        async with (
            aiohttp.ClientSession() as session,
            session.put(
                f"{url}/api/0/organizations/acme/members/{member_id}/",
                headers={"Authorization": f"Bearer {token}"},
                json={"orgRole": "manager", "role": "manager"},
            ) as resp,
        ):
            status, body = resp.status, await resp.json()
    held = next(m for m in emu.members("acme") if m["id"] == member_id)
    return status, body, str(held["role"])


async def test_the_latest_release_refuses_a_role_change_of_a_role_restricted_member() -> None:
    status, body, held = await _put_role("latest")
    assert (status, body) == (403, LOCKED)
    assert held == "member"


async def test_23_7_changes_it() -> None:
    status, _, held = await _put_role("23.7")
    assert status == 200
    assert held == "manager"
