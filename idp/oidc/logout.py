"""Back-channel logout (OIDC Back-Channel Logout 1.0): signed logout tokens queued and POSTed with retries."""

from __future__ import annotations

import logging
import secrets
import threading
from datetime import timedelta

import requests
from sqlalchemy import select

from idp import clock
from idp.audit import EventTag, record
from idp.extensions import db
from idp.models import Client, LogoutDelivery, SsoSession
from idp.runtime import keyring, settings

log = logging.getLogger(__name__)
EVENT = "http://schemas.openid.net/event/backchannel-logout"


def logout_token(client: Client, session: SsoSession) -> str:
    now = clock.timestamp(clock.now())
    claims = {
        "iss": settings().issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(16),
        "sub": session.user.sub,
        "sid": session.sid,
        "events": {EVENT: {}},
    }
    return keyring().sign(claims, client.id_token_alg, typ="logout+jwt")


def queue_backchannel(session: SsoSession) -> list[LogoutDelivery]:
    now = clock.now()
    queued = []
    for participant in session.clients:
        client = participant.client
        if client is None or not client.backchannel_logout_uri:
            continue
        delivery = LogoutDelivery(client_id=client.id, logout_token=logout_token(client, session),
                                  created_at=now, next_attempt_at=now)
        db.session.add(delivery)
        queued.append(delivery)
    return queued


def deliver(delivery: LogoutDelivery) -> bool:
    """One attempt: POST the logout token; success is any 2xx (OIDC Back-Channel Logout §2.8)."""
    cfg = settings().logout
    client = delivery.client
    delivery.attempts += 1
    try:
        response = requests.post(
            client.backchannel_logout_uri,
            data={"logout_token": delivery.logout_token},
            timeout=cfg.backchannel_timeout_seconds,
            allow_redirects=False,
        )
        ok = 200 <= response.status_code < 300
        error = None if ok else f"HTTP {response.status_code}"
    except requests.RequestException as exc:
        ok, error = False, type(exc).__name__
    now = clock.now()
    if ok:
        delivery.delivered_at = now
        record(EventTag.BACKCHANNEL_LOGOUT_SENT, client_id=client.client_id, attempts=delivery.attempts)
    else:
        delivery.last_error = error
        if delivery.attempts >= cfg.backchannel_attempts:
            delivery.failed_at = now
            record(EventTag.BACKCHANNEL_LOGOUT_FAILED, outcome="failure", client_id=client.client_id,
                   attempts=delivery.attempts, error=error)
        else:
            backoff = cfg.backchannel_retry_seconds * (2 ** (delivery.attempts - 1))
            delivery.next_attempt_at = now + timedelta(seconds=backoff)
    return ok


def deliver_due(limit: int = 100) -> int:
    """Attempt every delivery that is due; returns how many were delivered. Commits."""
    now = clock.now()
    due = db.session.scalars(
        select(LogoutDelivery)
        .where(LogoutDelivery.delivered_at.is_(None), LogoutDelivery.failed_at.is_(None),
               LogoutDelivery.next_attempt_at <= now)
        .order_by(LogoutDelivery.next_attempt_at)
        .limit(limit)
    ).all()
    delivered = sum(1 for d in due if deliver(d))
    db.session.commit()
    return delivered


def pending_count() -> int:
    return len(db.session.scalars(
        select(LogoutDelivery.id).where(LogoutDelivery.delivered_at.is_(None), LogoutDelivery.failed_at.is_(None))
    ).all())


def deliver_in_background(app) -> threading.Thread:
    """After a logout commits: deliver now and retry until done or given up, off the request thread."""

    def run():
        import time

        with app.app_context():
            for _ in range(settings().logout.backchannel_attempts + 1):
                deliver_due()
                if not pending_count():
                    return
                time.sleep(settings().logout.backchannel_retry_seconds)
                db.session.remove()

    thread = threading.Thread(target=run, name="backchannel-logout", daemon=True)
    thread.start()
    return thread
