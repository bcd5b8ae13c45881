"""The one durable retry queue: e-mail, SMS and back-channel logouts are its channels.

A delivery is an OutboxMessage row written in the transaction of the change that causes it, recipient and
body encrypted. This module owns the mechanics: which rows are due, claiming an attempt, the outcome (sent;
retried after an exponential backoff; dead after the last attempt or at once on a permanent refusal;
cancelled when it must no longer be sent: its expires_at passed, or its channel says so), the audit of it,
the dead items and their retry, and the hand-over to a thread once the change commits. A channel brings only
what differs: how a row becomes something to send, how it is sent, its schedule (per row: a message carrying
a short-lived code is retried within seconds) and its audit tags (outbox.py registers e-mail and SMS,
backchannel.py the back-channel logout).

Claiming is a conditional UPDATE on (status, attempts), committed before sending, that also moves
next_attempt_at past the send's timeouts (a lease): of two workers that found the same row due only one
moves it on, so nothing is sent twice by a race, and if the sender dies mid-attempt another retries after it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from flask import Flask, current_app
from sqlalchemy import func, inspect, select, update

from idp import after_commit, clock
from idp.audit import EventTag, record
from idp.errors import InvalidInput, NotFound
from idp.extensions import db
from idp.messaging.transports import TransportError
from idp.models import OutboxMessage
from idp.runtime import crypto, settings
from idp.settings import Settings

log = logging.getLogger(__name__)

INLINE = "IDP_DELIVER_INLINE"  # app.config flag: the CLI makes the first attempt before the command returns
_THREADS = "idp.messaging.threads"
_STOP = "idp.messaging.stop"  # a threading.Event per app: set, the after-commit threads stop waiting for retries
_MAX_SLEEP = 60.0


@dataclass(frozen=True)
class Schedule:
    """How a channel is tried, read from the settings."""

    attempts: int  # tries before the delivery is dead
    first_retry_seconds: float  # the wait before the first retry; each further retry waits twice as long
    lease_seconds: float  # how long a claimed attempt is left to its sender: longer than a send can take
    at_once: bool  # first attempt in a thread of its own right after the change commits
    at_once_attempts: int = 1  # how many attempts that thread makes (the retries after them: `idp worker`)


@dataclass(frozen=True)
class Channel:
    """A kind of delivery: what it sends and how, when, and under which audit tags."""

    name: str
    schedule: Callable[[Settings, OutboxMessage], Schedule]  # the row's schedule
    prepare: Callable[[OutboxMessage], Any]  # in the claim's transaction: what to send (may update the row)
    send: Callable[[Any], None]  # with no transaction open; raises on failure (TransportError: a storable text)
    sent: EventTag
    dead: EventTag
    audit: Callable[[OutboxMessage], dict[str, Any]]  # record()'s arguments for this row, never its body
    # Just before each attempt, in its transaction: why this row must not be sent any more (None: send it).
    void: Callable[[OutboxMessage], str | None] = lambda message: None


CHANNELS: dict[str, Channel] = {}


def register(channel: Channel) -> Channel:
    """Make a channel known to the queue (its module does this on import)."""
    CHANNELS[channel.name] = channel
    return channel


def enqueue(channel: str, to: str, body: str, *, template: str, subject: str | None = None,
            user_id: int | None = None, client_id: int | None = None, code_id: int | None = None,
            expires_at: datetime | None = None, message_id: str | None = None) -> OutboxMessage:
    """Add a delivery to the current transaction, encrypted and due now; not committed. `code_id`: the one-time
    code it carries; `expires_at`: from then on it is cancelled, not sent; `message_id`: its e-mail Message-ID.

    When its schedule says so, it is handed to a thread once the transaction commits (never if it rolls back).
    """
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown delivery channel {channel!r}")
    now = clock.now()
    message = OutboxMessage(
        channel=channel, template=template, user_id=user_id, client_id=client_id,
        recipient_encrypted=crypto().encrypt(to), subject=subject, body_encrypted=crypto().encrypt(body),
        status="pending", attempts=0, created_at=now, next_attempt_at=now, code_id=code_id,
        expires_at=expires_at, message_id=message_id,
    )
    db.session.add(message)
    if CHANNELS[channel].schedule(settings(), message).at_once:
        app = current_app._get_current_object()
        after_commit.collect("queue", message, lambda messages: _hand_over(app, messages))
    return message


def read(message: OutboxMessage) -> tuple[str, str | None, str]:
    """(recipient, subject, body), decrypted; the body is "" once erased."""
    body = crypto().decrypt(message.body_encrypted) if message.body_encrypted else ""
    return crypto().decrypt(message.recipient_encrypted), message.subject, body


# --- delivery -----------------------------------------------------------------------------------------

class Due(NamedTuple):
    """A row found due, with the attempt count it had then (the claim's condition)."""

    id: int
    channel: str
    attempts: int


def due(now: datetime | None = None, limit: int = 100, *, ids: Iterable[int] | None = None,
        channels: Iterable[str] | None = None) -> list[Due]:
    """The pending rows whose next attempt is due, earliest first; ends the read transaction."""
    query = select(OutboxMessage.id, OutboxMessage.channel, OutboxMessage.attempts).where(
        OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= (now or clock.now()),
        OutboxMessage.channel.in_(list(CHANNELS) if channels is None else list(channels)))
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(list(ids)))
    query = query.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
    rows = [Due(*row) for row in db.session.execute(query).all()]
    db.session.commit()  # each claim is a transaction of its own
    return rows


