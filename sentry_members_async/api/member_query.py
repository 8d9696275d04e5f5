"""Sentry's members ``query`` from keyword filters: one pure function, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

from ..errors import ValidationError
from ._common import check_email, check_org_role

__all__ = ["RoleFilter", "build_query"]

RoleFilter: TypeAlias = "str | Sequence[str] | None"


def _bool_token(name: str, value: bool | None) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be True, False or None")
    return [f"{name}:{'true' if value else 'false'}"]


def build_query(
    query: str | None = None,
    *,
    role: RoleFilter = None,
    email: str | Sequence[str] | None = None,
    is_invited: bool | None = None,
    has_2fa: bool | None = None,
    sso_linked: bool | None = None,
) -> str | None:
    """Sentry's members ``query`` from keyword filters (keys as in the behaviour reference).

    ``role=["owner", "manager"]`` gives ``role:owner role:manager`` (values of
    one key are OR-ed by Sentry). A raw ``query`` is appended as is.
    """
    tokens: list[str] = []
    if role is not None:
        roles = [role] if isinstance(role, str) else list(role)
        tokens += [f"role:{check_org_role(r)}" for r in roles]
    if email is not None:
        emails = [email] if isinstance(email, str) else list(email)
        tokens += [f"email:{check_email(e)}" for e in emails]
    tokens += _bool_token("isInvited", is_invited)
    tokens += _bool_token("has2fa", has_2fa)
    tokens += _bool_token("ssoLinked", sso_linked)
    if query is not None:
        if not isinstance(query, str):
            raise ValidationError("query must be a string")
        if query.strip():
            tokens.append(query.strip())
    return " ".join(tokens) or None
