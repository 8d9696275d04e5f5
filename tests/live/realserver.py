"""The real Sentry that ``tools/live/harness.py up`` started, as tests see it.

Tests assert on what the server holds and received, not on the SDK's report:
its database (``sql``, through ``psql``), its request log (``requests_since``:
uWSGI's access lines in the web log), and the ORM (``orm``: ``sentry exec``,
about 5 s a call, for what SQL alone cannot do, such as accepting an invite).
"""

# ruff: noqa: S607, S608
# (redis-cli and psql from PATH; SQL built from this suite's own values, on a throwaway server)
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/1\.[01]" (?P<status>\d{3}) ')


_DAY = 24 * 3600
#: ``OrganizationMember.flags``, bit by bit (src/sentry/models/organizationmember.py).
_MEMBER_FLAGS = (
    "sso:linked",
    "sso:invalid",
    "member-limit:restricted",
    "idp:provisioned",
    "idp:role-restricted",
)


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    status: int


@dataclass(frozen=True)
class RealSentry:
    url: str
    org: str
    other_org: str
    teams: tuple[str, ...]
    member_count: int
    owner_member_id: str
    tokens: dict[str, str]
    database: str
    pg_port: int
    psql: str
    web_log: Path
    sentry: str
    conf: str
    redis_port: int

    # --- the database -------------------------------------------------------
    def sql(self, query: str) -> list[list[str]]:
        """Rows of a query on the server's own database, as strings."""
        out = subprocess.run(
            [
                self.psql,
                "-h",
                "127.0.0.1",
                "-p",
                str(self.pg_port),
                "-U",
                "postgres",
                "-d",
                self.database,
                "-tA",
                "-F",
                "\t",
                "-c",
                query,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def scalar(self, query: str) -> str:
        rows = self.sql(query)
        return rows[0][0] if rows else ""

    def org_id(self, slug: str | None = None) -> int:
        slug = slug or self.org
        return int(self.scalar(f"SELECT id FROM sentry_organization WHERE slug = '{slug}'"))

    def member_row(self, email: str) -> dict[str, str] | None:
        """The member of ``acme`` with this e-mail (an invite's or its user's), or None."""
        rows = self.sql(
            "SELECT m.id, m.role, coalesce(m.email, u.email), m.user_id, m.token IS NOT NULL"
            " FROM sentry_organizationmember m LEFT JOIN auth_user u ON u.id = m.user_id"
            f" WHERE m.organization_id = {self.org_id()}"
            f" AND lower(coalesce(m.email, u.email)) = lower('{email}')"
        )
        if not rows:
            return None
        member_id, role, mail, user_id, pending = rows[0]
        return {
            "id": member_id,
            "role": role,
            "email": mail,
            "user_id": user_id,
            "pending": str(pending == "t"),
        }

    def member_count_now(self) -> int:
        return int(
            self.scalar(
                "SELECT count(*) FROM sentry_organizationmember"
                f" WHERE organization_id = {self.org_id()}"
            )
        )

    def team_role(self, member_id: str, team_slug: str) -> str | None:
        """The member's team role as stored (NULL: the default for its org role), or 'absent'."""
        rows = self.sql(
            "SELECT 'r:' || coalesce(omt.role, '') FROM sentry_organizationmember_teams omt"
            " JOIN sentry_team t ON t.id = omt.team_id"
            f" WHERE omt.organizationmember_id = {int(member_id)} AND t.slug = '{team_slug}'"
            f" AND t.organization_id = {self.org_id()}"
        )
        if not rows:
            return "absent"
        return rows[0][0][2:] or None

    def member_ids(self) -> set[str]:
        """Every member id of ``acme`` (invites too)."""
        rows = self.sql(
            f"SELECT id FROM sentry_organizationmember WHERE organization_id = {self.org_id()}"
        )
        return {r[0] for r in rows}

    def rows_with_email(self, email: str) -> int:
        """How many member rows of ``acme`` carry this e-mail (an invite's or its user's)."""
        return int(
            self.scalar(
                "SELECT count(*) FROM sentry_organizationmember m"
                " LEFT JOIN auth_user u ON u.id = m.user_id"
                f" WHERE m.organization_id = {self.org_id()}"
                f" AND lower(coalesce(m.email, u.email)) = lower('{email}')"
            )
        )

    def invite_token(self, member_id: str) -> str:
        """The secret of an invite's link ('' once accepted)."""
        return self.scalar(
            f"SELECT coalesce(token, '') FROM sentry_organizationmember WHERE id = {int(member_id)}"
        )

    def role_of(self, email: str) -> str | None:
        """The org role stored for the member with this e-mail, or None when there is none."""
        row = self.member_row(email)
        return None if row is None else row["role"]

    def member_flags(self, email: str) -> set[str]:
        """The member's flags as stored (``OrganizationMember.flags``, a bit field)."""
        row = self.member_row(email)
        if row is None:
            return set()
        bits = int(
            self.scalar(f"SELECT flags FROM sentry_organizationmember WHERE id = {row['id']}")
        )
        return {name for i, name in enumerate(_MEMBER_FLAGS) if bits & (1 << i)}

    def emails_with_role(self, role: str) -> set[str]:
        """The lower-cased e-mails of ``acme``'s members (invites too) holding ``role``."""
        rows = self.sql(
            "SELECT lower(coalesce(m.email, u.email)) FROM sentry_organizationmember m"
            " LEFT JOIN auth_user u ON u.id = m.user_id"
            f" WHERE m.organization_id = {self.org_id()} AND m.role = '{role}'"
        )
        return {r[0] for r in rows}

    def scim_user_count(self) -> int:
        """The members SCIM ``Users`` lists: approved, and active or still invited
        (``OrganizationSCIMMemberIndex.get`` in src/sentry/scim/endpoints/members.py)."""
        return int(
            self.scalar(
                "SELECT count(*) FROM sentry_organizationmember"
                f" WHERE organization_id = {self.org_id()} AND invite_status = 0"
                " AND (user_id IS NULL OR user_is_active)"
            )
        )

    def members_without_2fa(self) -> int:
        """Members of ``acme`` whose user has no enrolled authenticator (invites excluded)."""
        return int(
            self.scalar(
                "SELECT count(*) FROM sentry_organizationmember m"
                f" WHERE m.organization_id = {self.org_id()} AND m.user_id IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM auth_authenticator a WHERE a.user_id = m.user_id)"
            )
        )

    def members_sso_linked(self) -> int:
        """Members of ``acme`` flagged ``sso:linked``."""
        return int(
            self.scalar(
                "SELECT count(*) FROM sentry_organizationmember"
                f" WHERE organization_id = {self.org_id()} AND flags & 1 = 1"
            )
        )

    def pending_count(self) -> int:
        return int(
            self.scalar(
                "SELECT count(*) FROM sentry_organizationmember"
                f" WHERE organization_id = {self.org_id()} AND user_id IS NULL"
            )
        )

    def team(self, slug: str) -> dict[str, str] | None:
        """An active team of ``acme`` by slug (id, slug, name), or None."""
        rows = self.sql(
            "SELECT id, slug, name FROM sentry_team"
            f" WHERE organization_id = {self.org_id()} AND slug = '{slug}' AND status = 0"
        )
        return dict(zip(("id", "slug", "name"), rows[0], strict=True)) if rows else None

    def team_status(self, team_id: str) -> int | None:
        """A team's status by id (0 active, 1 pending deletion, 2 deleting), None if gone."""
        value = self.scalar(f"SELECT status FROM sentry_team WHERE id = {int(team_id)}")
        return int(value) if value else None

    def active_team_count(self) -> int:
        return int(
            self.scalar(
                f"SELECT count(*) FROM sentry_team WHERE organization_id = {self.org_id()}"
                " AND status = 0"
            )
        )

    def team_member_ids(self, slug: str) -> set[str]:
        """The member ids on an active team of ``acme``."""
        rows = self.sql(
            "SELECT omt.organizationmember_id FROM sentry_organizationmember_teams omt"
            " JOIN sentry_team t ON t.id = omt.team_id"
            f" WHERE t.slug = '{slug}' AND t.organization_id = {self.org_id()} AND t.status = 0"
        )
        return {r[0] for r in rows}

    def create_members(
        self, emails: Iterable[str], role: str = "member", teams: Iterable[str] = ()
    ) -> dict[str, str]:
        """Members who have accepted (a user each), made through the ORM in one
        ``sentry exec`` (about 3 s): e-mail to member id."""
        emails, teams = list(emails), list(teams)
        out = self.orm(
            "import json\n"
            "from sentry.models import (Organization, OrganizationMember,"
            " OrganizationMemberTeam, Team, User, UserEmail)\n"
            f"org = Organization.objects.get(slug={self.org!r})\n"
            f"teams = [Team.objects.get(organization=org, slug=s) for s in {teams!r}]\n"
            "ids = {}\n"
            f"for email in {emails!r}:\n"
            "    u = User(email=email, username=email, name=email.split('@')[0], is_active=True)\n"
            "    u.set_unusable_password(); u.save()\n"
            "    UserEmail.objects.filter(user=u, email=email).update(is_verified=True)\n"
            "    m = OrganizationMember.objects.create(organization=org, user_id=u.id,"
            f" role={role!r})\n"
            "    for t in teams:\n"
            "        OrganizationMemberTeam.objects.create(team=t, organizationmember=m,"
            " is_active=True)\n"
            "    ids[email] = str(m.id)\n"
            "print('IDS' + json.dumps(ids))\n"
        )
        line = next(x for x in out.splitlines() if x.startswith("IDS"))
        return dict(json.loads(line[3:]))

    def held_team_role(self, member_id: str, team_slug: str) -> str:
        """The team role the member holds: the stored one, else its org role's minimum
        (Sentry stores NULL there; admin for admin, manager and owner), or 'absent'."""
        stored = self.team_role(member_id, team_slug)
        if stored != "absent" and stored is not None:
            return stored
        if stored == "absent":
            return "absent"
        role = self.scalar(
            f"SELECT role FROM sentry_organizationmember WHERE id = {int(member_id)}"
        )
        return "admin" if role in ("admin", "manager", "owner") else "contributor"

    # --- the request log ----------------------------------------------------
    def log_mark(self, quiet: float = 0.1) -> int:
        """Where the log ends, once it has not grown for ``quiet`` seconds (uWSGI
        writes a request's line after it sent the answer, so the last may lag)."""
        size = -1
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            now = self.web_log.stat().st_size
            if now == size:
                break
            size = now
            time.sleep(quiet)
        return size

    def settled_requests_since(self, mark: int, quiet: float = 0.3) -> list[LoggedRequest]:
        """As :meth:`requests_since`, once the log has not grown for ``quiet`` seconds."""
        self.log_mark(quiet)
        return self.requests_since(mark)

    def requests_since(self, mark: int) -> list[LoggedRequest]:
        """The requests the server answered since ``mark`` (uWSGI's access lines)."""
        with self.web_log.open("rb") as handle:
            handle.seek(mark)
            text = handle.read().decode("utf-8", "replace")
        return [
            LoggedRequest(m["method"], m["path"], int(m["status"])) for m in _ACCESS.finditer(text)
        ]

    # --- the ORM and Redis --------------------------------------------------
    def orm(self, code: str) -> str:
        """Runs Python in the server's Django (``sentry exec -c``); returns its stdout."""
        env = dict(os.environ, SENTRY_CONF=self.conf, PYTHONWARNINGS="ignore")
        for name in ("PYTHONPATH", "VIRTUAL_ENV", "COVERAGE_PROCESS_START"):
            env.pop(name, None)
        out = subprocess.run(
            [self.sentry, "exec", "-c", code], check=True, capture_output=True, text=True, env=env
        )
        return out.stdout

    def accept_invite(self, email: str) -> int:
        """The invitee signs up (or has an account already) and accepts, as
        ``invite_helper.py`` does (``set_user``); returns the user id."""
        out = self.orm(
            "from sentry.models import OrganizationMember, User, UserEmail\n"
            f"u = User.objects.filter(username={email!r}).first()\n"
            "if u is None:\n"
            f"    u = User(email={email!r}, username={email!r}, name={email!r}, is_active=True)\n"
            "    u.set_unusable_password(); u.save()\n"
            "    UserEmail.objects.filter(user=u).update(is_verified=True)\n"
            "om = OrganizationMember.objects.get("
            f"organization__slug={self.org!r}, email={email!r})\n"
            "om.set_user(u.id); om.save()\n"
            "print('USER%d' % u.id)\n"
        )
        return int(next(x for x in out.splitlines() if x.startswith("USER"))[4:])

    # --- putting the org back -----------------------------------------------
    def snapshot(self) -> dict[str, list[list[str]]]:
        """``acme``'s membership as stored: member rows and their teams (see :meth:`restore`)."""
        org = self.org_id()
        members = self.sql(
            "SELECT id, coalesce(user_id::text, ''), coalesce(email, ''), role, flags,"
            " coalesce(token, ''), coalesce(invite_status::text, ''),"
            " coalesce(inviter_id::text, '')"
            f" FROM sentry_organizationmember WHERE organization_id = {org} ORDER BY id"
        )
        teams = self.sql(
            "SELECT omt.organizationmember_id, omt.team_id, coalesce(omt.role, '')"
            " FROM sentry_organizationmember_teams omt JOIN sentry_team t ON t.id = omt.team_id"
            f" WHERE t.organization_id = {org} ORDER BY 1, 2"
        )
        return {"members": members, "teams": teams}

    def restore(self, snapshot: dict[str, list[list[str]]]) -> bool:
        """Puts ``acme``'s membership back as in ``snapshot`` (through the ORM, one
        ``sentry exec``): members added since are removed, members removed since come
        back with their ids, roles, flags and teams. False when nothing had changed."""
        if self.snapshot() == snapshot:
            return False
        self.orm(
            "import json\n"
            "from sentry.models import Organization, OrganizationMember, OrganizationMemberTeam\n"
            f"snap = json.loads({json.dumps(snapshot)!r})\n"
            f"org = Organization.objects.get(slug={self.org!r})\n"
            "keep = [int(r[0]) for r in snap['members']]\n"
            "OrganizationMember.objects.filter(organization=org).exclude(id__in=keep).delete()\n"
            "have = set(OrganizationMember.objects.filter(organization=org)"
            ".values_list('id', flat=True))\n"
            "for mid, uid, email, role, flags, token, status, inviter in snap['members']:\n"
            "    if int(mid) in have:\n"
            "        OrganizationMember.objects.filter(id=int(mid))"
            ".update(role=role, flags=int(flags))\n"
            "        continue\n"
            "    m = OrganizationMember(id=int(mid), organization=org, role=role,"
            " user_id=int(uid) if uid else None, email=email or None, token=token or None,"
            " inviter_id=int(inviter) if inviter else None)\n"
            "    if status: m.invite_status = int(status)\n"
            "    m.save()\n"
            "    OrganizationMember.objects.filter(id=m.id).update(flags=int(flags))\n"
            "    for member, team, team_role in snap['teams']:\n"
            "        if member == mid:\n"
            "            OrganizationMemberTeam.objects.create(organizationmember=m,"
            " team_id=int(team), role=team_role or None, is_active=True)\n"
        )
        return True

    def _org_quota_key(self) -> str:
        """The Redis key of the org's daily invite counter (``members:invite-by-org``,
        ``for_organization_member_invite`` in src/sentry/ratelimits/utils.py, keyed as
        ``RedisRateLimiter._construct_redis_key`` does: ``rl:<md5>:<day bucket>``)."""
        org_hash = hashlib.md5(str(self.org_id()).encode()).hexdigest()  # noqa: S324
        key_hex = hashlib.md5(f"members:invite-by-org:{org_hash}".encode()).hexdigest()  # noqa: S324
        return f"rl:{key_hex}:{int(time.time() / _DAY)}"

    def prefill_invite_quota(self, used: int) -> None:
        """Counts ``used`` invites against the org's daily quota (100 on this server),
        as if they were sent today: the next ``100 - used`` invites pass."""
        subprocess.run(
            [
                "redis-cli",
                "-p",
                str(self.redis_port),
                "SET",
                self._org_quota_key(),
                str(used),
                "EX",
                str(_DAY),
            ],
            check=True,
            capture_output=True,
        )

    def invite_quota_used(self) -> int:
        """How many invites the org's daily counter holds today."""
        out = subprocess.run(
            ["redis-cli", "-p", str(self.redis_port), "GET", self._org_quota_key()],
            check=True,
            capture_output=True,
            text=True,
        )
        return int(out.stdout.strip() or 0)

    def reset_invite_quota(self) -> None:
        """Deletes the daily invite quota's counters (``rl:*`` keys in Redis)."""
        script = "for _,k in ipairs(redis.call('keys','rl:*')) do redis.call('del',k) end return 1"
        subprocess.run(
            ["redis-cli", "-p", str(self.redis_port), "EVAL", script, "0"],
            check=True,
            capture_output=True,
        )


def load() -> RealSentry | None:
    """The server named by ``$SMA_LIVE_STATE`` (``nox -s live`` sets it), or None."""
    path = os.environ.get("SMA_LIVE_STATE")
    if not path or not Path(path).exists():
        return None
    state = json.loads(Path(path).read_text())
    return RealSentry(
        url=state["url"],
        org=state["org"],
        other_org=state["other_org"],
        teams=tuple(state["teams"]),
        member_count=int(state["member_count"]),
        owner_member_id=state["owner_member_id"],
        tokens=dict(state["tokens"]),
        database=state["database"],
        pg_port=int(state["pg_port"]),
        psql=state["psql"],
        web_log=Path(state["web_log"]),
        sentry=state["sentry"],
        conf=state["conf"],
        redis_port=int(state["redis_port"]),
    )
