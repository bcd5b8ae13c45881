"""Re-encrypt every stored encrypted value under the newest encryption key (`idp keys rotate-encryption`).

Walks each encrypted column in batches of rows, one commit per batch, so a large table never holds one long
transaction and an interrupted run loses nothing: a second run picks up what the first left. A value already
under the newest key is left alone, so running it again changes nothing. When every count's `left` is 0, no
stored value needs an older key any more (sign-ins in progress carry encrypted state for at most
session.login_minutes; wait that long before taking the old key out of the configuration).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute

from idp import clock
from idp.extensions import db
from idp.models import Factor, HashKeyCheck, OutboxMessage, SigningKey, User
from idp.models.link import AccountLink
from idp.security.crypto import Crypto, HashKeyChanged

# Every column that holds a value sealed by security/crypto.py (tests/unit/test_rekeying.py checks the models).
ENCRYPTED_COLUMNS: tuple[InstrumentedAttribute[str | None] | InstrumentedAttribute[str], ...] = (
    SigningKey.private_jwk_encrypted,
    User.phone_encrypted,
    Factor.secret_encrypted,
    Factor.replacement_encrypted,
    OutboxMessage.recipient_encrypted,
    OutboxMessage.body_encrypted,
    AccountLink.email_encrypted,
)


@dataclass
class ColumnCount:
    column: str
    reencrypted: int = 0  # sealed under an older key, now under the newest
    current: int = 0  # already under the newest key


def check_hash_key(crypto: Crypto) -> None:
    """Refuse a hash key other than the one the stored hashes were made with; remember it the first time.

    Not committed here: the caller's transaction records it (`idp init`, `idp serve`).
    """
    row = db.session.scalar(select(HashKeyCheck).limit(1))
    if row is None:
        db.session.add(HashKeyCheck(key_id=crypto.hash_key_id, created_at=clock.now()))
        return
    if row.key_id != crypto.hash_key_id:
        raise HashKeyChanged(
            f"the stored hashes (client secrets, tokens, codes) were made with key id {row.key_id}, the configuration "
            f"gives {crypto.hash_key_id}: set server.hash_key to the key with id {row.key_id} (the oldest encryption "
            "key, before it left server.encryption_keys)")


def column_name(column: InstrumentedAttribute) -> str:
    return f"{column.class_.__tablename__}.{column.key}"


def rotate_encryption(crypto: Crypto, batch_size: int = 500) -> list[ColumnCount]:
    """Re-seal every encrypted value under crypto's newest key; a value no configured key opens raises
    DecryptionError naming the key it needs (the batch it was in is rolled back; earlier batches stay)."""
    counts = []
    for column in ENCRYPTED_COLUMNS:
        model = column.class_
        count = ColumnCount(column_name(column))
        last_id = 0
        while True:
            rows = db.session.execute(
                select(model.id, column).where(model.id > last_id, column.is_not(None))
                .order_by(model.id).limit(batch_size)
            ).all()
            if not rows:
                break
            for row_id, value in rows:
                if crypto.is_current(value):
                    count.current += 1
                    continue
                resealed = crypto.reseal(value)
                # Only if unchanged since it was read: a value rewritten meanwhile is already under the newest key.
                db.session.execute(
                    update(model).where(model.id == row_id, column == value).values({column: resealed})
                    .execution_options(synchronize_session=False)
                )
                count.reencrypted += 1
            db.session.commit()
            last_id = rows[-1][0]
        counts.append(count)
    return counts


def report(counts: list[ColumnCount], crypto: Crypto) -> dict[str, object]:
    return {"key_id": crypto.current_key_id, "columns": [asdict(c) for c in counts],
            "reencrypted": sum(c.reencrypted for c in counts), "current": sum(c.current for c in counts)}
