"""Who is who at the ordering portal: roles from the provider's `roles` claim, and what a sign-in may do."""

from __future__ import annotations

from enum import StrEnum

PROFESSIONAL = "professional"
ACR_MFA = "urn:idp:acr:mfa"  # the provider's default mfa.acr_mfa; PORTAL_ACR_MFA names another


class SignIn(StrEnum):
    """What the portal does with a finished sign-in."""

    ACCEPT = "accept"
    STEP_UP = "step_up"  # a professional signed in with a password only: ask the provider for a second factor
    REFUSE = "refuse"  # a professional we asked a second factor of came back without one


def is_professional(roles: list[str] | None) -> bool:
    return PROFESSIONAL in (roles or [])


def decide(roles: list[str] | None, acr: str | None, asked_second_factor: bool, acr_mfa: str = ACR_MFA) -> SignIn:
    """Professionals need the provider's second-factor acr; end users (everyone else) are fine with a password."""
    if not is_professional(roles) or acr == acr_mfa:
        return SignIn.ACCEPT
    return SignIn.REFUSE if asked_second_factor else SignIn.STEP_UP
