"""Sentry's daily invite quotas (§0): ``for_organization_member_invite``
(src/sentry/ratelimits/utils.py, ``DEFAULT_CONFIG``), applied on invite and re-invite.

Not the per-second request limit (that one is ``testing/ratelimit.py``):
waiting seconds does not lift these.
"""

from __future__ import annotations

from .common import Answer, Ctx

__all__ = ["ERR_RATE_LIMITED", "INVITE_QUOTAS", "INVITE_QUOTA_WINDOW", "invite_quota"]

#: Invites per user or token, per organization and per e-mail in an organization,
#: each in a fixed 24 h window.
INVITE_QUOTAS = {"user": 100, "org": 100, "email": 10}
INVITE_QUOTA_WINDOW = 24 * 3600
ERR_RATE_LIMITED = "You are being rate limited for too many invitations."


def invite_quota(ctx: Ctx, email: str) -> None:
    """Count one invite against the daily quotas; 429 when any is exceeded.

    As in Sentry, every counter is bumped on every attempt (refused ones too:
    ``any()`` over a tuple that evaluated each ``is_limited``), and only when
    the organization has ``organizations:invite-members-rate-limits``.
    """
    org = ctx.org
    if not org.invite_rate_limits:
        return
    who = f"user:{ctx.token.user_id}" if ctx.token.user_id is not None else ctx.token.token
    window = int(ctx.state.now // INVITE_QUOTA_WINDOW)
    limited = False
    for key, limit in (
        (f"members:invite-by-user:{who}", INVITE_QUOTAS["user"]),
        (f"members:invite-by-org:{org.id}", INVITE_QUOTAS["org"]),
        (f"members:org-invite-to-email:{org.id}-{email.lower()}", INVITE_QUOTAS["email"]),
    ):
        start, count = ctx.state.invite_counters.get(key, (window, 0))
        count = count + 1 if start == window else 1
        ctx.state.invite_counters[key] = (window, count)
        limited = limited or count > limit
    if limited:
        raise Answer(429, {"detail": ERR_RATE_LIMITED})
