"""The real Sentry that ``tools/live/harness.py up`` started, as tests see it.

Tests assert on what the server holds and received, not on the SDK's report:
its database (``sql``, through ``psql``), its request log (``requests_since``:
uWSGI's access lines in the web log), and the ORM (``orm``: ``sentry exec``,
about 5 s a call, for what SQL alone cannot do, such as accepting an invite).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

_ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/1\.[01]" (?P<status>\d{3}) ')


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
            [self.psql, "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres"]
            + ["-d", self.database, "-tA", "-F", "\t", "-c", query],
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
        return {"id": member_id, "role": role, "email": mail, "user_id": user_id,
                "pending": str(pending == "t")}

    def member_count_now(self) -> int:
        return int(self.scalar(
            f"SELECT count(*) FROM sentry_organizationmember WHERE organization_id = {self.org_id()}"
        ))

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

    # --- the request log ----------------------------------------------------
    def log_mark(self) -> int:
        return self.web_log.stat().st_size

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

    def accept_invite(self, email: str) -> None:
        """The invitee signs up and accepts (as ``invite_helper.py`` does: ``set_user``)."""
        self.orm(
            "from sentry.models import OrganizationMember, User, UserEmail\n"
            f"u = User(email={email!r}, username={email!r}, name={email!r}, is_active=True)\n"
            "u.set_password('x'); u.save()\n"
            f"UserEmail.objects.filter(user=u).update(is_verified=True)\n"
            f"om = OrganizationMember.objects.get(organization__slug={self.org!r}, email={email!r})\n"
            "om.set_user(u.id); om.save()\n"
        )

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
