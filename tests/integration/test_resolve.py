"""``resolve()`` over the emulator: a 500-person directory joined on every address
Sentry holds, and a plan that removes the leavers and nobody else."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sentry_members_async import SentryClient
from sentry_members_async.errors import ValidationError
from sentry_members_async.reconcile import RemoveMember
from sentry_members_async.review import Person, load_directory, resolve
from sentry_members_async.review.directory import Directory
from sentry_members_async.review.resolve import join
from sentry_members_async.review.snapshot import ReviewMember
from sentry_members_async.testing import SentryEmulator

D = "acme.example.com"


def _seed() -> tuple[SentryEmulator, list[dict[str, str]], dict[str, str]]:
    emu = SentryEmulator(seed=21, rate_limit=None)
    emu.add_org("acme")
    emu.add_members("acme", 470, pending_ratio=0.0, domain=D)
    seeded = [m["email"] for m in emu.members("acme")[1:]]
    people: list[dict[str, str]] = [{"email": f"owner@{D}", "status": "active"}]
    leavers: dict[str, str] = {}
    for i, email in enumerate(seeded):
        row = {"email": email, "status": "active", "employee_id": f"E{i:04d}"}
        if i % 10 == 0:
            row["email"] = email.upper()  # the directory shouts
        elif i % 10 == 1 and i < 100:
            row["email"], row["aliases"] = (
                f"emp{i}@corp.example.com",
                f"x{i}@corp.example.com;{email}",
            )
        if i in (5, 11, 15, 25, 35):
            row["status"] = "terminated"
            leavers[row["email"]] = email
        people.append(row)
    emu.add_member("acme", "Mixed.Case@Acme.Example.com")
    people.append({"email": f"mixed.case@{D}", "status": "active"})
    emu.add_member("acme", f"legacy.name@{D}")
    people.append({"email": f"new.name@{D}", "status": "active"})
    # Invites accepted by accounts whose address is another one (sentry#19592, #72224).
    for name, status in (("ivy", "active"), ("left.second", "terminated")):
        emu.add_member("acme", f"{name}@{D}", pending=True)
        emu.accept_invite("acme", f"{name}@{D}", account_email=f"{name}.personal@example.org")
        people.append({"email": f"{name.upper()}@{D}", "status": status})
    leavers[f"LEFT.SECOND@{D}"] = "left.second.personal@example.org"
    emu.add_member("acme", f"gone.invite@{D}", pending=True)
    people.append({"email": f"gone.invite@{D}", "status": "terminated"})
    leavers[f"gone.invite@{D}"] = f"gone.invite@{D}"
    # Two duplicates: an invite and a member for one person; two memberships for one.
    emu.add_member("acme", f"dup1@{D}")
    emu.add_member("acme", f"dup1.other@{D}", pending=True)
    people.append({"email": f"dup1@{D}", "aliases": f"dup1.other@{D}", "status": "active"})
    emu.add_member("acme", f"dup2@{D}")
    emu.add_member("acme", f"dup2.second@{D}")
    people.append({"email": f"dup2@{D}", "aliases": f"dup2.second@{D}", "status": "active"})
    for n in range(1, 4):
        emu.add_member("acme", f"contractor{n}@{D}")
    people.append({"email": f"long.gone@{D}", "status": "terminated"})
    people += [{"email": f"future{n}@{D}", "status": "active"} for n in range(21)]
    assert len(people) == 500
    return emu, people, leavers


def _write(path: Path, people: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, ["email", "aliases", "employee_id", "status"])
        writer.writeheader()
        writer.writerows(people)


async def test_resolve_reports_exactly_the_leavers_conflicts_and_strangers(tmp_path: Path) -> None:
    emu, people, leavers = _seed()
    _write(tmp_path / "people.csv", people)
    directory = load_directory(
        tmp_path / "people.csv", aliases={f"LEGACY.name@{D}": f"new.name@{D}"}
    )
    assert len(directory) == 500
    token = emu.add_token("acme")
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        acme = client.org("acme")
        result = await resolve(acme, directory)
        assert await acme.resolve(directory) == result  # the org handle's way in
        from_file = await acme.resolve(tmp_path / "people.csv")  # no alias table
        assert from_file.leavers == result.leavers
        assert from_file.counts()["matched"] == result.counts()["matched"] - 1
        plan = result.plan()
        emu.reset_log()
        report = await acme.apply(plan)

    assert {m.person.email: m.member.email for m in result.leavers} == leavers
    assert sorted((c.kind, c.people[0].email) for c in result.conflicts) == [
        ("invite and member", f"dup1@{D}"),
        ("two memberships", f"dup2@{D}"),
    ]
    assert sorted(m.email for m in result.unknown) == [f"contractor{n}@{D}" for n in range(1, 4)]
    assert sorted(p.email for p in result.without_membership) == sorted(
        f"future{n}@{D}" for n in range(21)
    )
    assert result.counts() == {
        "matched": 473, "leavers": 7, "unknown": 3, "conflicts": 2, "withoutMembership": 21,
    }  # fmt: skip
    evidence = {m.person.email: m.evidence for m in result.matched}
    (ivy,) = evidence[f"IVY@{D}"]
    assert (ivy.source, ivy.sentry_address, ivy.via) == (
        "verified user email",
        f"ivy@{D}",
        "email",
    )
    (legacy,) = evidence[f"new.name@{D}"]
    assert (legacy.source, legacy.via, legacy.sentry_address) == (
        "member email",
        "alias table",
        f"legacy.name@{D}",
    )
    (mixed,) = evidence[f"mixed.case@{D}"]
    assert mixed.sentry_address == "Mixed.Case@Acme.Example.com"
    assert {e.via for m in result.leavers for e in m.evidence} == {"email", "alias"}

    # The plan removes the 7 leavers and nobody else; apply sends exactly those DELETEs.
    assert all(isinstance(c, RemoveMember) for c in plan.changes)
    assert sorted(c.email for c in plan.changes) == sorted(leavers.values())
    assert plan.kept == ()
    deletes = sorted(r.path for r in emu.requests if r.method == "DELETE")
    removed = {str(c.member_id) for c in plan.changes if isinstance(c, RemoveMember)}
    assert deletes == sorted(f"/api/0/organizations/acme/members/{i}/" for i in removed)
    assert {o.kind.value for o in report} == {"removed"}
    left = {m["email"] for m in emu.members("acme")}
    assert not left & set(leavers.values())
    assert len(left) == 470 + 1 + 12 - 7


def _member(member_id: str, email: str, **kw: object) -> ReviewMember:
    values: dict[str, object] = dict(
        member_id=member_id, email=email, name="", org_role="member", pending=False,
        expired=False, invite_status="approved", date_created=None, inviter_name=None,
        user_id=member_id, user_email=email, emails=((email, True),), has_2fa=True,
        sso_linked=False, sso_invalid=False, idp_provisioned=False, idp_role_restricted=False,
        last_login=None, last_active=None, teams=(),
    )  # fmt: skip
    values.update(kw)
    return ReviewMember(**values)  # type: ignore[arg-type]


def test_the_plan_keeps_owners_the_caller_ambiguous_and_unverified_matches() -> None:
    people = (
        Person(email="boss@x.io", status="terminated"),
        Person(email="me@x.io", status="terminated"),
        Person(email="twin@x.io", status="terminated"),
        Person(email="twin.b@x.io", aliases=("twin@x.io",), status="active"),
        Person(email="shadow@x.io", status="terminated"),
        Person(email="gone@x.io", status="terminated"),
    )
    members = [
        _member("1", "boss@x.io", org_role="owner"),
        _member("2", "me@x.io"),
        _member("3", "twin@x.io"),
        _member("4", "other@x.io", emails=(("other@x.io", True), ("shadow@x.io", False))),
        _member("5", "gone@x.io", pending=True, user_id=None, user_email=None, emails=()),
    ]
    result = join("acme", Directory(people), members, caller_id="2")
    _, kept = result.guarded()
    assert {k.match.member.email: k.reason for k in kept} == {
        "boss@x.io": "an Owner (remove_owners=True to remove)",
        "me@x.io": "the caller's own membership",
        "twin@x.io": "the membership matches more than one person",
        "other@x.io": "matched only through an unverified address of the account",
    }
    plan = result.plan()
    assert [(c.email, c.role) for c in plan.changes if isinstance(c, RemoveMember)] == [
        ("gone@x.io", "invite")
    ]
    assert len(plan.changes) == 1
    assert sorted(plan.kept) == ["boss@x.io", "me@x.io", "other@x.io", "twin@x.io"]
    assert [c.email for c in result.plan(remove_owners=True).changes] == ["boss@x.io", "gone@x.io"]
    assert [c.describe() for c in result.conflicts] == [
        "two people: twin@x.io, twin.b@x.io <-> twin@x.io (member)"
    ]


def test_a_directory_with_bad_rows_is_refused_naming_every_one(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "email,status,aliases\nok@x.io,active,\nnope,active,\nb@x.io,fired,\nc@x.io,left,zz\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as caught:
        load_directory(path)
    assert str(caught.value) == (
        "3 bad row(s) in the directory: people.csv:3: no e-mail address ('nope'); "
        "people.csv:4: status 'fired' is not active or terminated; "
        "people.csv:5: alias 'zz' is not an e-mail address"
    )
    text = '{"people": [{"email": "A@x.io", "aliases": ["b@x.io"], "status": "Terminated"}]}'
    (person,) = load_directory(text + "\n").people
    assert (person.addresses(), person.terminated) == (("a@x.io", "b@x.io"), True)
