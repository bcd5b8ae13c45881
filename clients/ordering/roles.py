"""Who is who at the ordering portal: roles from the provider's `roles` claim, and what a sign-in may do."""

from __future__ import annotations

from enum import StrEnum

PROFESSIONAL = "professional"
ACR_MFA = "urn:idp:acr:mfa"


class SignIn(StrEnum):
    """What the portal does with a finished sign-in."""

    ACCEPT = "accept"
    STEP_UP = "step_up"  # a professional signed in with a password only: ask the provider for a second factor
    REFUSE = "refuse"  # a professional we asked a second factor of came back without one


def is_professional(roles: list[str] | None) -> bool:
    return PROFESSIONAL in (roles or [])


def decide(roles: list[str] | None, acr: str | None, asked_second_factor: bool) -> SignIn:
    """Professionals need acr urn:idp:acr:mfa; end users (everyone else) are fine with a password."""
    if not is_professional(roles) or acr == ACR_MFA:
        return SignIn.ACCEPT
    return SignIn.REFUSE if asked_second_factor else SignIn.STEP_UP
