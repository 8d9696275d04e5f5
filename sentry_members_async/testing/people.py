"""The named people of the documentation's examples, seeded into an emulator.

The README and the guides talk about Ann, Bob and a leaver; ``sentry-members
emulator serve`` seeds them (accepted members, Bob on ``backend``), so every
example runs as written against a served emulator. The CSV files the examples
read are shipped beside them in ``examples/data/`` (``new-hires.csv``,
``roster.csv``) and name these people.
"""

from __future__ import annotations

import attrs

from .emulator import SentryEmulator

__all__ = ["EXAMPLE_PEOPLE", "EXAMPLE_TEAMS", "Person", "add_example_people"]


@attrs.frozen
class Person:
    """A member the examples name: an accepted member of the organization."""

    email: str
    name: str
    role: str = "member"
    teams: tuple[str, ...] = ()


#: Teams the examples name, created if the organization lacks them.
EXAMPLE_TEAMS = ("backend",)
EXAMPLE_PEOPLE = (
    Person("ann@example.com", "Ann Example"),
    Person("bob@example.com", "Bob Example", teams=("backend",)),
    Person("leaver@example.com", "Lee Leaver"),
)


def add_example_people(emulator: SentryEmulator, org: str = "acme") -> list[str]:
    """Add :data:`EXAMPLE_PEOPLE` (and :data:`EXAMPLE_TEAMS`) to ``org``; the e-mails added.

    People already in the organization are left as they are, so seeding twice
    changes nothing.
    """
    slugs = {team["slug"] for team in emulator.teams(org)}
    for slug in EXAMPLE_TEAMS:
        if slug not in slugs:
            emulator.add_team(org, slug)
    added = []
    for person in EXAMPLE_PEOPLE:
        if emulator.member(org, person.email) is not None:
            continue
        emulator.add_member(
            org, person.email, role=person.role, name=person.name, teams=person.teams
        )
        added.append(person.email)
    return added
