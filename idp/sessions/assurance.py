"""What a proof is called in tokens: acr (two levels, named in settings) and the amr values of RFC 8176.

Proofs are kept per method in the sign-in state ("pwd", "sms", "email", "totp", "recovery", "device"); when a
second factor is asked is decided by the sign-in policy (idp/login/policy.py). Below the sign-in flow, so
the SSO sessions and the account pages name proofs the same way.
"""

from __future__ import annotations

from idp.runtime import settings

# The second factors, and what a trusted browser stands in for. A recovery code is a second factor too.
CODE_FACTORS = ("sms", "email", "totp", "recovery")
SECOND_FACTORS = (*CODE_FACTORS, "device")

# A code by e-mail and a recovery code are one-time passwords too; a trusted browser adds only "mfa", so
# a session whose second factor was a trusted browser can be told apart (portals that trust no browser).
_AMR = {"pwd": "pwd", "sms": "sms", "totp": "otp", "email": "otp", "recovery": "otp"}


def wants_mfa_level(params: dict) -> bool:
    """acr_values (a space-separated preference list) names the second-factor level."""
    return settings().mfa.acr_mfa in (params.get("acr_values") or "").split()


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


def session_proved_a_code(session) -> bool:
    """The session's last sign-in proved a second factor by a code (SMS, e-mail, app, recovery code), not only
    by a trusted browser standing in for one (whose sign-in adds "mfa" but no code method to amr)."""
    return session_has_mfa(session) and bool(set(session.amr or []) & {"sms", "otp"})

