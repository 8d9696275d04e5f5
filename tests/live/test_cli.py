"""``sentry-members`` as a subprocess against the real server (``--url``, the token in
``SENTRY_AUTH_TOKEN``), each command checked in the server's database."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Checks
from .realserver import RealSentry


def _command() -> list[str]:
    script = Path(sys.executable).with_name("sentry-members")
    if script.exists():
        return [str(script)]
    found = shutil.which("sentry-members")
    return [found] if found else [sys.executable, "-m", "sentry_members_async"]


class Cli:
    def __init__(self, real: RealSentry, cwd: Path) -> None:
        self.real = real
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
        self.env["SENTRY_AUTH_TOKEN"] = real.tokens["owner"]
        self.env["SENTRY_SCIM_TOKEN"] = real.tokens["scim"]

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_command(), "--url", self.real.url, "--org", self.real.org, "--quiet", *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture
def cli(real: RealSentry, tmp_path: Path) -> Cli:
    return Cli(real, tmp_path)


def _csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _ran(result: subprocess.CompletedProcess[str]) -> tuple[int, str]:
    return result.returncode, result.stderr.strip()[-300:]


def test_members_commands(cli: Cli, real: RealSentry, check: Checks, uid: str) -> None:
    listed = cli("members", "list", "--format", "json")
    rows = json.loads(listed.stdout) if listed.returncode == 0 else []
    check.eq({r["id"] for r in rows}, real.member_ids(), "members list --format json: every id")
    managers = cli("members", "list", "--role", "manager", "--format", "csv")
    emails = {r["email"].lower() for r in csv.DictReader(managers.stdout.splitlines())}
    check.eq(emails, real.emails_with_role("manager"), "members list --role manager (csv)")
    me = cli("members", "get", "me", "--format", "json")
    check.eq(json.loads(me.stdout).get("email") if me.returncode == 0 else _ran(me),
             "owner@example.com", "members get me")  # fmt: skip

    a, b = f"cli-a-{uid}@example.com", f"cli-b-{uid}@example.com"
    invited = cli("members", "invite", a, b, "--role", "manager", "--team", "backend")
    check.eq(_ran(invited)[0], 0, "members invite: exit 0")
    check.eq([real.role_of(a), real.role_of(b)], ["manager", "manager"], "invited as managers")
    row = real.member_row(a) or {"id": "0"}
    check.eq(real.team_role(row["id"], "backend"), None, "invited onto backend")

    c, d = f"cli-c-{uid}@example.com", f"cli-d-{uid}@example.com"
    hires = _csv(cli.cwd / "hires.csv", [
        {"email": c, "role": "member", "teams": "backend;frontend"},
        {"email": d, "role": "manager", "teams": ""},
    ])  # fmt: skip
    from_csv = cli("members", "invite", "--from-csv", str(hires))
    check.eq(_ran(from_csv)[0], 0, "members invite --from-csv: exit 0")
    row = real.member_row(c) or {"id": "0"}
    check.eq((real.team_role(row["id"], "backend"), real.team_role(row["id"], "frontend")),
             (None, None), "--from-csv: on both teams")  # fmt: skip
    check.eq(real.role_of(d), "manager", "--from-csv: the row's role")

    set_role = cli("members", "set-role", a, "member")
    check.eq(_ran(set_role), (0, ""), "members set-role (an invite): exit 0, no error")
    check.eq(real.role_of(a), "member", "set-role: stored")
    removed = cli("members", "remove", b)
    check.eq(_ran(removed)[0], 0, "members remove: exit 0")
    check.eq(real.member_row(b), None, "members remove: the row is gone")


def test_invite_quota_and_scim(cli: Cli, real: RealSentry, check: Checks, uid: str) -> None:
    real.prefill_invite_quota(99)
    emails = [f"cliq{i}-{uid}@example.com" for i in range(3)]
    rows = _csv(cli.cwd / "many.csv", [{"email": e, "role": "member"} for e in emails])
    result = cli("members", "invite", "--from-csv", str(rows))
    check.eq(result.returncode, 75, "at the daily quota: exit 75 (try again later)")
    # The invites go in parallel: which one the last slot of the quota took varies.
    created = [e for e in emails if real.member_row(e) is not None]
    check.eq(len(created), 1, "one invite created before the quota")
    deferred = cli.cwd / "deferred-invites.csv"
    text = deferred.read_text() if deferred.exists() else ""
    later = [r["email"] for r in csv.DictReader(text.splitlines())]
    rest = [e for e in emails if e not in created]
    check.eq(later, rest, "deferred-invites.csv: the rows not sent")
    if len(rest) != 2:
        return

    scim = cli("members", "invite", "--from-csv", str(deferred), "--via", "scim")
    check.eq(_ran(scim)[0], 0, "the deferred rows --via scim: exit 0")
    check.true(all("idp:provisioned" in real.member_flags(e) for e in rest),
               "provisioned through SCIM")  # fmt: skip
    gone = cli("scim", "users", "deactivate", rest[0])
    check.eq(_ran(gone)[0], 0, "scim users deactivate: exit 0")
    check.eq(real.member_row(rest[0]), None, "scim users deactivate: removed")
    refused = cli("members", "remove", rest[1])
    check.eq(refused.returncode, 1, "members remove of an IdP member: exit 1 (failed)")
    check.true(real.member_row(rest[1]) is not None, "the IdP member is kept")
    fallback = cli("members", "remove", rest[1], "--idp-fallback", "scim")
    check.eq(_ran(fallback)[0], 0, "members remove --idp-fallback scim: exit 0")
    check.eq(real.member_row(rest[1]), None, "removed through SCIM")


def test_teams_commands(cli: Cli, real: RealSentry, check: Checks, uid: str) -> None:
    slug = f"cli-{uid}"
    created = cli("teams", "create", slug, "--name", f"CLI {uid}")
    check.eq(_ran(created)[0], 0, "teams create: exit 0")
    check.eq((real.team(slug) or {}).get("name"), f"CLI {uid}", "teams create: stored")
    listed = cli("teams", "list", "--format", "json")
    slugs = {t["slug"] for t in json.loads(listed.stdout)} if listed.returncode == 0 else set()
    check.true(slug in slugs and "backend" in slugs, "teams list: the new team and backend")
    member = real.member_row("member100@example.com") or {"id": "0"}
    added = cli("teams", "add", slug, "member100@example.com", "--role", "admin")
    check.eq(_ran(added)[0], 0, "teams add --role admin: exit 0")
    check.eq(real.team_role(member["id"], slug), "admin", "teams add: on the team as admin")
    off = cli("teams", "remove", slug, "member100@example.com")
    check.eq(_ran(off)[0], 0, "teams remove: exit 0")
    check.eq(real.team_role(member["id"], slug), "absent", "teams remove: off the team")
    team_id = (real.team(slug) or {"id": "0"})["id"]
    deleted = cli("teams", "delete", slug)
    check.eq(_ran(deleted)[0], 0, "teams delete: exit 0")
    check.eq(real.team_status(team_id), 1, "teams delete: pending deletion")


def test_plan_apply_and_watch(cli: Cli, real: RealSentry, check: Checks, uid: str) -> None:
    ids = real.create_members([f"clir{i}-{uid}@example.com" for i in range(2)], teams=["backend"])
    state = cli.cwd / "watch-state"
    baseline = cli("members", "watch", "--once", "--state-dir", str(state), "--format", "jsonl")
    check.eq((baseline.returncode, baseline.stdout.strip()), (0, ""), "watch --once: a baseline")

    r0, r1 = (f"clir{i}-{uid}@example.com" for i in range(2))
    new = f"clinew-{uid}@example.com"
    roster = _csv(cli.cwd / "roster.csv", [
        {"email": r0, "role": "manager", "teams": "backend"},
        {"email": r1, "role": "member", "teams": "frontend:admin"},
        {"email": new, "role": "manager", "teams": "backend"},
    ])  # fmt: skip
    planned = cli("plan", str(roster), "--keep-missing")
    lines = [x for x in planned.stdout.splitlines() if x[:1] in "+~-"]
    check.eq(len(lines), 4, f"plan: four changes ({lines})")
    applied = cli("apply", str(roster), "--keep-missing", "--yes")
    check.eq(_ran(applied)[0], 0, "apply --yes: exit 0")
    check.eq([real.role_of(r0), real.role_of(new)], ["manager", "manager"], "apply: roles")
    check.eq((real.team_role(ids[r1], "backend"), real.team_role(ids[r1], "frontend")),
             ("absent", "admin"), "apply: r1 moved to frontend as admin")  # fmt: skip
    again = cli("plan", str(roster), "--keep-missing")
    left = [x for x in again.stdout.splitlines() if x[:1] in "+~-"]
    check.eq((again.returncode, left), (0, []), "plan again: no changes")

    seen = cli("members", "watch", "--once", "--state-dir", str(state), "--format", "jsonl")
    events = [json.loads(x) for x in seen.stdout.splitlines() if x.strip()]
    kinds = sorted((e.get("kind"), e.get("email")) for e in events)
    # member -> manager is a role change and, being a raise, a role_raised as well.
    wanted = sorted([("invited", new), ("role_changed", r0), ("role_raised", r0)])
    check.eq(kinds, wanted, "watch --once: the invite and the role change since the baseline")