def _claim(item: Due, now: datetime) -> bool:
    """Take the next attempt of a row, or learn that another worker took it; commits."""
    schedule = CHANNELS[item.channel].schedule(settings(), db.session.get_one(OutboxMessage, item.id))
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == item.id, OutboxMessage.status == "pending",
               OutboxMessage.attempts == item.attempts)
        .values(attempts=item.attempts + 1, next_attempt_at=now + timedelta(seconds=schedule.lease_seconds))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return claimed == 1


def cancel(message: OutboxMessage, reason: str, **details: Any) -> bool:
    """Mark a pending delivery cancelled: it is never sent (its code was replaced, used or has expired); audited
    with the reason (and `details`), not committed. False when it was no longer pending (sent, dead, or
    cancelled already)."""
    cancelled = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message.id, OutboxMessage.status == "pending")
        .values(status="cancelled", last_error=reason).execution_options(synchronize_session=False)
    ).rowcount
    if cancelled != 1:
        return False
    db.session.refresh(message)
    record(EventTag.MESSAGE_CANCELLED, reason=reason, **details, **CHANNELS[message.channel].audit(message))
    return True


def _void(message: OutboxMessage, channel: Channel, now: datetime) -> str | None:
    """Why the row must not be sent now: past its expires_at, or what its channel says."""
    if expired(message, now):
        return "expired"
    return channel.void(message)


def _error_text(exc: Exception) -> str:
    # A transport's own errors are written to be stored; anything else only by its type (no message
    # text, which might quote the recipient or the body).
    return str(exc) if isinstance(exc, TransportError) else type(exc).__name__


