"""SSO sessions: server-side rows; the browser cookie holds a random token whose keyed hash is stored."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select

from idp import clock
from idp.audit import EventTag, record
from idp.extensions import db
from idp.messaging import backchannel
from idp.models import Client, OutboxMessage, SessionClient, SsoSession, User
from idp.runtime import crypto, settings
from idp.sessions import assurance

COOKIE = "idp_sso"


def cookie_name(https: bool) -> str:
    """Over https the __Host- prefix: the browser then refuses the cookie unless Secure, host-only and Path=/,
    so a sibling host or a plain-http page cannot plant or shadow it."""
    return "__Host-" + COOKIE if https else COOKIE

# Writing last_seen_at on every request would turn every read into a write; a minute (or a tenth of a
# short idle lifetime) of imprecision in idleness is harmless.
_TOUCH_EVERY = timedelta(seconds=60)



def start(user: User, *, amr: list[str], acr: str | None, auth_time: datetime,
          ip: str | None = None, user_agent: str | None = None,
          client_id: str | None = None) -> tuple[SsoSession, str]:
    """Open a session; returns it and the cookie value (shown once). `client_id`: the portal signed in at."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session = SsoSession(
        sid=secrets.token_urlsafe(24),
        token_hash=crypto().keyed_hash(token),
        user_id=user.id,
        auth_time=auth_time,
        amr=amr,
        acr=acr,
        created_at=now,
        last_seen_at=now,
        ip=ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    db.session.add(session)
    db.session.flush()
    record(EventTag.LOGIN_SESSION_STARTED, user_id=user.id, client_id=client_id, sid=session.sid, amr=amr)
    return session, token


def reauthenticate(session: SsoSession, *, amr: list[str], acr: str | None, auth_time: datetime,
                   client_id: str | None = None) -> str:
    """The same person proved themselves again: keep the session (sid, portals), renew proof and cookie.

    Returns the new cookie value; a copy of the old cookie stops working.
    """
    cookie = secrets.token_urlsafe(32)
    session.token_hash = crypto().keyed_hash(cookie)
    session.auth_time, session.amr, session.acr = auth_time, amr, acr
    session.last_seen_at = clock.now()
    record(EventTag.LOGIN_SESSION_STARTED, user_id=session.user_id, client_id=client_id, sid=session.sid, amr=amr,
           renewed=True)
    return cookie


def expires_at(session: SsoSession) -> datetime:
    """When the session dies unless used: idle lifetime from last use, capped by the absolute lifetime."""
    cfg = settings().session
    return min(session.created_at + timedelta(hours=cfg.absolute_hours),
               session.last_seen_at + timedelta(minutes=cfg.idle_minutes))


def is_alive(session: SsoSession, now: datetime | None = None) -> bool:
    return (
        session.ended_at is None
        and session.user is not None
        and session.user.is_active
        and (now or clock.now()) < expires_at(session)
    )


def _touch_every() -> timedelta:
    return min(_TOUCH_EVERY, timedelta(minutes=settings().session.idle_minutes) / 10)


def find(cookie_value: str | None) -> SsoSession | None:
    """The live session behind a cookie, refreshed for idleness; None if unknown, ended or expired."""
    if not cookie_value or len(cookie_value) > 100:
        return None
    session = db.session.scalar(select(SsoSession).where(SsoSession.token_hash == crypto().keyed_hash(cookie_value)))
    if session is None or not is_alive(session):
        return None
    now = clock.now()
    if now - session.last_seen_at >= _touch_every():
        session.last_seen_at = now
    return session


def by_sid(sid: str | None) -> SsoSession | None:
    if not sid or len(sid) > 64:
        return None
    return db.session.scalar(select(SsoSession).where(SsoSession.sid == sid))


def add_client(session: SsoSession, client: Client, *, chosen: bool = False, delegation_id: int | None = None) -> None:
    """Remember that a portal took part, so it hears when the session ends; with `chosen`, also whom the person
    chose to act for there (`delegation_id`; None: themselves)."""
    took_part = db.session.scalar(
        select(SessionClient).where(SessionClient.session_id == session.id, SessionClient.client_id == client.id)
    )
    if took_part is None:
        took_part = SessionClient(session_id=session.id, client_id=client.id, first_at=clock.now())
        db.session.add(took_part)
    if chosen:
        took_part.person_chosen, took_part.delegation_id = True, delegation_id


def end(session: SsoSession, reason: str = "logout", initiated_by: Client | None = None) -> list[OutboxMessage]:
    """End the session (audited) and queue a back-channel logout for every portal that took part.

    Returns the queued deliveries; they are sent once the caller commits (idp/after_commit.py).
    """
    if session.ended_at is not None:
        return []
    session.ended_at = clock.now()
    record(EventTag.LOGOUT, user_id=session.user_id, sid=session.sid, reason=reason,
           client_id=initiated_by.client_id if initiated_by else None)
    return backchannel.queue_backchannel(session)


class LeftPortal(NamedTuple):
    """A portal's part in a session that ended because the delegation it acted under did."""

    client_id: str
    sid: str
    told: bool  # a logout token was queued (the portal listens on a back channel)


def leave_delegation(delegation_id: int) -> list[LeftPortal]:
    """A delegation ended: every live session's part at a portal acting under it ends. The portal hears of it on
    its back channel (about the principal it saw) and the part is dropped, so a next visit asks "for whom?"
    again; the session itself and its parts as the person themselves stay. Returns what was left (the caller
    audits it); the logout tokens are sent once the caller commits."""
    parts = db.session.scalars(
        select(SessionClient).join(SsoSession, SessionClient.session_id == SsoSession.id)
        .where(SessionClient.delegation_id == delegation_id, SsoSession.ended_at.is_(None))
        .order_by(SessionClient.id)
    ).all()
    left = []
    for part in parts:
        queued = backchannel.queue_for(part)
        left.append(LeftPortal(part.client.client_id, part.session.sid, queued is not None))
        part.session.clients.remove(part)  # delete-orphan: the row goes, and the loaded session forgets it
    db.session.flush()
    return left


def end_all_for_user(user: User, reason: str) -> list[OutboxMessage]:
    sessions = db.session.scalars(
        select(SsoSession).where(SsoSession.user_id == user.id, SsoSession.ended_at.is_(None))
    ).all()
    return [delivery for session in sessions for delivery in end(session, reason=reason)]


def end_expired(batch: int = 500) -> list[OutboxMessage]:
    """End sessions whose lifetime has run out (for `idp worker`), so portals hear of it and it is audited.

    An expired session is already refused at /authorize; this only makes its end visible. Works in
    batches until none is left, so a busy hour cannot build a backlog.
    """
    now = clock.now()
    cfg = settings().session
    deliveries: list[OutboxMessage] = []
    while True:
        candidates = db.session.scalars(
            select(SsoSession).where(
                SsoSession.ended_at.is_(None),
                (SsoSession.last_seen_at < now - timedelta(minutes=cfg.idle_minutes))
                | (SsoSession.created_at < now - timedelta(hours=cfg.absolute_hours)),
            ).limit(batch)
        ).all()
        for session in candidates:
            deliveries += end(session, reason="expired")
        db.session.flush()
        if len(candidates) < batch:
            return deliveries


def raise_level(session: SsoSession, method: str) -> None:
    """A second factor proven inside the session (set up on the account page) lifts it to the MFA level."""
    session.acr = settings().mfa.acr_mfa
    session.amr = sorted(set(session.amr or []) | set(assurance.amr({"pwd": 0, method: 0})))
