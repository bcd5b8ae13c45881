"""Recovery codes for a lost phone: ten single-use codes, shown once, stored as keyed hashes."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import delete, func, select, update

from idp import clock
from idp.extensions import db, rows_changed
from idp.models import RecoveryCode, User
from idp.runtime import crypto

COUNT = 10
# Crockford's base32 in lower case: 32 symbols, so 10 of them carry 50 bits; the look-alikes i, l, o and u
# are not in it, and typed i/l/o are read as 1/1/0.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
LENGTH = 10
MAX_INPUT = 40
_LOOKALIKES = str.maketrans({"i": "1", "l": "1", "o": "0"})


def _hash(code: str) -> str:
    return crypto().keyed_hash("recovery-code:" + code)


def _normalise(submitted: str) -> str:
    return "".join(submitted.lower().split()).replace("-", "").translate(_LOOKALIKES)


def _format(raw: str) -> str:
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def generate(user: User, now: datetime | None = None) -> list[str]:
    """Replace the user's recovery codes with ten new ones; returns them as "xxxx-xxxx-xx" to show once."""
    now = now or clock.now()
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    raw: set[str] = set()
    while len(raw) < COUNT:
        raw.add("".join(secrets.choice(ALPHABET) for _ in range(LENGTH)))
    codes = [_format(code) for code in raw]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(_normalise(code)), created_at=now)
                       for code in codes)
    return codes


def use(user: User, submitted: str, now: datetime | None = None) -> bool:
    """Burn the matching unused code of this user: True once per code, False otherwise."""
    if len(submitted) > MAX_INPUT:
        return False
    code = _normalise(submitted)
    if len(code) != LENGTH:
        return False
    now = now or clock.now()
    # One conditional update: of two requests racing with the same code only one burns it.
    claimed = rows_changed(
        update(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash(code),
                                   RecoveryCode.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)
    )
    return bool(claimed)


def remaining(user: User) -> int:
    """How many unused recovery codes the user has left."""
    return db.session.scalar(select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0
