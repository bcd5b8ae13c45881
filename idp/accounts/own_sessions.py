"""A person's own SSO sessions, one per browser, for the account pages: list them, sign one out, or sign out
everywhere else. Ending a session tells each portal that took part on its back channel (idp/sessions.end) and
revokes the tokens issued within it; the back-channel logouts go out once the caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from idp import clock, sessions
from idp.errors import NotFound
from idp.extensions import db
from idp.models import OutboxMessage, SsoSession, TrustedDevice, User
from idp.models.client import BUILTIN_CLIENT_IDS
from idp.sessions import devices
from idp.sessions.devices import describe
from idp.tokens import revoke_for_session


@dataclass(frozen=True)
class Browser:
    """One live session as the page shows it."""

    id: int
    since: datetime
    last_used: datetime
    browser: str  # "Firefox on Windows"
    ip: str | None
    portals: list[str]  # the names of the portals used in it
    current: bool  # the browser looking at the page


def live(user: User, current: SsoSession | None = None) -> list[Browser]:
    """The person's live sessions, this browser's first, then the most recently used."""
    now = clock.now()
    rows = db.session.scalars(
        select(SsoSession).where(SsoSession.user_id == user.id, SsoSession.ended_at.is_(None))
    ).all()
    shown = [
        Browser(s.id, s.created_at, s.last_seen_at, describe(s.user_agent), s.ip,
                sorted({p.client.display_name for p in s.clients
                        if p.client is not None and p.client.client_id not in BUILTIN_CLIENT_IDS}),
                current is not None and s.id == current.id)
        for s in rows if sessions.is_alive(s, now)
    ]
    return sorted(shown, key=lambda b: (not b.current, -b.last_used.timestamp()))


def _own(user: User, session_id: int) -> SsoSession:
    session = db.session.scalar(select(SsoSession).where(SsoSession.id == session_id, SsoSession.user_id == user.id,
                                                         SsoSession.ended_at.is_(None)))
    if session is None:  # another person's, or already ended: the same answer
        raise NotFound("no such session")
    return session


def _end(session: SsoSession, reason: str) -> list[OutboxMessage]:
    revoke_for_session(session.id)
    return sessions.end(session, reason=reason)


def sign_out(user: User, session_id: int) -> list[OutboxMessage]:
    """End one of the person's own sessions (not committed). Raises NotFound for any other id."""
    return _end(_own(user, session_id), "signed out on the account page")


def sign_out_others(user: User, keep: SsoSession | None, keep_device: TrustedDevice | None = None) -> int:
    """End every live session of the person except `keep` (not committed); returns how many ended. The trusted
    browsers go too, but this one's (`keep_device`): a browser signed out this way must prove the code again."""
    others = db.session.scalars(
        select(SsoSession).where(SsoSession.user_id == user.id, SsoSession.ended_at.is_(None))
    ).all()
    ended = [s for s in others if keep is None or s.id != keep.id]
    for session in ended:
        _end(session, "signed out everywhere else on the account page")
    for device in devices.list_for(user):
        if keep_device is None or device.id != keep_device.id:
            devices.revoke(device, reason="signed out everywhere else")
    return len(ended)
