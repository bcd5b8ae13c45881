"""The sign-in policy's inputs, read from the database, the settings and the request: the one place they are
loaded for it, so idp/login/policy.py stays a pure function of plain values."""

from __future__ import annotations

from collections.abc import Mapping

from authlib.oauth2.rfc6749 import scope_to_list
from sqlalchemy import select

from idp import clock, delegation, sessions
from idp.accounts import factors, passwords
from idp.accounts.users import email_domain
from idp.extensions import db
from idp.login import policy
from idp.models import Client, Consent, SessionClient, SsoSession, User
from idp.portals import profile
from idp.runtime import settings
from idp.sessions import devices


def ascii_int(value: str | None) -> int | None:
    """A non-negative integer written in ASCII digits (str.isdigit also takes '²' and Arabic-Indic digits)."""
    return int(value) if value and value.isascii() and value.isdigit() else None


def request_of(params: Mapping, client: Client, hint_sub: str | None = None) -> policy.Request:
    return policy.Request(
        prompts=frozenset((params.get("prompt") or "").split()),
        max_age=ascii_int(params.get("max_age")),
        acr_values=tuple((params.get("acr_values") or "").split()),
        hint_sub=hint_sub,
        scopes=frozenset(scope_to_list(client.get_allowed_scope(params.get("scope") or "")) or []),
    )


def portal_of(client: Client) -> policy.Portal:
    mfa = settings().mfa
    return policy.Portal(
        mfa=client.mfa, factors=tuple(k for k in ("sms", "email", "totp") if k in (client.mfa_factors or [])),
        trusted_device_days=client.trusted_device_days, email_domains=tuple(client.email_domains or ()),
        first_party=bool(client.first_party), mfa_for_everyone=mfa.required_for_everyone,
        mfa_roles=frozenset(mfa.required_roles), acr_mfa=mfa.acr_mfa, delegation=profile.of(client).delegation,
    )


def person_of(user: User | None, client: Client, device_token: str | None, user_agent: str | None
              ) -> policy.Person | None:
    if user is None:
        return None
    consented: frozenset[str] = frozenset()
    if not client.first_party:
        consent = db.session.scalar(select(Consent).where(Consent.user_id == user.id,
                                                          Consent.client_id == client.id))
        consented = frozenset(consent.scopes if consent else [])
    device = devices.find(user, device_token, user_agent=user_agent) if device_token else None
    acting = (frozenset(d.id for d in delegation.principals_of(user, client.client_id, clock.now()))
              if profile.of(client).delegation else frozenset())
    return policy.Person(
        user_id=user.id, sub=user.sub, email_domain=email_domain(user.email), roles=frozenset(user.roles or []),
        factors=tuple(f.kind for f in factors.confirmed(user)),
        password_change=passwords.must_change(user, client), consented=consented,
        device_trusted=device is not None and devices.honoured(device, client.trusted_device_days),
        delegations=acting,
    )


def session_of(session: SsoSession | None, client: Client | None = None) -> policy.Session | None:
    """The SSO session; with `client`, also whom the person chose to act for at that portal in it."""
    if session is None:
        return None
    took_part = db.session.scalar(select(SessionClient).where(
        SessionClient.session_id == session.id, SessionClient.client_id == client.id)) if client else None
    return policy.Session(sid=session.sid, user_id=session.user_id, sub=session.user.sub,
                          auth_time=session.auth_time, amr=tuple(session.amr or ()), acr=session.acr,
                          alive=sessions.is_alive(session),
                          person_chosen=took_part is not None and took_part.person_chosen,
                          acting_for=took_part.delegation_id if took_part is not None else None)
