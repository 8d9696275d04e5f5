"""Removing members the identity provider provisioned, against the emulator over loopback HTTP.

Sentry (23.7.1, src/sentry/api/endpoints/organization_member/details.py) answers a
REST ``DELETE members/{id}/`` of a member flagged ``idp:provisioned`` with
``403 {"detail": "This user is managed through your organization's identity
provider."}``. ``bulk.remove`` says so, naming SCIM deprovisioning; with
``idp_fallback="scim"`` it removes them with SCIM ``DELETE Users/{id}`` and says
which API removed each member. The members are provisioned here as an
identity provider does it (SCIM ``POST Users``, then the person accepts).
"""

from __future__ import annotations

import asyncio
import csv
import os
import pathlib
import subprocess
import sys

import pytest

from sentry_members_async import (
    MemberId,
    Org,
    OutcomeKind,
    PermissionDeniedError,
    SentryClient,
    ValidationError,
)
from sentry_members_async.api.members import IDP_MANAGED_DETAIL
from sentry_members_async.bulk import IdpManagedError
from sentry_members_async.reconcile import Plan, RemoveMember
from sentry_members_async.testing import SentryEmulator

K = OutcomeKind
REST = "/api/0/organizations/acme/members/{}/"
SCIM = "/api/0/organizations/acme/scim/v2/Users/{}"


async def provision(emu: SentryEmulator, acme: Org, email: str, *, accept: bool = True) -> int:
    """A member the identity provider pushed (SCIM ``POST Users``), accepted unless told."""
    user = await acme.scim.users.create(email)
    if accept:
        emu.accept_invite("acme", email)
    member = emu.member("acme", email)
    assert member is not None
    assert member.flags["idp:provisioned"]
    return int(user.id)


def ids(emu: SentryEmulator) -> set[int]:
    return {m["id"] for m in emu.members("acme")}


def deletes(emu: SentryEmulator, template: str, member_id: int) -> int:
    return len(emu.find("DELETE", template.format(member_id)))


async def test_the_refusal_says_to_deprovision_through_scim(emu: SentryEmulator, acme: Org) -> None:
    idp = await provision(emu, acme, "pushed@example.com")
    emu.reset_log()
    report = await acme.bulk.remove(["pushed@example.com"])
    outcome = report[0]
    assert (outcome.kind, outcome.via, outcome.member_id) == (K.FAILED, "rest", MemberId(str(idp)))
    error = outcome.error
    assert isinstance(error, IdpManagedError)
    assert isinstance(error, PermissionDeniedError)  # an except for that still catches it
    assert (error.status, error.method, error.detail) == (403, "DELETE", IDP_MANAGED_DETAIL)
    assert error.member == "pushed@example.com"
    message = str(error)
    for named in (
        "acme.bulk.deprovision",
        "idp_fallback='scim'",
        "sentry-members scim users deactivate",
        "--idp-fallback scim",
    ):
        assert named in message
    assert report.failed() == ["pushed@example.com"]  # to run again with the fallback
    # nothing but the one refused REST DELETE was sent; the member is still there
    assert deletes(emu, REST, idp) == 1
    assert emu.find("DELETE", "*/scim/v2/*") == []
    assert idp in ids(emu)


async def test_members_remove_itself_says_the_member_is_idp_managed(
    emu: SentryEmulator, acme: Org
) -> None:
    idp = await provision(emu, acme, "pushed@example.com")
    emu.reset_log()
    with pytest.raises(IdpManagedError) as info:
        await acme.members.remove(MemberId(str(idp)))
    error = info.value
    assert isinstance(error, PermissionDeniedError)  # an except for that still catches it
    assert (error.status, error.method, error.detail) == (403, "DELETE", IDP_MANAGED_DETAIL)
    assert error.path == REST.format(idp)
    assert error.member == str(idp)
    message = str(error)
    assert "scope" not in message  # no scope lifts it: no scope advice
    for named in (f"{idp} was provisioned", "idp_fallback='scim'", "acme.bulk.deprovision"):
        assert named in message
    with pytest.raises(IdpManagedError):
        await acme.members.remove(MemberId(str(idp)), missing_ok=True)
    assert deletes(emu, REST, idp) == 2
    assert emu.find("DELETE", "*/scim/v2/*") == []
    assert idp in ids(emu)


async def test_members_remove_leaves_other_refusals_as_they_are(
    emu: SentryEmulator, acme: Org
) -> None:
    owner = next(m for m in emu.members("acme") if m["role"] == "owner")
    with pytest.raises(PermissionDeniedError) as info:
        await acme.members.remove(MemberId(str(owner["id"])))  # the only owner
    assert not isinstance(info.value, IdpManagedError)


async def test_idp_fallback_removes_them_through_scim_and_says_so(
    emu: SentryEmulator, acme: Org
) -> None:
    idp = await provision(emu, acme, "pushed@example.com")
    invited = await provision(emu, acme, "pending@example.com", accept=False)
    regular = next(m for m in emu.members("acme") if m["role"] == "member" and not m["pending"])
    emu.reset_log()
    report = await acme.bulk.remove(
        ["pushed@example.com", MemberId(str(invited)), regular["email"], "ghost@example.com"],
        idp_fallback="scim",
    )
    assert [(o.kind, o.via) for o in report] == [
        (K.REMOVED, "scim"),
        (K.REMOVED, "scim"),  # a pending SCIM invite is IdP-provisioned too
        (K.REMOVED, "rest"),
        (K.NOT_FOUND, None),  # looked up, nothing sent
    ]
    assert report.ok
    assert report.removed_via() == {"scim": 2, "rest": 1}
    left = ids(emu)
    assert not left & {idp, invited, regular["id"]}
    # each IdP member: exactly one refused REST DELETE, then exactly one SCIM DELETE
    for member_id in (idp, invited):
        assert deletes(emu, REST, member_id) == 1
        assert deletes(emu, SCIM, member_id) == 1
    assert [r.status for r in emu.find("DELETE", SCIM.format(idp))] == [204]
    assert deletes(emu, REST, regular["id"]) == 1
    assert deletes(emu, SCIM, regular["id"]) == 0  # REST removed it: SCIM never asked
    assert len(emu.find("DELETE", "*/scim/v2/Users/*")) == 2


