"""``sentry-members demo``: the whole product on the embedded emulator, no account needed.

Starts the emulator on loopback with a seeded organization (5,000 members,
30 teams, sentry.io's rate limit of 40 requests/s with 25 concurrent, and
30-80 ms of latency), then uses only the public SDK to list and export every
member, bulk-invite 300 new people from a generated CSV with team
assignment (meeting sentry.io's daily invite quota at 100, then provisioning
the rest through SCIM), and plan and apply a small roster change.
"""

from __future__ import annotations

import asyncio
import csv
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from ..bulk import BulkReport, InviteRow, load_invite_rows
from ..client import SentryClient
from ..org import Org
from ..reconcile import DesiredMember
from .common import Exit
from .output import MEMBER_COLUMNS, Reporter, member_row, outcome_table

if TYPE_CHECKING:
    from ..testing import SentryEmulator

__all__ = ["demo_cmd", "run_demo"]

console = Console(highlight=False)


class _Clock:
    """The seconds each step of the demo took, for the closing table."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, float]] = []
        self._started = 0.0

    def start(self) -> None:
        self._started = time.perf_counter()

    def stop(self, step: str) -> None:
        self.steps.append((step, time.perf_counter() - self._started))

    def table(self) -> Table:
        table = Table(title="timings")
        table.add_column("step")
        table.add_column("seconds", justify="right")
        for step, seconds in self.steps:
            table.add_row(step, f"{seconds:.1f}")
        return table


def _folder(workdir: str | None) -> Path:
    folder = Path(workdir or tempfile.mkdtemp(prefix="sentry-members-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _seed(n_members: int) -> tuple[SentryEmulator, list[str]]:
    """sentry.io's profile (40 requests/s, 25 concurrent, the daily invite quotas), seeded."""
    # Imported here, not at the top: the emulator (aiohttp's server) is a tenth of
    # the command line's start-up, which every other command would pay for.
    from ..testing import SentryEmulator

    emulator = SentryEmulator.sentry_io(seed=42, latency=(0.03, 0.08))
    emulator.add_org("acme", scim=True)
    teams = emulator.add_teams("acme", 30)
    emulator.add_team("acme", "backend")  # the team the README's examples use
    emulator.add_members("acme", n_members - 1, pending_ratio=0.05, teams=30)
    return emulator, teams


def _write_hires(path: Path, count: int, teams: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "role", "teams"])
        for i in range(count):
            writer.writerow([f"new.hire{i:04d}@acme.example.com", "member", teams[i % len(teams)]])
    return path


async def _export(client: SentryClient, acme: Org, folder: Path, clock: _Clock) -> None:
    """1. List every member, streaming to a CSV."""
    clock.start()
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
    clock.stop(f"list and export {count:,} members")
    console.print(f"1. Listed {count:,} members into {export}")


async def _provision(
    client: SentryClient, acme: Org, invited: BulkReport[InviteRow], clock: _Clock
) -> bool:
    """The rows sentry.io's daily invite quota (100 a day) deferred go through SCIM."""
    deferred = invited.deferred()
    console.print(
        f"   The daily invite quota was met: {len(deferred)} rows deferred "
        f"({invited.quota.detail if invited.quota else ''}); provisioning them via SCIM."
    )
    clock.start()
    with Reporter("provisioning (SCIM)", len(deferred), client) as reporter:
        provisioned = await acme.bulk.invite(deferred, via="scim", progress=reporter.update)
    clock.stop(f"SCIM provision {len(deferred)} people")
    console.print(outcome_table("SCIM provisioning", provisioned))
    return not invited.failures() and provisioned.ok


async def _invite(
    client: SentryClient, acme: Org, hires: Path, teams: list[str], clock: _Clock
) -> bool:
    """2. Bulk invite from a generated CSV with team assignment; whether all went in."""
    clock.start()
    batch = load_invite_rows(hires, known_teams=teams)
    with Reporter("inviting", len(batch.rows), client) as reporter:
        invited = await acme.bulk.invite(batch.rows, progress=reporter.update)
    clock.stop(f"bulk invite {len(batch.rows)} people")
    console.print(f"2. Invited the {len(batch.rows)} rows of {hires}")
    console.print(outcome_table("bulk invite", invited))
    if invited.deferred():
        return await _provision(client, acme, invited, clock)
    return invited.ok


async def _roster_change(acme: Org, teams: list[str], clock: _Clock) -> BulkReport[Any]:
    """3. Plan and apply a small roster change."""
    clock.start()
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
    console.print("3. The next day, a roster change, as a plan:")
    console.print(plan.diff(), markup=False)
    applied = await acme.apply(plan)
    clock.stop(f"plan and apply {len(plan)} changes")
    console.print(outcome_table("apply", applied))
    return applied


async def run_demo(n_members: int = 5_000, n_invites: int = 300, workdir: str | None = None) -> int:
    folder = _folder(workdir)
    emulator, teams = _seed(n_members)
    token = emulator.add_token("acme")
    scim_token = emulator.add_token("acme", kind="scim")
    clock = _Clock()
    console.rule("[bold]sentry-members demo")
    console.print(
        f"Emulated Sentry: organization 'acme', {n_members:,} members, {len(teams) + 1} teams, "
        "40 requests/s and 25 concurrent per token, 30-80 ms latency."
    )
    async with (
        emulator.serve() as base_url,
        SentryClient(token, base_url=base_url, scim_token=scim_token) as client,
    ):
        console.print(f"Serving on {base_url}; files go to {folder}\n")
        acme = client.org("acme")
        await _export(client, acme, folder, clock)
        hires = _write_hires(folder / "new-hires.csv", n_invites, teams)
        invited_ok = await _invite(client, acme, hires, teams, clock)
        emulator.advance(days=1)  # the next day: the invite quota is back
        applied = await _roster_change(acme, teams, clock)

    stats = emulator.stats()
    console.print(clock.table())
    console.print(
        f"Requests: {stats['requests']:,}; answered 429: {stats['rate_limited']}; "
        f"retries: {client.stats.retries}; peak concurrency: {stats['peak_concurrency']}."
    )
    ok = invited_ok and applied.ok
    console.print("[green]All done.[/green]" if ok else "[red]Some items failed.[/red]")
    return 0 if ok else 1


@click.command("demo")
@click.option("--members", "n_members", default=5_000, show_default=True)
@click.option("--invites", "n_invites", default=300, show_default=True)
@click.option("--workdir", type=click.Path(file_okay=False), default=None)
def demo_cmd(n_members: int, n_invites: int, workdir: str | None) -> None:
    """The whole product on the embedded emulator, no Sentry account needed."""
    raise Exit(asyncio.run(run_demo(n_members=n_members, n_invites=n_invites, workdir=workdir)))
