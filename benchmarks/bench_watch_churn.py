"""The watcher under churn: 5,000 members, changes landing mid-poll for 40 s.

``acme.members.watch(emit_initial=True)`` (in-memory store, no budget, no
interval) polls back to back while, beside it, invites (through the same
client), removals, role changes and acceptances (in the emulator's state, as if
made elsewhere) land every 5 ms: the offset pages shift under each poll. A last
poll runs once the churn has stopped. Replaying every event handed out onto an
empty model (the initial events are the baseline) must give exactly the
emulator's members: none lost (on the server, not in the replay), none phantom
(in the replay, not on the server), none in the wrong state (e-mail, role,
pending), no ``removed`` for a member the replay did not know, and no event id
handed out twice.

Held up in the adversarial review of 2026-12-03 ("What held up",
``watch_churn.py``); this keeps it as a regression benchmark, bounded in time.
The review's other watch run, ``members watch`` (the CLI) on a 50,000-member
org ``kill -9``'d mid-poll three times, is out of scope here: a test of the
CLI watcher killed with ``kill -9`` exists already.

``BENCH_QUICK=1`` (``benchmarks/run.py --quick``) or ``python bench_watch_churn.py
--quick``: 1,000 members, 8 s of churn. Either way it ends within its bound
(about 90 s, 20 s quick) and exits 0 when the goal is missed: the SUMMARY row
says so.
"""

from __future__ import annotations

import asyncio
import collections
import random
import time
from dataclasses import dataclass, field

from _common import pick, summary

from sentry_members_async import MemberEvent, MemberWatch, Org, SentryClient
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.watch import MemoryStore

MEMBERS = pick(5_000, 1_000)
SECONDS = pick(40, 8)
SEED = 11
#: (e-mail, role, pending): what the replay must agree on with the server.
State = tuple[str, str, bool]


@dataclass
class Replay:
    """The events handed out, applied in order onto an empty model."""

    model: dict[str, State] = field(default_factory=dict)
    removed_unknown: list[str] = field(default_factory=list)
    ids: collections.Counter[str] = field(default_factory=collections.Counter)
    kinds: collections.Counter[str] = field(default_factory=collections.Counter)
    polls: int = 0

    def apply(self, events: list[MemberEvent]) -> None:
        self.polls += 1
        for event in events:
            self.ids[event.id] += 1
            self.kinds[event.kind] += 1
            key = str(event.member_id)
            if event.member is None:  # removed
                if self.model.pop(key, None) is None:
                    self.removed_unknown.append(event.email)
            else:
                self.model[key] = (event.member.email, event.member.role, event.member.pending)


@dataclass
class Churn:
    """Changes made while the watcher polls: invites through the API, the rest outside it."""

    emu: SentryEmulator
    acme: Org
    stop: float
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))
    ops: collections.Counter[str] = field(default_factory=collections.Counter)

    async def run(self) -> None:
        org = self.emu.state.org("acme")
        assert org is not None
        while time.monotonic() < self.stop:
            members = [m for m in org.members.values() if m.role != "owner"]
            draw = self.rng.random()
            if draw < 0.35:
                self.ops["invite"] += 1
                await self.acme.members.invite(f"churn{self.ops['invite']}@newco.example.com")
            elif draw < 0.7:
                self.emu.state.remove_member(org, self.rng.choice(members))
                self.ops["remove"] += 1
            elif draw < 0.85:
                member = self.rng.choice(members)
                member.role = self.rng.choice(["member", "admin", "manager"])
                org.version += 1  # a change outside the handlers says so (emulator cache)
                self.ops["role"] += 1
            else:
                pending = [m for m in members if m.pending]
                if pending:
                    email = self.emu.state.member_email(self.rng.choice(pending))
                    self.emu.accept_invite("acme", email)
                    self.ops["accept"] += 1
            await asyncio.sleep(0.005)


async def poll_until(watch: MemberWatch, replay: Replay, stop: float) -> None:
    while time.monotonic() < stop:
        replay.apply(await watch.poll())


async def run(emu: SentryEmulator, token: str) -> tuple[Replay, Churn, int]:
    replay = Replay()
    async with SentryClient(token, base_url="http://localhost", transport=emu.transport()) as c:
        acme = c.org("acme")
        watch = acme.members.watch(store=MemoryStore(), budget=None, interval=0, emit_initial=True)
        replay.apply(await watch.poll())  # the baseline: one event per member
        churn = Churn(emu, acme, time.monotonic() + SECONDS)
        await asyncio.gather(churn.run(), poll_until(watch, replay, churn.stop))
        replay.apply(await watch.poll())  # quiet: the last poll
        await watch.aclose()
    return replay, churn, watch.stats.events


def main() -> None:
    started = time.monotonic()
    emu = SentryEmulator(seed=SEED, rate_limit=None, latency=(0.002, 0.01))
    emu.add_org("acme")
    emu.add_teams("acme", 3)
    emu.add_members("acme", MEMBERS - 1, pending_ratio=0.1, teams=3)
    token = emu.add_token("acme")
    replay, churn, events = asyncio.run(run(emu, token))

    truth = {
        str(m["id"]): (str(m["email"]), str(m["role"]), bool(m["pending"]))
        for m in emu.members("acme")
    }
    lost = sorted(truth.keys() - replay.model.keys())
    phantom = sorted(replay.model.keys() - truth.keys())
    wrong = sorted(k for k in truth.keys() & replay.model.keys() if truth[k] != replay.model[k])
    repeated = sum(n - 1 for n in replay.ids.values() if n > 1)
    print(
        f"{MEMBERS:,} members at the start, {SECONDS} s of churn (a change every 5 ms) "
        "while the watcher polls back to back; in-memory transport, 2-10 ms latency\n"
    )
    print("| members at the end | polls | churn | events (by kind) |")
    print("|---|---|---|---|")
    print(
        f"| {len(truth):,} | {replay.polls} | {dict(churn.ops)} "
        f"| {events:,} {dict(sorted(replay.kinds.items()))} |"
    )
    print(
        f"\nlost (on the server, not in the replay)={len(lost)}, phantom (in the replay, "
        f"not on the server)={len(phantom)}, wrong-state={len(wrong)}, "
        f"removed-unknown={len(replay.removed_unknown)}, event ids handed out twice={repeated}"
    )
    for key in lost[:3] + phantom[:3] + wrong[:3]:
        print(f"  member {key}: server {truth.get(key)}, replay {replay.model.get(key)}")
    for email in replay.removed_unknown[:3]:
        print(f"  removed, never seen: {email}")
    print(f"\n{time.monotonic() - started:.0f} s in all.")
    summary(
        f"watch under churn: {MEMBERS:,} members, {SECONDS} s of changes mid-poll",
        f"{replay.polls} polls, {sum(churn.ops.values()):,} changes, {events:,} events: "
        f"{len(lost)} lost, {len(phantom)} phantom, {len(wrong)} wrong, "
        f"{len(replay.removed_unknown)} removed-unknown, {repeated} repeated ids",
        "-",
        "-",
        "0 lost, 0 phantom, 0 wrong",
        not lost and not phantom and not wrong and not replay.removed_unknown and repeated == 0,
    )


if __name__ == "__main__":
    main()
