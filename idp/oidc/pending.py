"""Park an authorization request under a random uid while the person signs in, and resume it afterwards."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import timedelta

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from flask import g
from flask import session as browser_session
from sqlalchemy import delete, select

from idp import clock
from idp.extensions import db
from idp.models import PendingAuthorization
from idp.runtime import crypto, settings

PARAMS = (
    "response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge",
    "code_challenge_method", "prompt", "max_age", "login_hint", "id_token_hint", "ui_locales",
    "claims_locales", "acr_values", "response_mode",
)


def park(params: Mapping[str, str | None], reason: str, browser: str, flow: dict[str, object]) -> PendingAuthorization:
    now = clock.now()
    pending = PendingAuthorization(
        uid=secrets.token_urlsafe(24),
        browser_hash=crypto().keyed_hash(browser),
        params={k: params[k] for k in PARAMS if params.get(k) is not None},
        reason=reason,
        flow=flow,
        created_at=now,
        expires_at=now + timedelta(minutes=settings().session.login_minutes),
    )
    db.session.add(pending)
    # Old parked requests are garbage: sweep a few on the way.
    db.session.execute(delete(PendingAuthorization).where(PendingAuthorization.expires_at < now - timedelta(hours=1)))
    return pending


def load(uid: str, browser: str | None) -> PendingAuthorization | None:
    """The parked request, only for the browser that started it and only while fresh."""
    if not uid or len(uid) > 64 or not browser:
        return None
    pending: PendingAuthorization | None = db.session.scalar(
        select(PendingAuthorization).where(PendingAuthorization.uid == uid))
    if pending is None or not crypto().matches(browser, pending.browser_hash):
        return None
    if clock.now() >= pending.expires_at:
        return None
    return pending



def of_this_browser(uid: str | None) -> PendingAuthorization | None:
    """The request this browser parked under uid, if real and fresh; read once per request (the views, their
    throttle keys and resume_as all ask)."""
    if not uid:
        return None
    if g.get("parked_uid") != uid:
        g.parked, g.parked_uid = load(uid, browser_session.get("bid")), uid
    parked: PendingAuthorization | None = g.parked
    return parked

class ParkedRequest(OAuth2Request):  # type: ignore[misc]  # Authlib is untyped
    """An OAuth2Request rebuilt from parked parameters, so the resumed request is validated again."""

    def __init__(self, params: Mapping[str, str], uri: str):
        super().__init__("GET", uri)
        self.payload = BasicOAuth2Payload(dict(params))
        self._params = dict(params)

    @property
    def args(self) -> dict[str, str]:
        return self._params

    @property
    def form(self) -> dict[str, str]:
        return {}
