"""How much a sign-in must prove for a portal, and what a proof is called in tokens (acr and RFC 8176 amr).

A second factor is asked when the deployment, the user's role, the portal or the request's acr_values require
one; a portal with mfa "optional" asks it of users who have one. Proofs are kept per method in the flow
("pwd", "sms", "email", "totp", "recovery", "device") and named in tokens as acr (two levels, named in settings)
and amr values registered by RFC 8176.
"""

from __future__ import annotations

from idp.models import Client, User
from idp.runtime import settings

SECOND_FACTORS = ("sms", "email", "totp", "recovery", "device")
# A code by e-mail and a recovery code are one-time passwords too; a trusted browser adds only "mfa", so
# a session whose second factor was a trusted browser can be told apart (portals that trust no browser).
_AMR = {"pwd": "pwd", "sms": "sms", "totp": "otp", "email": "otp", "recovery": "otp"}


def wants_mfa_level(params: dict) -> bool:
    """acr_values (a space-separated preference list) names the second-factor level."""
    return settings().mfa.acr_mfa in (params.get("acr_values") or "").split()


def required(client: Client, user: User, params: dict) -> bool:
    mfa = settings().mfa
    return (
        mfa.required_for_everyone
        or bool(set(user.roles or []) & set(mfa.required_roles))
        or client.mfa == "required"
        or wants_mfa_level(params)
    )


def allowed_kinds(client: Client) -> list[str]:
    return [kind for kind in ("sms", "email", "totp") if kind in (client.mfa_factors or [])]


def usable_kinds(client: Client, user: User) -> list[str]:
    """The user's confirmed factors this portal accepts, the last used first."""
    from idp.accounts import factors

    allowed = allowed_kinds(client)
    return [f.kind for f in factors.confirmed(user) if f.kind in allowed]


def asked(client: Client, user: User, params: dict) -> bool:
    """Must this sign-in include a second factor (or a trusted device standing in for one)?"""
    if required(client, user, params):
        return True
    return client.mfa == "optional" and bool(usable_kinds(client, user))


def needs_enrolment(client: Client, user: User, params: dict) -> bool:
    """A second factor is required here and the user has none this portal accepts."""
    return required(client, user, params) and not usable_kinds(client, user)


def second_factor_proven(proven: dict) -> bool:
    return any(method in proven for method in SECOND_FACTORS)


def acr(proven: dict) -> str:
    mfa = settings().mfa
    return mfa.acr_mfa if second_factor_proven(proven) else mfa.acr_password


def amr(proven: dict) -> list[str]:
    values = {_AMR[m] for m in proven if m in _AMR}
    if "pwd" in proven and second_factor_proven(proven):
        values.add("mfa")
    return sorted(values)


def session_has_mfa(session) -> bool:
    return session.acr == settings().mfa.acr_mfa


def session_meets(client: Client, session) -> bool:
    """The session's second factor counts here: a portal that trusts no browser wants a code of its own."""
    if not session_has_mfa(session):
        return False
    by_browser_only = not {"sms", "otp"} & set(session.amr or [])
    return not (by_browser_only and client.trusted_device_days == 0)
