"""Running a bulk invite again after a partial failure, over loopback HTTP.

A SCIM row whose user was created but whose team join failed is ``failed``;
running it again finds the user in the member list before sending anything
(no ``POST Users``, which Sentry would answer ``409``: ``test_scim_user_index.py``,
``test_post_users_already_exists``) and still joins the row's teams (a join is
idempotent: ``204`` when already on the team,
``OrganizationMemberTeamDetailsEndpoint.post``).
"""

from __future__ import annotations

from sentry_members_async import BadRequestError, InviteRow, OutcomeKind, SentryClient
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.testing.faults import Status

K = OutcomeKind
TEAMS = "/api/0/organizations/acme/members/*/teams/*/"


def state(emu: SentryEmulator) -> tuple[bool, dict[str, str | None]]:
    """The invited person on the server: pending, and their teams with team roles."""
    (member,) = [m for m in emu.members("acme") if m["email"] == "x@example.com"]
    return member["pending"], member["teams"]


async def test_scim_row_run_again_joins_the_teams_it_missed() -> None:
    emu = SentryEmulator(seed=3, rate_limit=None)
    emu.add_org("acme", scim=True)
    emu.add_team("acme", "backend")
    emu.add_team("acme", "web")
    token = emu.add_token("acme")
    scim = emu.add_token("acme", kind="scim")
    emu.inject(
        "POST",
        "/api/0/organizations/acme/members/*/teams/web/",
        Status(400, {"detail": "no"}),
        calls={1},
    )
    row = InviteRow("x@example.com", teams=("backend", "web"), team_roles={"backend": "admin"})
    async with emu.serve() as url, SentryClient(token, base_url=url, scim_token=scim) as client:
        acme = client.org("acme")
        first = await acme.bulk.invite([row], via="scim")
        assert [o.kind for o in first] == [K.FAILED]
        assert isinstance(first[0].error, BadRequestError)
        assert state(emu) == (True, {"backend": "admin"})  # created, joined backend only

        again = await acme.bulk.invite(first.failed(), via="scim")
        member_id = str(emu.member("acme", "x@example.com").id)  # type: ignore[union-attr]
        assert [(o.kind, o.member_id) for o in again] == [(K.UPDATED, member_id)]
        assert state(emu) == (True, {"backend": "admin", "web": None})

        third = await acme.bulk.invite([row], via="scim")  # nothing left to do
        assert [(o.kind, o.member_id) for o in third] == [(K.ALREADY_INVITED, member_id)]
    assert state(emu) == (True, {"backend": "admin", "web": None})
    posts = [r.status for r in emu.find("POST", "/api/0/organizations/acme/scim/v2/Users")]
    assert posts == [201]  # the re-runs found the user first
    joins = [(r.path.rsplit("/", 2)[-2], r.status) for r in emu.find("POST", TEAMS)]
    assert joins == [
        *[("backend", 201), ("web", 400)],  # the first run
        *[("backend", 204), ("web", 201)],  # the re-run of the failed row
        *[("backend", 204), ("web", 204)],  # the third: nothing left to do
    ]
    assert emu.invites_created("acme") == {"x@example.com": 1}
