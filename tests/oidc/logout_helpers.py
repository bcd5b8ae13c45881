"""Shared steps for the logout tests: log out at the end-session endpoint, find the audit records."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import g
from sqlalchemy import select

from idp.audit import EventTag
from idp.extensions import db
from idp.models import AuditEvent
from tests.helpers import csrf_token

PASSWORD = "correct horse battery"


def end_session(client, method: str = "GET", **params):
    """Call /logout with exactly these parameters (None values left out)."""
    params = {k: v for k, v in params.items() if v is not None}
    if method == "GET":
        return client.get("/logout?" + urlencode(params))
    return client.post("/logout", data=params)


def confirm_page(client, path: str = "/logout"):
    """GET a page with a form, returning (response, its CSRF token).

    The test app keeps one application context for the whole test, so Flask's `g` (where Flask-WTF
    caches the signed token) outlives each request; sign-in rotated the session's CSRF secret, so the
    cached token must go, as it would with a fresh `g` per request in production.
    """
    g.pop("csrf_token", None)
    page = client.get(path)
    return page, csrf_token(page.get_data(as_text=True))


def audit(tag: EventTag) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.tag == str(tag)).order_by(AuditEvent.id)))
