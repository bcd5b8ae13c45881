from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.extensions import db
from idp.models.types import UTCDateTime


class SigningKey(db.Model):
    """A signing key pair; the private JWK is stored encrypted.

    A key is published from `created_at`, signs from `signs_from` (later than created_at after a rotation, so
    portals' cached key sets know it before it signs) until `retired_at`, and stays published until
    `publish_until`, when no token it signed can still be valid.
    """

    __tablename__ = "signing_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(10))
    private_jwk_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signs_from: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: from created_at (keys made before 0020)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    publish_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HashKeyCheck(db.Model):
    """Which key the stored keyed hashes (client secrets, tokens, codes) were made with, by its public id.

    One row. Checked by `idp init`, `idp serve` and `idp keys rotate-encryption`, so that taking the oldest
    encryption key out of the configuration without moving it to server.hash_key stops start-up with one line
    instead of quietly refusing every client secret and session.
    """

    __tablename__ = "hash_key_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