def attempt(item: Due, now: datetime | None = None) -> str | None:
    """One claimed attempt; returns "sent", "retried", "dead", "cancelled", or None when another worker had it.
    Commits."""
    channel = CHANNELS[item.channel]
    if not _claim(item, now or clock.now()):
        return None
    message = db.session.get_one(OutboxMessage, item.id, populate_existing=True)
    schedule = channel.schedule(settings(), message)
    permanent = False
    try:
        # Re-checked here, after the claim and just before the send: a code replaced while the row waited (or
        # while another worker held it) is not sent. The channel locks what it checks until the commit.
        reason = _void(message, channel, now or clock.now())
        if reason is not None:
            cancel(message, reason)
            db.session.commit()
            return "cancelled"
        payload = channel.prepare(message)
        db.session.commit()  # no transaction stays open while the channel talks to the network
        channel.send(payload)
        error = None
    except Exception as exc:  # noqa: BLE001  (every failure is recorded and retried; nothing is lost)
        db.session.rollback()  # what prepare left half-done; the claim is committed
        error = _error_text(exc)[:500]
        permanent = isinstance(exc, TransportError) and exc.permanent
    at = now or clock.now()
    if error is None:
        message.status, message.sent_at, message.last_error = "sent", at, None
        record(channel.sent, **channel.audit(message))
        outcome = "sent"
    else:
        message.last_error = error
        log.info("delivery %s (%s) failed, attempt %d: %s", message.id, message.channel, message.attempts, error)
        backoff = schedule.first_retry_seconds * 2 ** (message.attempts - 1)
        retry_at = at + timedelta(seconds=backoff)
        if permanent or message.attempts >= schedule.attempts:
            # A permanent refusal (an SMTP 5xx, a gateway's 4xx) is not tried again: an admin can, once fixed.
            message.status = "dead"
            record(channel.dead, outcome="failure", error=error, permanent=permanent, **channel.audit(message))
            outcome = "dead"
        elif message.expires_at is not None and retry_at >= clock.aware(message.expires_at):
            cancel(message, "expired", error=error)  # its next try would come after what it carries expired
            outcome = "cancelled"
        else:
            message.next_attempt_at = retry_at
            outcome = "retried"
    db.session.commit()
    return outcome


def deliver_due(now: datetime | None = None, limit: int = 100, *, ids: Iterable[int] | None = None,
                channels: Iterable[str] | None = None) -> dict[str, int]:
    """One pass over what is due (optionally only `ids` or `channels`): counts of sent, retried, dead and
    cancelled."""
    counts = {"sent": 0, "retried": 0, "dead": 0, "cancelled": 0}
    for item in due(now, limit, ids=ids, channels=channels):
        outcome = attempt(item, now)
        if outcome:
            counts[outcome] += 1
    return counts


def pending(ids: Iterable[int] | None = None) -> list[OutboxMessage]:
    """Rows neither sent nor dead (optionally only `ids`), the earliest due first."""
    query = select(OutboxMessage).where(OutboxMessage.status == "pending")
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(list(ids)))
    return list(db.session.scalars(query.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)))


# --- for admins -----------------------------------------------------------------------------------------

def dead_letters(limit: int = 200) -> list[OutboxMessage]:
    """Deliveries given up on, newest first (for admins: channel, template, attempts, last_error)."""
    query = select(OutboxMessage).where(OutboxMessage.status == "dead")
    return list(db.session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))


def expired(message: OutboxMessage, now: datetime | None = None) -> bool:
    """Is what the delivery carries (a one-time code) no longer valid, so it must never be sent?"""
    return message.expires_at is not None and clock.aware(message.expires_at) <= (now or clock.now())


def retry_dead(message_id: int, now: datetime | None = None) -> OutboxMessage:
    """Queue a dead delivery again with fresh attempts (the transport or portal was fixed); not committed.
    Refused when its text was erased, or when the code it carries has expired."""
    # An id no row can have (a URL's number is any size) names none; the row is locked, so two clicks at once
    # queue it once (the second finds it pending).
    message = (db.session.get(OutboxMessage, message_id, with_for_update=True)
               if 0 < message_id < 2 ** 63 else None)
    if message is None or message.status != "dead":
        raise NotFound(f"no dead message {message_id}")
    if not message.body_encrypted:
        raise InvalidInput(f"message {message_id} is too old: its text was erased")
    if expired(message, now):
        raise InvalidInput(f"message {message_id} carries a code that has expired: it is not sent again")
    message.status, message.attempts, message.next_attempt_at = "pending", 0, now or clock.now()
    record(EventTag.MESSAGE_RETRIED, **CHANNELS[message.channel].audit(message))
    return message


