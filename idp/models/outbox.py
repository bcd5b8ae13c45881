from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.extensions import db
from idp.models.types import UTCDateTime


class OutboxMessage(db.Model):
    """One delivery in the durable retry queue (idp/messaging/queue.py): an e-mail, an SMS or a back-channel
    logout, written in the same transaction as the change that causes it.

    Recipient and body are encrypted (a body may hold a code or a logout token); status is pending, sent,
    dead (gave up after the last attempt or a permanent refusal, visible to admins) or cancelled (never to be
    sent: the code it carries was replaced, used or expired). A back-channel logout names its portal in
    client_id (its recipient is the portal's client_id, its body the logout token). A message carrying a
    one-time code names it in code_id and is not sent from expires_at on (the code's expiry). An e-mail's
    Message-ID header is made once with the row, so every attempt carries the same one.
    """

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    template: Mapped[str] = mapped_column(String(50))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    recipient_encrypted: Mapped[str] = mapped_column(String(1000))
    subject: Mapped[str | None] = mapped_column(String(300))
    body_encrypted: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    code_id: Mapped[int | None] = mapped_column(ForeignKey("one_time_code.id", ondelete="SET NULL"), index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[str | None] = mapped_column(String(250))

    client = relationship("Client")
