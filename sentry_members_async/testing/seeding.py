"""Realistic, deterministic members and tokens for ``SentryEmulator``'s seeding.

Names are drawn from a seeded generator and tokens hashed from the seed, so
a seed gives the same organization every run.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Mapping, Sequence

from .state import ALL_SCOPES, ORG_ROLES, Organization, State, Team, Token

__all__ = ["mint_token", "seed_members"]

#: Scopes a token may hold that no endpoint here reads (Sentry's other resources).
_OTHER_SCOPES = {
    "org:billing", "org:integrations", "project:read", "project:write", "project:admin",
    "project:releases", "event:read", "event:write", "event:admin", "alerts:read",
    "alerts:write",
}  # fmt: skip
_TOKEN_PREFIX = {"user": "sntryu_", "integration": "sntrys_", "scim": "sntrys_scim_"}

_FIRST = [
    "Ada", "Alan", "Barbara", "Claude", "Donald", "Edsger", "Frances", "Grace", "Guido", "Hedy",
    "Ivan", "John", "Katherine", "Linus", "Margaret", "Niklaus", "Radia", "Shafi", "Tim",
    "Yukihiro", "Anita", "Brian", "Dennis", "Ken", "Leslie", "Mary", "Barbara", "Jean", "Sophie",
    "Evelyn",
]  # fmt: skip
_LAST = [
    "Lovelace", "Turing", "Liskov", "Shannon", "Knuth", "Dijkstra", "Allen", "Hopper", "Rossum",
    "Lamarr", "Sutherland", "McCarthy", "Johnson", "Torvalds", "Hamilton", "Wirth", "Perlman",
    "Goldwasser", "Berners-Lee", "Matsumoto", "Borg", "Kernighan", "Ritchie", "Thompson",
    "Lamport", "Shaw", "Koss", "Sammet", "Wilson", "Boyd",
]  # fmt: skip


def seed_members(
    state: State,
    org: Organization,
    n: int,
    rng: random.Random,
    *,
    pending_ratio: float,
    teams: Sequence[Team],
    roles: Mapping[str, float],
    domain: str,
    two_factor_ratio: float = 0.3,
    sso_linked_ratio: float = 0.2,
) -> list[int]:
    """Add ``n`` members to ``org`` (``pending_ratio`` of them invites); their ids."""
    owner = next(m for m in org.members.values() if m.role == "owner")
    role_names = list(roles)
    role_weights = list(roles.values())
    ids: list[int] = []
    base = len(org.members)
    for i in range(n):
        first = _FIRST[rng.randrange(len(_FIRST))]
        last = _LAST[rng.randrange(len(_LAST))]
        email = f"{first}.{last}.{base + i}@{domain}".lower()
        role = rng.choices(role_names, role_weights)[0]
        if rng.random() < pending_ratio:
            member = state.new_member(org, role, email=email, inviter_id=owner.user_id)
            member.token_expired = rng.random() < 0.1
        else:
            user = state.new_user(email, f"{first} {last}", has_2fa=rng.random() < two_factor_ratio)
            member = state.new_member(org, role, user=user, inviter_id=owner.user_id)
            member.flags["sso:linked"] = rng.random() < sso_linked_ratio
        if teams and ORG_ROLES[role].is_team_roles_allowed:
            for team in rng.sample(teams, k=min(len(teams), 1 + rng.randrange(2))):
                member.teams[team.id] = "admin" if rng.random() < 0.05 else None
        ids.append(member.id)
    org.version += 1  # the teams were set after each member was added
    return ids


def mint_token(
    state: State,
    seed: int,
    org: Organization,
    kind: str,
    scopes: Iterable[str] | None,
    user_id: int | None,
    *,
    expired: bool = False,
) -> str:
    """Store a new token of ``kind`` for ``org`` and return it; scopes default to all."""
    if scopes is None:
        chosen = set(ALL_SCOPES)
    else:
        chosen = set(scopes)
        unknown = chosen - set(ALL_SCOPES) - _OTHER_SCOPES
        if unknown:
            raise ValueError(f"unknown scopes: {sorted(unknown)}")
    digest = hashlib.sha256(f"{seed}:{len(state.tokens)}:{kind}".encode())
    token = _TOKEN_PREFIX[kind] + digest.hexdigest()
    proxy: int | None = None
    if kind != "user":
        # Sentry's internal integrations act as a proxy user ("scim-internal-integration-...").
        user = state.new_user("", "")
        user.username = f"{kind}-internal-integration-{digest.hexdigest()[:6]}"
        proxy = user.id
    state.tokens[token] = Token(
        token,
        kind,
        frozenset(chosen),
        org.id,
        user_id=user_id,
        expired=expired,
        proxy_user_id=proxy,
    )
    return token
