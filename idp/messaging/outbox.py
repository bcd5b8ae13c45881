"""E-mail and SMS, two channels of the delivery queue (queue.py): a message is rendered in the person's
language and queued in the transaction of the change that sends it.

A message sent for a portal carries its `Sender` (portals.profile.sender): the portal's organisation signs it
(and a mail's subject names it) and it speaks in the portal's form of address (u or je, idp/i18n.py). A
message tied to no portal is signed by the sign-in service and says u.

Nothing leaves the building here; `idp worker` (queue.deliver_due) sends it through the transport the settings
choose. When messaging.deliver_after_commit is on (demo), the first attempt is made right after the commit.

A message that carries a one-time code names it (`code_row`): it is retried within seconds (messaging.code_*), and
it is cancelled, never sent, once its code is replaced by a newer one, used, or expired; queueing the message
of a new code cancels those of the codes it replaced at once, and each attempt checks again just before it
sends. An e-mail gets its Message-ID once, when it is queued, and carries it on every attempt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import select

from idp import clock, i18n
from idp.audit import EventTag
from idp.errors import InvalidInput
from idp.extensions import db
from idp.messaging import queue, transports
from idp.models import OneTimeCode, OutboxMessage, User
from idp.runtime import settings
from idp.settings import Settings

CHANNELS = {"email": "mail", "sms": "sms"}  # channel -> template folder
_TEMPLATE_NAME = re.compile(r"[a-z][a-z0-9_]{0,49}")


@dataclass(frozen=True)
class Sender:
    """The portal a message is sent for: whose name signs it, and how it addresses the reader ("u" or "je")."""

    name: str
    form_of_address: str = i18n.FORMAL


def render(channel: str, template: str, locale: str, sender: Sender | None = None,
           **context) -> tuple[str | None, str]:
    """(subject, body) of a message in `locale`, for the portal of `sender` (None: no portal); a mail
    template's first line is its subject. Templates sign with `sender.name`, or the sign-in service's."""
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown message channel {channel!r}: use email or sms")
    if not _TEMPLATE_NAME.fullmatch(template):
        raise InvalidInput(f"not a message template name: {template!r}")
    with force_locale(locale), i18n.in_form_of_address(sender.form_of_address if sender is not None else i18n.FORMAL):
        text = render_template(f"{CHANNELS[channel]}/{template}.txt", sender=sender, **context)
    if channel == "sms":
        return None, " ".join(text.split())  # one line, whatever the template's layout
    lines = text.strip().splitlines()
    subject = lines[0].strip()
    if sender is not None and sender.name not in subject:
        subject = f"{sender.name}: {subject}"  # whose mail this is, before the inbox cuts the subject short
    body = "\n".join(line.rstrip() for line in lines[1:]).strip("\n") + "\n"
    return subject, body


def send(
    channel: str,
    to: str,
    template: str,
    *,
    user: User | None = None,
    locale: str | None = None,
    sender: Sender | None = None,
    code_row: OneTimeCode | None = None,
    **context,
) -> OutboxMessage:
    """Render the message now, in the person's language and for the portal of `sender` (None: no portal),
    and queue it (not committed). `code_row`: the one-time code it carries (codes.issue's row; the template's
    `code` is its text); the messages of the codes it replaced are cancelled."""
    if not to or not to.strip():
        raise InvalidInput("a message needs a recipient")
    language = locale or (user.locale if user is not None else None) or settings().i18n.default_locale
    subject, body = render(channel, template, language, sender, **context)
    if code_row is not None:
        cancel_replaced(code_row.user_id)
    message_id = transports.new_message_id(settings().messaging.mail_from) if channel == "email" else None
    return queue.enqueue(channel, to.strip(), body, template=template, subject=subject[:300] if subject else None,
                         user_id=user.id if user is not None else None,
                         code_id=code_row.id if code_row is not None else None,
                         expires_at=clock.aware(code_row.expires_at) if code_row is not None else None,
                         message_id=message_id)


def _void_reason(code: OneTimeCode | None) -> str | None:
    if code is None:
        return "code removed"  # the housekeeping removes codes long expired
    if code.invalidated_at is not None:
        return "code replaced"
    if code.used_at is not None:
        return "code used"
    return None


def cancel_replaced(user_id: int) -> list[OutboxMessage]:
    """Cancel this person's messages still waiting that carry a code no longer in use (replaced by a newer one,
    or used); audited, not committed. (An attempt already past its last check and under way at this moment
    cannot be called back: if it gets through, its row says sent, as it was.)"""
    waiting = db.session.execute(
        select(OutboxMessage, OneTimeCode).join(OneTimeCode, OutboxMessage.code_id == OneTimeCode.id)
        .where(OutboxMessage.user_id == user_id, OutboxMessage.status == "pending",
               (OneTimeCode.invalidated_at.is_not(None)) | (OneTimeCode.used_at.is_not(None)))
        .order_by(OutboxMessage.id)
    ).all()
    return [message for message, code in waiting if queue.cancel(message, _void_reason(code) or "code replaced")]


def latest(limit: int = 50) -> list[OutboxMessage]:
    """The newest e-mails and text messages, newest first (the development inbox)."""
    query = select(OutboxMessage).where(OutboxMessage.channel.in_(list(CHANNELS)))
    return list(db.session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))


# --- the channels -------------------------------------------------------------------------------------

def _schedule(cfg: Settings, message: OutboxMessage) -> queue.Schedule:
    messaging = cfg.messaging
    # SMTP makes several round trips, each with its timeout: the lease outlasts them.
    lease = 4 * max(messaging.smtp_timeout_seconds, messaging.http_timeout_seconds) + 10
    if message.code_id is not None or message.expires_at is not None:
        # A code lives minutes (codes.ttl_seconds): 2, 4, 8, 16 s ... and nothing once it has expired.
        return queue.Schedule(attempts=messaging.code_max_attempts, first_retry_seconds=messaging.code_retry_seconds,
                              lease_seconds=lease, at_once=messaging.deliver_after_commit)
    return queue.Schedule(attempts=messaging.max_attempts, first_retry_seconds=messaging.retry_seconds,
                          lease_seconds=lease, at_once=messaging.deliver_after_commit)


def _void(message: OutboxMessage) -> str | None:
    """Why a message must not be sent now: the code it carries was replaced or used (its expiry: the queue
    checks expires_at). The code is locked until the attempt's transaction ends, so a newer code issued at
    this moment either is seen here or comes after the send has been decided."""
    if message.code_id is None:
        return None
    code = db.session.get(OneTimeCode, message.code_id, with_for_update=True, populate_existing=True)
    return _void_reason(code)


def _envelope(message: OutboxMessage) -> transports.Envelope:
    to, subject, body = queue.read(message)
    return transports.Envelope(message.channel, to, subject, body, clock.aware(message.created_at),
                               message_id=message.message_id)


def _transmit(envelope: transports.Envelope) -> None:
    transports.send(envelope, settings().messaging)


def _audit(message: OutboxMessage) -> dict[str, Any]:
    return {"user_id": message.user_id, "message_id": message.id, "channel": message.channel,
            "template": message.template, "attempts": message.attempts}


for _name in CHANNELS:
    queue.register(queue.Channel(name=_name, schedule=_schedule, prepare=_envelope, send=_transmit,
                                 sent=EventTag.MESSAGE_SENT, dead=EventTag.MESSAGE_DEAD, audit=_audit,
                                 void=_void))
