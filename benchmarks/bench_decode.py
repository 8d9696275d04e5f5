"""Decode cost per member: a page of 100 realistic members seeded by the emulator.

Ours (``decode_list``: stdlib json or orjson, then the structure functions
generated per model; cattrs' own function, the detailed twin, for reference) vs
pydantic ``TypeAdapter.validate_json`` on an equivalent model vs msgspec typed
decode (the floor) vs plain ``json.loads``. Microseconds per member, best of
repeated runs, and the ratio to pydantic.
"""

from __future__ import annotations

import asyncio
import json
import timeit

import msgspec
import orjson
import pydantic
from _common import QUICK, summary
from alt_models import MMember, PMember
from yarl import URL

from sentry_members_async import Member
from sentry_members_async.converter import _explainer, decode_list
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.transports.base import Request


def page() -> bytes:
    emu = SentryEmulator(seed=0, rate_limit=None)
    emu.add_org("acme")
    emu.add_teams("acme", 5)
    emu.add_members("acme", 999, teams=5)
    token = emu.add_token("acme")
    url = URL("http://127.0.0.1/api/0/organizations/acme/members/?cursor=100:3:0")
    response = asyncio.run(emu.handle(Request("GET", url, {"Authorization": f"Bearer {token}"})))
    return response.body


def per_member(fn: object, rounds: int = 60 if QUICK else 300) -> float:
    best = min(timeit.repeat(fn, number=rounds, repeat=5 if QUICK else 7))  # type: ignore[arg-type]
    return best / rounds / 100 * 1e6


def main() -> None:
    body = page()
    adapter = pydantic.TypeAdapter(list[PMember])
    decoder = msgspec.json.Decoder(list[MMember])
    assert len(json.loads(body)) == 100
    cattrs_hook = _explainer.get_structure_hook(Member)
    rows = {
        "ours: json + generated structure": per_member(
            lambda: decode_list(json.loads(body), Member)
        ),
        "ours: orjson + generated structure (the default with orjson installed)": per_member(
            lambda: decode_list(orjson.loads(body), Member)
        ),
        "reference: orjson + cattrs, detailed (the error explainer)": per_member(
            lambda: [cattrs_hook(m, Member) for m in orjson.loads(body)]
        ),
        "pydantic TypeAdapter.validate_json": per_member(lambda: adapter.validate_json(body)),
        "msgspec typed decode (floor)": per_member(lambda: decoder.decode(body)),
        "json.loads only": per_member(lambda: json.loads(body)),
    }
    pyd = rows["pydantic TypeAdapter.validate_json"]
    print(f"Page of 100 members, {len(body):,} bytes.\n")
    print("| decoder | us per member | ratio to pydantic |")
    print("|---|---|---|")
    for name, value in rows.items():
        print(f"| {name} | {value:.2f} | {value / pyd:.2f} |")
    plain = rows["ours: json + generated structure"]
    best = rows["ours: orjson + generated structure (the default with orjson installed)"]
    summary(
        "3. decode a member (page of 100)",
        f"{best:.1f} us with orjson ({plain:.1f} us with json)",
        f"pydantic {pyd:.1f} us, msgspec {rows['msgspec typed decode (floor)']:.1f} us",
        f"{best / pyd:.2f}x pydantic",
        "<= 1.5x pydantic (stretch <= 1.0x)",
        best / pyd <= 1.5,
    )


if __name__ == "__main__":
    main()
