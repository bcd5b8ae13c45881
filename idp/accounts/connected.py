"""The portals a person is connected to (issue 16 part 4): each portal they consented to, received tokens at or
used in a session, and "revoke access" (the consent goes, the portal's tokens are revoked, and its part in the
person's live sessions ends with a back-channel logout). The provider's own account pages are not a portal here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from idp import clock
from idp.audit import EventTag, record
from idp.errors import NotFound
from idp.extensions import db
from idp.messaging import backchannel
from idp.models import Client, Consent, SessionClient, SsoSession, Token, User
from idp.models.client import BUILTIN_CLIENT_IDS
from idp.tokens import revoke_for_user_at


@dataclass(frozen=True)
class Portal:
    id: int  # the client's row id (what the revoke form sends)
    client_id: str
    name: str
    scopes: list[str]  # what the person consented to (empty: a portal of the care provider itself, no consent)
    consented_at: datetime | None
    last_used: datetime | None  # the last token issued to it for this person
    live_tokens: int


def _client_ids(user: User) -> set[int]:
    consented = db.session.scalars(select(Consent.client_id).where(Consent.user_id == user.id))
    tokens = db.session.scalars(select(Token.client_id).where(Token.user_id == user.id).distinct())
    used = db.session.scalars(
        select(SessionClient.client_id).join(SsoSession, SessionClient.session_id == SsoSession.id)
        .where(SsoSession.user_id == user.id).distinct()
    )
    return set(consented) | set(tokens) | set(used)


def portals_of(user: User) -> list[Client]:
    """The portals (clients) of the person, without the account pages' own client."""
    ids = _client_ids(user)
    if not ids:
        return []
    clients = db.session.scalars(select(Client).where(Client.id.in_(ids))).all()
    return sorted((c for c in clients if c.client_id not in BUILTIN_CLIENT_IDS), key=lambda c: c.name.lower())


def for_user(user: User) -> list[Portal]:
    now = clock.now()
    shown = []
    for client in portals_of(user):
        consent = db.session.scalar(select(Consent).where(Consent.user_id == user.id, Consent.client_id == client.id))
        last = db.session.scalar(select(func.max(Token.issued_at)).where(Token.user_id == user.id,
                                                                          Token.client_id == client.id))
        live = db.session.scalar(select(func.count()).select_from(Token).where(
            Token.user_id == user.id, Token.client_id == client.id, Token.revoked_at.is_(None),
            (Token.access_expires_at > now) | (Token.refresh_expires_at > now)))
        shown.append(Portal(client.id, client.client_id, client.display_name,
                            list(consent.scopes or []) if consent is not None else [],
                            consent.granted_at if consent is not None else None, last, live or 0))
    return shown


def revoke(user: User, client_pk: int) -> Client:
    """Remove the person's consent for the portal and revoke its tokens (not committed); its part in the person's
    live sessions ends (the portal hears on its back channel once the caller commits). Raises NotFound for a
    portal the person is not connected to."""
    client = next((c for c in portals_of(user) if c.id == client_pk), None)
    if client is None:
        raise NotFound("not connected")
    consent = db.session.scalar(select(Consent).where(Consent.user_id == user.id, Consent.client_id == client.id))
    if consent is not None:
        db.session.delete(consent)
    revoked = revoke_for_user_at(user.id, client.id)
    parts = db.session.scalars(
        select(SessionClient).join(SsoSession, SessionClient.session_id == SsoSession.id)
        .where(SsoSession.user_id == user.id, SsoSession.ended_at.is_(None), SessionClient.client_id == client.id)
    ).all()
    for part in parts:
        backchannel.queue_for(part)
        part.session.clients.remove(part)
    db.session.flush()
    record(EventTag.CONSENT_REVOKED, user_id=user.id, client_id=client.client_id, tokens_revoked=revoked,
           sessions_left=len(parts))
    return client
