"""``sentry-members demo``: the whole product on the embedded emulator, no account needed.

Starts the emulator on loopback with a seeded organization (5,000 members,
30 teams, sentry.io's rate limit of 40 requests/s with 25 concurrent, and
30-80 ms of latency), then uses only the public SDK to list and export every
member, bulk-invite 300 new people from a generated CSV with team
assignment, and plan and apply a small roster change.
"""

from __future__ import annotations

import csv
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .bulk import BulkReport, load_invite_rows
from .cli import MEMBER_COLUMNS, Reporter, member_row
from .client import SentryClient
from .reconcile import DesiredMember
from .testing import RateLimit, SentryEmulator

__all__ = ["run_demo"]

console = Console(highlight=False)


def _outcomes(title: str, report: BulkReport[Any]) -> Table:
    table = Table(title=title)
    table.add_column("outcome")
    table.add_column("count", justify="right")
    for kind, count in sorted(report.counts().items(), key=lambda kv: kv[0].value):
        table.add_row(kind.value, str(count))
    return table


def _folder(workdir: str | None) -> Path:
    folder = Path(workdir or tempfile.mkdtemp(prefix="sentry-members-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_hires(path: Path, count: int, teams: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "role", "teams"])
        for i in range(count):
            writer.writerow([f"new.hire{i:04d}@acme.example.com", "member", teams[i % len(teams)]])
    return path


async def run_demo(n_members: int = 5_000, n_invites: int = 300, workdir: str | None = None) -> int:
    folder = _folder(workdir)
    emulator = SentryEmulator(seed=42, rate_limit=RateLimit.saas(), latency=(0.03, 0.08))
    emulator.add_org("acme", scim=True)
    teams = emulator.add_teams("acme", 30)
    emulator.add_team("acme", "backend")  # the team the README's examples use
    emulator.add_members("acme", n_members - 1, pending_ratio=0.05, teams=30)
    token = emulator.add_token("acme")
    timings: list[tuple[str, float]] = []
    console.rule("[bold]sentry-members demo")
    console.print(
        f"Emulated Sentry: organization 'acme', {n_members:,} members, {len(teams) + 1} teams, "
        "40 requests/s and 25 concurrent per token, 30-80 ms latency."
    )
    async with emulator.serve() as base_url, SentryClient(token, base_url=base_url) as client:
        console.print(f"Serving on {base_url}; files go to {folder}\n")
        acme = client.org("acme")

        # 1. list every member, streaming to a CSV
        started = time.perf_counter()
        export = folder / "members.csv"
        with open(export, "w", newline="", encoding="utf-8") as handle:  # noqa: ASYNC230
            writer = csv.DictWriter(handle, MEMBER_COLUMNS)
            writer.writeheader()
            count = 0
            with Reporter("listing members", None, client) as reporter:
                async for member in acme.members.list():
                    writer.writerow(member_row(member))
                    count += 1
                    if count % 500 == 0:
                        reporter.update(count)
                reporter.update(count)
        timings.append((f"list and export {count:,} members", time.perf_counter() - started))
        console.print(f"1. Listed {count:,} members into {export}")

        # 2. bulk invite from a generated CSV with team assignment
        hires = _write_hires(folder / "new-hires.csv", n_invites, teams)
        started = time.perf_counter()
        batch = load_invite_rows(hires, known_teams=teams)
        with Reporter("inviting", len(batch.rows), client) as reporter:
            invited = await acme.bulk.invite(batch.rows, progress=reporter.update)
        timings.append((f"bulk invite {len(batch.rows)} people", time.perf_counter() - started))
        console.print(f"2. Invited the {len(batch.rows)} rows of {hires}")
        console.print(_outcomes("bulk invite", invited))

        # 3. plan and apply a small roster change
        started = time.perf_counter()
        sample = [m async for m in acme.members.list(role="member", is_invited=False, limit=4)]
        third = await acme.members.get(sample[2].id)
        desired = [
            DesiredMember(sample[0].email, "manager"),  # promote; teams left as they are
            DesiredMember(sample[1].email, "manager"),
            # join a team as its admin, keep the current teams
            DesiredMember(
                sample[2].email,
                "member",
                {**{t.team_slug: t.role for t in third.team_roles}, teams[0]: "admin"},
            ),
            DesiredMember("contractor@partner.example.com", "member", {teams[2]: None}),
        ]
        plan = await acme.plan(desired, remove_missing=False)
        console.print("3. Roster change, as a plan:")
        console.print(plan.diff(), markup=False)
        applied = await acme.apply(plan)
        timings.append((f"plan and apply {len(plan)} changes", time.perf_counter() - started))
        console.print(_outcomes("apply", applied))

    stats = emulator.stats()
    table = Table(title="timings")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    for step, seconds in timings:
        table.add_row(step, f"{seconds:.1f}")
    console.print(table)
    console.print(
        f"Requests: {stats['requests']:,}; answered 429: {stats['rate_limited']}; "
        f"retries: {client.stats.retries}; peak concurrency: {stats['peak_concurrency']}."
    )
    ok = invited.ok and applied.ok
    console.print("[green]All done.[/green]" if ok else "[red]Some items failed.[/red]")
    return 0 if ok else 1