async def test_the_fallback_is_for_the_idp_refusal_only(emu: SentryEmulator, acme: Org) -> None:
    owner = next(m for m in emu.members("acme") if m["role"] == "owner")
    emu.reset_log()
    # the only owner: also a 403, but SCIM would not lift it, so SCIM is not asked
    report = await acme.bulk.remove([owner["email"]], idp_fallback="scim")
    assert (report[0].kind, report[0].via) == (K.FAILED, None)
    assert isinstance(report[0].error, PermissionDeniedError)
    assert not isinstance(report[0].error, IdpManagedError)
    assert emu.find("DELETE", "*/scim/v2/*") == []
    assert owner["id"] in ids(emu)


async def test_a_scim_refusal_is_reported_with_the_reason_scim_was_tried(
    emu: SentryEmulator,
) -> None:
    token = emu.add_token("acme")
    weak_scim = emu.add_token("acme", ["member:read", "member:write"], kind="scim")
    async with (
        emu.serve() as url,
        SentryClient(token, base_url=url, scim_token=weak_scim) as client,
    ):
        acme = client.org("acme")
        idp = await provision(emu, acme, "pushed@example.com")
        emu.reset_log()
        report = await acme.bulk.remove(["pushed@example.com"], idp_fallback="scim")
    outcome = report[0]
    assert (outcome.kind, outcome.via) == (K.FAILED, "scim")
    assert isinstance(outcome.error, PermissionDeniedError)
    assert outcome.error.path == SCIM.format(idp)  # the SCIM answer, as given
    assert isinstance(outcome.error.__cause__, IdpManagedError)  # why SCIM was tried
    assert (deletes(emu, REST, idp), deletes(emu, SCIM, idp)) == (1, 1)
    assert idp in ids(emu)


async def test_apply_takes_the_same_fallback(emu: SentryEmulator, acme: Org) -> None:
    idp = await provision(emu, acme, "pushed@example.com")
    plan = Plan("acme", (RemoveMember(MemberId(str(idp)), "pushed@example.com"),))
    refused = await acme.apply(plan)
    assert refused[0].kind is K.FAILED
    assert isinstance(refused[0].error, IdpManagedError)
    emu.reset_log()
    applied = await acme.apply(plan, idp_fallback="scim")
    assert (applied[0].kind, applied[0].via) == (K.REMOVED, "scim")
    assert (deletes(emu, REST, idp), deletes(emu, SCIM, idp)) == (1, 1)
    assert idp not in ids(emu)


async def test_deprovision_removes_an_idp_provisioned_owner_through_scim(
    emu: SentryEmulator, acme: Org
) -> None:
    idp = await provision(emu, acme, "founder@example.com")
    await acme.members.update(MemberId(str(idp)), role="owner")  # owners go through REST
    emu.reset_log()
    report = await acme.bulk.deprovision(["founder@example.com"])
    assert (report[0].kind, report[0].via) == (K.REMOVED, "scim")
    assert (deletes(emu, REST, idp), deletes(emu, SCIM, idp)) == (1, 1)
    assert emu.find("PATCH", "*/scim/v2/Users/*") == []
    assert idp not in ids(emu)


async def test_an_unknown_fallback_is_refused_before_anything_is_sent(
    emu: SentryEmulator, acme: Org
) -> None:
    emu.reset_log()
    with pytest.raises(ValidationError, match="idp_fallback"):
        await acme.bulk.remove(["anyone@example.com"], idp_fallback="rest")  # type: ignore[arg-type]
    assert emu.find() == []


def test_the_command_line_removes_them_through_scim_when_asked(
    emu: SentryEmulator, tmp_path: pathlib.Path
) -> None:
    token = emu.add_token("acme")
    scim_token = emu.add_token("acme", kind="scim")
    with emu.serve_in_thread() as url:

        async def push() -> int:
            async with SentryClient(token, base_url=url, scim_token=scim_token) as client:
                return await provision(emu, client.org("acme"), "pushed@example.com")

        idp = asyncio.run(push())
        env = {
            **os.environ,
            "SENTRY_URL": url,
            "SENTRY_ORG": "acme",
            "SENTRY_AUTH_TOKEN": token,
            "SENTRY_SCIM_TOKEN": scim_token,
            "COLUMNS": "200",
        }

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            command = [sys.executable, "-m", "sentry_members_async", "members", "remove", *args]
            return subprocess.run(
                command,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
                cwd=tmp_path,  # where a failed-rows CSV would go
            )

        refused = cli("pushed@example.com")
        assert refused.returncode == 1
        assert "sentry-members scim users deactivate" in refused.stderr
        with (tmp_path / "failed-members-remove.csv").open(newline="") as handle:
            (failed,) = csv.DictReader(handle)
        assert failed["email"] == "pushed@example.com"  # the row, with how to remove it
        assert "--idp-fallback scim" in failed["error"]
        assert idp in ids(emu)
        removed = cli("--idp-fallback", "scim", "pushed@example.com")
    assert removed.returncode == 0, removed.stderr
    assert "removed through SCIM" in removed.stderr
    assert idp not in ids(emu)
    assert (deletes(emu, REST, idp), deletes(emu, SCIM, idp)) == (2, 1)