def retry_all_dead(now: datetime | None = None) -> tuple[list[int], list[int]]:
    """Queue every dead delivery again whose text is still there; not committed. Returns (the ids queued again,
    the ids left dead because their text was erased or the code they carry has expired)."""
    queued, erased = [], []
    for message in db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == "dead")
                                      .order_by(OutboxMessage.id)):
        if message.body_encrypted and not expired(message, now):
            retry_dead(message.id, now)
            queued.append(message.id)
        else:
            erased.append(message.id)
    return queued, erased


def erase_old(now: datetime | None = None) -> int:
    """Erase the text of sent, dead and cancelled deliveries older than messaging.retention_hours; does not commit."""
    cutoff = (now or clock.now()) - timedelta(hours=settings().messaging.retention_hours)
    done_at = func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at)
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.status.in_(("sent", "dead", "cancelled")), OutboxMessage.body_encrypted.is_not(None),
               done_at < cutoff)
        .values(body_encrypted=None)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(statement).rowcount


# --- after commit: the first attempt at once ---------------------------------------------------------

def _hand_over(app: Flask, messages: list[OutboxMessage]) -> None:
    # No SQL may run here; the identity (primary key) is known without loading the expired rows. A row
    # written in a savepoint that was rolled back is transient now: it was never written, so never sent.
    ids = [state.identity[0] for state in map(inspect, messages) if state.persistent and state.identity]
    if not ids:
        return
    if app.config.get(INLINE):
        # One attempt before the caller goes on (the CLI reports it; tests see it); retries are left to the
        # worker. In a thread of its own: no SQL may run in the session that is committing.
        thread = threading.Thread(target=_once, args=(app, ids), name="delivery-inline")
        thread.start()
        thread.join()
    else:
        deliver_in_background(app, ids)


def _once(app: Flask, ids: list[int]) -> None:
    with app.app_context():
        try:
            deliver_due(ids=ids)
        finally:
            db.session.remove()


def deliver_in_background(app: Flask, ids: list[int]) -> threading.Thread:
    """Deliver these rows off the request thread: the first attempt of each, and the next ones up to its
    schedule's at_once_attempts (back-channel logout: the first try or two). The rest is left to `idp worker`."""

    stop: threading.Event = app.extensions.setdefault(_STOP, threading.Event())

    def run() -> None:
        with app.app_context():
            try:
                waiting = list(ids)
                while waiting and not stop.is_set():
                    deliver_due(ids=waiting)
                    cfg = settings()
                    later = [m for m in pending(waiting)
                             if m.attempts < CHANNELS[m.channel].schedule(cfg, m).at_once_attempts]
                    waiting = [m.id for m in later]
                    if waiting:
                        wait = (clock.aware(later[0].next_attempt_at) - clock.now()).total_seconds()
                        db.session.remove()  # hold no connection while sleeping
                        stop.wait(min(max(wait, 0.01), _MAX_SLEEP))
            except Exception:  # a daemon thread must not die silently: the rows stay for the worker
                log.exception("delivery after commit stopped; `idp worker` will retry")
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, name="delivery-after-commit", daemon=True)
    threads: list[threading.Thread] = app.extensions.setdefault(_THREADS, [])
    threads[:] = [t for t in threads if t.is_alive()]
    threads.append(thread)
    thread.start()
    return thread


def stop_background(app: Flask, timeout: float = 10.0) -> None:
    """Let the after-commit threads finish the attempt they are making, without the retries still waiting
    (those rows stay due for `idp worker`), and wait for them: before the app's database goes away."""
    app.extensions.setdefault(_STOP, threading.Event()).set()
    wait_for_background(app, timeout)


def wait_for_background(app: Flask, timeout: float = 10.0) -> None:
    """Wait until the after-commit deliveries started so far are done (tests, and the demo's shutdown)."""
    for thread in list(app.extensions.get(_THREADS, [])):
        thread.join(timeout)
