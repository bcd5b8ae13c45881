"""Housekeeping for `idp worker`: end expired sessions and delete rows nobody can use any more."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, exists, func
from sqlalchemy.orm import aliased

from idp import clock, sessions
from idp.extensions import db
from idp.messaging import erase_old
from idp.messaging.backchannel import CHANNEL as BACKCHANNEL
from idp.models import (
    AuthorizationCode,
    OneTimeCode,
    OutboxMessage,
    PendingAuthorization,
    SsoSession,
    Token,
    TrustedDevice,
)

# Used codes are kept at least a day, and as long as tokens bought with them live, so a late replay is
# still recognised (and revokes what the code bought).
CODE_KEPT = timedelta(days=1)
TOKEN_KEPT = timedelta(days=1)
DELIVERY_KEPT = timedelta(days=7)  # back-channel logouts, sent or dead; e-mail and SMS rows stay (text erased)
SESSION_KEPT = timedelta(days=30)
ONE_TIME_CODE_KEPT = timedelta(days=1)  # the hourly caps count codes of the last hour
DEVICE_KEPT = timedelta(days=30)  # revoked and expired devices stay listed a while for the audit trail


def purge() -> dict[str, int]:
    """One pass; returns how many rows of each kind went. Commits. Audit records are never purged here."""
    now = clock.now()
    sessions.end_expired()  # queues their back-channel logouts; the worker delivers them next
    counts: dict[str, int] = {}
    # A dead row is kept while its grant lives: a replayed rotated refresh token or code must still be
    # recognised, and revoke the family it belongs to.
    live = aliased(Token)
    live_until = func.coalesce(live.refresh_expires_at, live.access_expires_at)
    token_end = func.coalesce(Token.refresh_expires_at, Token.access_expires_at)
    family_lives = exists().where(live.family == Token.family, live_until >= now - TOKEN_KEPT)
    code_lives = exists().where(live.code_id == AuthorizationCode.id, live_until >= now - TOKEN_KEPT)
    logout_done = func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at)
    for name, statement in (
        ("pending_authorizations", delete(PendingAuthorization).where(PendingAuthorization.expires_at < now)),
        ("tokens", delete(Token).where(token_end < now - TOKEN_KEPT, ~family_lives)),
        ("authorization_codes",
         delete(AuthorizationCode).where(AuthorizationCode.expires_at < now - CODE_KEPT, ~code_lives)),
        ("logout_deliveries", delete(OutboxMessage).where(
            OutboxMessage.channel == BACKCHANNEL, OutboxMessage.status.in_(("sent", "dead")),
            logout_done < now - DELIVERY_KEPT)),
        ("sessions", delete(SsoSession).where(SsoSession.ended_at < now - SESSION_KEPT)),
        ("one_time_codes", delete(OneTimeCode).where(OneTimeCode.expires_at < now - ONE_TIME_CODE_KEPT)),
        ("trusted_devices", delete(TrustedDevice).where(
            func.coalesce(TrustedDevice.revoked_at, TrustedDevice.expires_at) < now - DEVICE_KEPT)),
    ):
        counts[name] = db.session.execute(statement, execution_options={"synchronize_session": False}).rowcount
    counts["message_texts"] = erase_old(now)
    db.session.commit()
    return counts
