"""The outbox: a message is rendered and written in the transaction of the change that sends it.

Nothing leaves the building here; worker.deliver_due() does that (worker.read decrypts a message). When
messaging.deliver_after_commit is
on (demo), the messages of a transaction are handed to a background thread right after it commits.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import datetime, timedelta

from flask import Flask, current_app, render_template
from flask_babel import force_locale
from sqlalchemy import func, inspect, select, update

from idp import after_commit, clock
from idp.errors import InvalidInput, NotFound
from idp.extensions import db
from idp.messaging.worker import deliver_due
from idp.models import OutboxMessage, User
from idp.runtime import crypto, settings

log = logging.getLogger(__name__)

CHANNELS = {"email": "mail", "sms": "sms"}  # channel -> template folder
_TEMPLATE_NAME = re.compile(r"[a-z][a-z0-9_]{0,49}")
_THREADS = "idp.messaging.threads"


def render(channel: str, template: str, locale: str, **context) -> tuple[str | None, str]:
    """(subject, body) of a message in `locale`; a mail template's first line is its subject."""
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown message channel {channel!r}: use email or sms")
    if not _TEMPLATE_NAME.fullmatch(template):
        raise InvalidInput(f"not a message template name: {template!r}")
    with force_locale(locale):
        text = render_template(f"{CHANNELS[channel]}/{template}.txt", **context)
    if channel == "sms":
        return None, " ".join(text.split())  # one line, whatever the template's layout
    lines = text.strip().splitlines()
    subject = lines[0].strip()
    body = "\n".join(line.rstrip() for line in lines[1:]).strip("\n") + "\n"
    return subject, body


def send(
    channel: str,
    to: str,
    template: str,
    *,
    user: User | None = None,
    locale: str | None = None,
    **context,
) -> OutboxMessage:
    """Render the message now, in the person's language, and add it to the outbox (not committed)."""
    if not to or not to.strip():
        raise InvalidInput("a message needs a recipient")
    language = locale or (user.locale if user is not None else None) or settings().i18n.default_locale
    subject, body = render(channel, template, language, **context)
    now = clock.now()
    message = OutboxMessage(
        channel=channel,
        template=template,
        user_id=user.id if user is not None else None,
        recipient_encrypted=crypto().encrypt(to.strip()),
        subject=subject[:300] if subject else None,
        body_encrypted=crypto().encrypt(body),
        status="pending",
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    db.session.add(message)
    if settings().messaging.deliver_after_commit:
        app = current_app._get_current_object()
        after_commit.collect("outbox", message, lambda messages: _hand_over(app, messages))
    return message


def erase_old(now: datetime | None = None) -> int:
    """Erase the text of sent and dead messages older than messaging.retention_hours; does not commit."""
    cutoff = (now or clock.now()) - timedelta(hours=settings().messaging.retention_hours)
    done_at = func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at)
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.status.in_(("sent", "dead")), OutboxMessage.body_encrypted.is_not(None),
               done_at < cutoff)
        .values(body_encrypted=None)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(statement).rowcount


def dead_letters(limit: int = 200) -> list[OutboxMessage]:
    """Messages given up on, newest first (for admins: template, channel, attempts, last_error)."""
    query = select(OutboxMessage).where(OutboxMessage.status == "dead")
    return list(db.session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))


def retry_dead(message_id: int, now: datetime | None = None) -> OutboxMessage:
    """Queue a dead message again with fresh attempts (the transport was fixed); not committed."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.status != "dead":
        raise NotFound(f"no dead message {message_id}")
    if not message.body_encrypted:
        raise InvalidInput(f"message {message_id} is too old: its text was erased")
    message.status, message.attempts, message.next_attempt_at = "pending", 0, now or clock.now()
    return message


def latest(limit: int = 50) -> list[OutboxMessage]:
    """The newest messages, newest first (the development inbox)."""
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)))


# --- delivery right after commit (demo) -------------------------------------------------------------

def _hand_over(app: Flask, messages: list[OutboxMessage]) -> None:
    # No SQL may run here; the identity (primary key) is known without loading the expired rows. A message
    # written in a savepoint that was rolled back is transient now: it was never written, so never sent.
    ids = [state.identity[0] for state in map(inspect, messages) if state.persistent and state.identity]
    if ids:
        deliver_in_background(app, ids)


def deliver_in_background(app: Flask, ids: list[int]) -> threading.Thread:
    """One delivery attempt of these messages off the request thread; what fails stays for `idp worker`."""

    def run() -> None:
        with app.app_context():
            try:
                deliver_due(ids=ids)
            except Exception:  # a daemon thread must not die silently: the rows stay for the worker
                log.exception("delivery after commit failed; `idp worker` will retry")
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, name="outbox-after-commit", daemon=True)
    threads: list[threading.Thread] = app.extensions.setdefault(_THREADS, [])
    threads[:] = [t for t in threads if t.is_alive()]
    threads.append(thread)
    thread.start()
    return thread


def wait_for_background(app: Flask, timeout: float = 10.0) -> None:
    """Wait until the after-commit deliveries started so far are done (tests, and the demo's shutdown)."""
    for thread in list(app.extensions.get(_THREADS, [])):
        thread.join(timeout)
