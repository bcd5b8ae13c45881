"""Delivery of the outbox with retries: claim a due message, hand it to its transport, record the outcome.

Claiming is a conditional UPDATE on (status, attempts), committed before sending: of two workers that
found the same message due, only one moves it on, so a message is never sent twice by a race.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select, update

from idp import clock
from idp.audit import EventTag, record
from idp.extensions import db
from idp.messaging import transports
from idp.models import OutboxMessage
from idp.runtime import crypto, settings

log = logging.getLogger(__name__)


def read(message: OutboxMessage) -> tuple[str, str | None, str]:
    """(recipient, subject, body), decrypted; the body is "" once erased."""
    body = crypto().decrypt(message.body_encrypted) if message.body_encrypted else ""
    return crypto().decrypt(message.recipient_encrypted), message.subject, body


def _lease() -> timedelta:
    """How long a claimed message is left to its sender: longer than a send can take (SMTP makes several
    round trips, each with the timeout), so if the sender dies, another retries after it."""
    cfg = settings().messaging
    return timedelta(seconds=4 * max(cfg.smtp_timeout_seconds, cfg.http_timeout_seconds) + 10)


def claim(message_id: int, attempts_seen: int, now: datetime) -> bool:
    """Take the next attempt of a message, or learn that another worker took it; commits."""
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending",
               OutboxMessage.attempts == attempts_seen)
        .values(attempts=attempts_seen + 1, next_attempt_at=now + _lease())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return claimed == 1


def _error_text(exc: Exception) -> str:
    # A transport's own errors are written to be stored; anything else only by its type (no message
    # text, which might quote the recipient or the body).
    return str(exc) if isinstance(exc, transports.TransportError) else type(exc).__name__


def attempt(message_id: int, attempts_seen: int, now: datetime | None = None) -> str | None:
    """One claimed attempt; returns "sent", "retried", "dead", or None when another worker had it. Commits."""
    if not claim(message_id, attempts_seen, now or clock.now()):
        return None
    message = db.session.get(OutboxMessage, message_id, populate_existing=True)
    cfg = settings().messaging
    try:
        to, subject, body = read(message)
        envelope = transports.Envelope(message.channel, to, subject, body, clock.aware(message.created_at))
        db.session.commit()  # no transaction stays open while the transport talks to the network
        transports.send(envelope, cfg)
        error = None
    except Exception as exc:  # noqa: BLE001  (every failure is recorded and retried; nothing is lost)
        error = _error_text(exc)[:500]
    at = now or clock.now()
    details = {"message_id": message.id, "channel": message.channel, "template": message.template,
               "attempts": message.attempts}
    if error is None:
        message.status, message.sent_at, message.last_error = "sent", at, None
        record(EventTag.MESSAGE_SENT, user_id=message.user_id, **details)
        outcome = "sent"
    else:
        message.last_error = error
        log.info("message %s (%s) failed, attempt %d: %s",
                 message.id, message.channel, message.attempts, error)
        if message.attempts >= cfg.max_attempts:
            message.status = "dead"
            record(EventTag.MESSAGE_DEAD, outcome="failure", user_id=message.user_id, error=error, **details)
            outcome = "dead"
        else:
            backoff = cfg.retry_seconds * 2 ** (message.attempts - 1)
            message.next_attempt_at = at + timedelta(seconds=backoff)
            outcome = "retried"
    db.session.commit()
    return outcome


def deliver_due(
    now: datetime | None = None, limit: int = 100, *, ids: Iterable[int] | None = None
) -> dict[str, int]:
    """One pass over the due messages (optionally only `ids`): counts of sent, retried and dead. Commits."""
    query = select(OutboxMessage.id, OutboxMessage.attempts).where(
        OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= (now or clock.now()))
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(list(ids)))
    query = query.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
    due = db.session.execute(query).all()
    db.session.commit()  # end the read transaction: each claim below is its own
    counts = {"sent": 0, "retried": 0, "dead": 0}
    for message_id, attempts in due:
        outcome = attempt(message_id, attempts, now)
        if outcome:
            counts[outcome] += 1
    return counts
