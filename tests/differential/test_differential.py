"""Each case sent to the real Sentry 23.7.1 and to the emulator's 23.7 profile.

A case agrees when every one of its steps got the same answer from both, as
``engine.compare`` sees answers. Cases run in the order listed: some build on
what an earlier step of the same case made (ids are looked up per backend).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from . import cases_http, cases_limits, cases_members, cases_scim, cases_teams
from .conftest import VARIANT_STATE, Pair, record
from .engine import Case, run_case

CASES: list[Case] = (
    cases_members.CASES
    + cases_teams.CASES
    + cases_scim.CASES
    + cases_http.CASES
    + cases_limits.CASES
)


def test_names_are_unique() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_case(pairs: Callable[[str], Pair | None], case: Case) -> None:
    pair = pairs(case.variant)
    if pair is None:
        pytest.skip(f"no {case.variant} server: set ${VARIANT_STATE[case.variant]}")
    differences = await run_case(case, pair.real, pair.emu)
    record(case.name, differences)
    if differences:
        pytest.fail("\n".join(differences), pytrace=False)
