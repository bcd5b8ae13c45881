"""Should this authorization request stop for the person? Small named checks, each giving a reason or None."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from authlib.oauth2.rfc6749 import scope_to_list
from sqlalchemy import select

from idp import clock
from idp.accounts.users import email_domain
from idp.extensions import db
from idp.login import assurance
from idp.models import Client, Consent, SsoSession

# "mfa_enrol": the portal needs a second factor the user does not have yet; adding one needs a fresh password.
LOGIN_REASONS = {"no_session", "prompt_login", "max_age", "id_token_hint_other_user", "mfa_enrol",
                 "account_not_allowed"}


@dataclass(frozen=True)
class Decision:
    reason: str

    @property
    def needs_login(self) -> bool:
        return self.reason in LOGIN_REASONS

    @property
    def prompt_none_error(self) -> str:
        if self.needs_login:
            return "login_required"
        return "interaction_required" if self.reason == "mfa" else "consent_required"


def prompts(params: dict) -> set[str]:
    return set((params.get("prompt") or "").split())


def needs_login(params: dict, session: SsoSession | None, hint_sub: str | None, client: Client) -> str | None:
    if session is None:
        return "no_session"
    if "login" in prompts(params):
        return "prompt_login"
    max_age = params.get("max_age")
    # max_age=0 means "sign in now" (OIDC Core §3.1.2.1), even within the second of the last sign-in.
    if max_age is not None and (int(max_age) == 0 or clock.now() > session.auth_time + timedelta(seconds=int(max_age))):
        return "max_age"
    if hint_sub is not None and hint_sub != session.user.sub:
        return "id_token_hint_other_user"
    if not account_allowed(client, session.user):
        return "account_not_allowed"
    return None


def account_allowed(client: Client, user) -> bool:
    """A portal restricted to e-mail domains (business portals) takes only accounts at those domains."""
    return not client.email_domains or email_domain(user.email) in client.email_domains


def consent_missing(client: Client, user_id: int, scope: str, params: dict) -> bool:
    """First-party portals never ask; third-party ones ask for scopes not yet allowed, or on prompt=consent."""
    if client.first_party:
        return False
    if "consent" in prompts(params):
        return True
    wanted = set(scope_to_list(client.get_allowed_scope(scope or "")))
    consent = db.session.scalar(select(Consent).where(Consent.user_id == user_id, Consent.client_id == client.id))
    return not wanted <= set(consent.scopes if consent else [])


def needs_second_factor(params: dict, client: Client, session: SsoSession) -> str | None:
    """A step-up: this portal (or acr_values) asks more than the session proved."""
    if assurance.session_meets(client, session) or not assurance.asked(client, session.user, params):
        return None
    return "mfa" if assurance.usable_kinds(client, session.user) else "mfa_enrol"


def decide(params: dict, client: Client, session: SsoSession | None, hint_sub: str | None) -> Decision | None:
    reason = needs_login(params, session, hint_sub, client) or needs_second_factor(params, client, session)
    if reason:
        return Decision(reason)
    if consent_missing(client, session.user_id, params.get("scope", ""), params):
        return Decision("consent")
    return None
