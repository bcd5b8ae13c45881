"""Back-channel logout (OIDC Back-Channel Logout 1.0): signed logout tokens queued and POSTed with retries.

Deliveries are rows, so a failing portal or a restarted worker loses nothing: whoever runs deliver_due()
next (the thread started after a logout, or `idp worker`) picks up what is due.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Iterable
from datetime import timedelta

import requests
from flask import Flask, current_app
from joserfc import jws
from sqlalchemy import inspect, select, update

from idp import after_commit, clock
from idp.audit import EventTag, record
from idp.extensions import db
from idp.models import Client, LogoutDelivery, SsoSession
from idp.runtime import keyring, settings

log = logging.getLogger(__name__)
EVENT = "http://schemas.openid.net/event/backchannel-logout"
TOKEN_TYPE = "logout+jwt"
_TOKEN_SECONDS = 120


def logout_token(client: Client, session: SsoSession) -> str:
    """The logout token for one portal: the same sid as its ID tokens, never a nonce (§2.4)."""
    now = clock.timestamp(clock.now())
    claims = {
        "iss": settings().issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + _TOKEN_SECONDS,
        "jti": secrets.token_urlsafe(16),
        "sub": session.user.sub,
        "sid": session.sid,
        "events": {EVENT: {}},
    }
    return keyring().sign(claims, client.id_token_alg, typ=TOKEN_TYPE)


def queue_backchannel(session: SsoSession) -> list[LogoutDelivery]:
    """Queue a logout token for every portal that took part in the session and listens on a back channel."""
    now = clock.now()
    app = current_app._get_current_object()
    queued = []
    for participant in session.clients:
        client = participant.client
        if client is None or not client.backchannel_logout_uri:
            continue
        delivery = LogoutDelivery(client_id=client.id, logout_token=logout_token(client, session),
                                  attempts=0, created_at=now, next_attempt_at=now)
        db.session.add(delivery)
        queued.append(delivery)
        after_commit.collect("backchannel", delivery, lambda deliveries: _start(app, deliveries))
    db.session.flush()
    return queued


def _start(app: Flask, deliveries: list[LogoutDelivery]) -> None:
    """Once the logout commits: deliver its tokens (a delivery rolled back in a savepoint was never queued)."""
    ids = [state.identity[0] for state in map(inspect, deliveries) if state.persistent and state.identity]
    if not ids:
        return
    if app.config.get("IDP_BACKCHANNEL_INLINE"):
        # One attempt before the caller goes on (the CLI reports it; tests see it); retries are left to the
        # worker. In a thread of its own: no SQL may run in the session that is committing.
        thread = threading.Thread(target=_attempt_once, args=(app, ids), name="backchannel-logout-inline")
        thread.start()
        thread.join()
    else:
        deliver_in_background(app, ids)


def _attempt_once(app: Flask, ids: list[int]) -> None:
    with app.app_context():
        try:
            deliver_due(ids)
        finally:
            db.session.remove()


def _claim(delivery_id: int, attempts_seen: int) -> bool:
    """Take one attempt of a delivery, so two senders never POST the same attempt; commits.

    The lease moves next_attempt_at past the POST's timeout: if this sender dies mid-attempt,
    another one retries after it.
    """
    lease = clock.now() + timedelta(seconds=2 * settings().logout.backchannel_timeout_seconds + 1)
    claimed = db.session.execute(
        update(LogoutDelivery)
        .where(LogoutDelivery.id == delivery_id, LogoutDelivery.attempts == attempts_seen,
               LogoutDelivery.delivered_at.is_(None), LogoutDelivery.failed_at.is_(None))
        .values(attempts=attempts_seen + 1, next_attempt_at=lease)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return claimed == 1


def _post(uri: str, token: str) -> str | None:
    """POST the token form-encoded (§2.5); None on success (any 2xx), else what went wrong."""
    try:
        response = requests.post(uri, data={"logout_token": token},
                                 timeout=settings().logout.backchannel_timeout_seconds, allow_redirects=False)
    except requests.RequestException as exc:
        return type(exc).__name__
    return None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"


def _claims_of(token: str) -> dict:
    # Our own token, read back (its signature is ours) to refresh it or to say which session it was about.
    return json.loads(jws.extract_compact(token.encode()).payload)


def _fresh(delivery: LogoutDelivery) -> str:
    """The token to send now: a retry long after the logout gets a new iat/exp/jti, or the portal would
    rightly refuse it as expired (§2.6), and the delivery could never succeed."""
    claims = _claims_of(delivery.logout_token)
    now = clock.timestamp(clock.now())
    if claims.get("exp", 0) - now >= _TOKEN_SECONDS // 2:
        return delivery.logout_token
    claims.update(iat=now, exp=now + _TOKEN_SECONDS, jti=secrets.token_urlsafe(16))
    delivery.logout_token = keyring().sign(claims, delivery.client.id_token_alg, typ=TOKEN_TYPE)
    return delivery.logout_token


def attempt(delivery_id: int, attempts_seen: int) -> bool:
    """One claimed attempt: POST, then record delivered, retry later with backoff, or give up. Commits.

    `attempts_seen` is the count read when the delivery was found due: if another sender moved it on
    since, the claim fails and this sender leaves it alone.
    """
    if not _claim(delivery_id, attempts_seen):
        return False
    delivery = db.session.get(LogoutDelivery, delivery_id)
    cfg = settings().logout
    client = delivery.client
    error = _post(client.backchannel_logout_uri, _fresh(delivery)) if client.backchannel_logout_uri \
        else "no back-channel URI"
    now = clock.now()
    details = {"client_id": client.client_id, "attempts": delivery.attempts,
               "sid": _claims_of(delivery.logout_token).get("sid")}
    if error is None:
        delivery.delivered_at = now
        record(EventTag.BACKCHANNEL_LOGOUT_SENT, **details)
    else:
        delivery.last_error = error[:500]
        log.info("back-channel logout to %s failed (attempt %d): %s", client.client_id, delivery.attempts, error)
        if delivery.attempts >= cfg.backchannel_attempts:
            delivery.failed_at = now
            record(EventTag.BACKCHANNEL_LOGOUT_FAILED, outcome="failure", error=error, **details)
        else:
            backoff = cfg.backchannel_retry_seconds * (2 ** (delivery.attempts - 1))
            delivery.next_attempt_at = now + timedelta(seconds=backoff)
    db.session.commit()
    return error is None


def deliver_due(ids: Iterable[int] | None = None, limit: int = 100) -> int:
    """Attempt every delivery that is due (optionally only `ids`); returns how many arrived. Commits."""
    query = (
        select(LogoutDelivery.id, LogoutDelivery.attempts)
        .where(LogoutDelivery.delivered_at.is_(None), LogoutDelivery.failed_at.is_(None),
               LogoutDelivery.next_attempt_at <= clock.now())
    )
    if ids is not None:
        query = query.where(LogoutDelivery.id.in_(list(ids)))
    due = db.session.execute(query.order_by(LogoutDelivery.next_attempt_at).limit(limit)).all()
    delivered = sum(1 for delivery_id, attempts in due if attempt(delivery_id, attempts))
    db.session.commit()
    return delivered


def pending(ids: Iterable[int] | None = None) -> list[LogoutDelivery]:
    """Deliveries neither delivered nor given up."""
    query = select(LogoutDelivery).where(LogoutDelivery.delivered_at.is_(None), LogoutDelivery.failed_at.is_(None))
    if ids is not None:
        query = query.where(LogoutDelivery.id.in_(list(ids)))
    return list(db.session.scalars(query.order_by(LogoutDelivery.next_attempt_at)).all())


def deliver_in_background(app: Flask, ids: list[int]) -> threading.Thread:
    """After a logout commits: deliver these now and retry them until done or given up, off the request thread."""

    def run() -> None:
        with app.app_context():
            try:
                while True:
                    deliver_due(ids)
                    waiting = pending(ids)
                    if not waiting:
                        return
                    wait = (waiting[0].next_attempt_at - clock.now()).total_seconds()
                    db.session.remove()  # do not hold a connection while sleeping
                    time.sleep(min(max(wait, 0.01), 60))
            except Exception:  # a daemon thread must not die silently: the rows stay for the worker
                log.exception("back-channel logout delivery stopped; `idp worker` will retry")
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, name="backchannel-logout", daemon=True)
    thread.start()
    return thread
