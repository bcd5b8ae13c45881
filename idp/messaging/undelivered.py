"""The dead deliveries as an admin sees them (the admin console's messages page, issue 16 part 2): which
channel, to whom (masked), what kind, how often tried, the last error, when. Never the text of a message: it
may hold a code, a link's token or a logout token. Retrying is queue.retry_dead / queue.retry_all_dead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from idp.extensions import db
from idp.messaging import queue
from idp.messaging.backchannel import CHANNEL as BACKCHANNEL
from idp.models import OutboxMessage
from idp.runtime import crypto


@dataclass(frozen=True)
class DeadLetter:
    id: int
    channel: str  # email, sms or backchannel
    recipient: str  # masked: a***@example.org, •••678; a back-channel logout's portal (its client_id)
    kind: str  # the message's template (login_code, activation, ...), or "logout" for a back-channel logout
    attempts: int
    last_error: str | None
    created_at: datetime
    retryable: bool  # its text is still there (erased after messaging.retention_hours) and its code not expired
    expired: bool = False  # it carries a one-time code that has expired: it is never sent again


def mask_email(address: str) -> str:
    """a***@example.org: the first letter and the domain."""
    local, at, domain = address.rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_phone(number: str) -> str:
    """•••678: the last three digits (two of a short number)."""
    digits = [c for c in number if c.isdigit()]
    keep = 3 if len(digits) > 6 else 2
    return "•••" + "".join(digits[-keep:])


def _recipient(message: OutboxMessage) -> str:
    if message.channel == BACKCHANNEL:
        return message.client.client_id if message.client is not None else "?"
    to = crypto().decrypt(message.recipient_encrypted)
    return mask_phone(to) if message.channel == "sms" else mask_email(to)


def describe(message: OutboxMessage) -> DeadLetter:
    return DeadLetter(id=message.id, channel=message.channel, recipient=_recipient(message),
                      kind=message.template, attempts=message.attempts, last_error=message.last_error,
                      created_at=message.created_at,
                      retryable=bool(message.body_encrypted) and not queue.expired(message),
                      expired=queue.expired(message))


def listed(limit: int = 200) -> list[DeadLetter]:
    """The newest dead deliveries, masked."""
    return [describe(m) for m in queue.dead_letters(limit)]


def one(message_id: int) -> DeadLetter | None:
    """A dead delivery, masked; None when there is none by this id (or it is no longer dead)."""
    message = db.session.get(OutboxMessage, message_id) if 0 < message_id < 2 ** 63 else None  # a row's id
    return describe(message) if message is not None and message.status == "dead" else None
