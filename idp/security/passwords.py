"""People's passwords: bcrypt hashing with the configured cost. The only module importing bcrypt."""

from __future__ import annotations

import base64
import functools
import hashlib

import bcrypt

# bcrypt reads at most 72 bytes (and bcrypt >= 5 refuses more); longer passwords are pre-hashed so
# every byte counts. base64 keeps NUL bytes out of what bcrypt sees.
_MAX_BYTES = 72


def _prepare(password: str) -> bytes:
    raw = password.encode("utf-8")
    if len(raw) > _MAX_BYTES:
        raw = base64.b64encode(hashlib.sha256(raw).digest())
    return raw


def hash_password(password: str, rounds: int) -> str:
    return bcrypt.hashpw(_prepare(password), bcrypt.gensalt(rounds)).decode("ascii")


def verify_password(password: str, hashed: str | None, rounds: int) -> bool:
    """Check a password; with no hash (unknown user) spend the same work on a dummy hash."""
    if not hashed:
        bcrypt.checkpw(_prepare(password), _dummy_hash(rounds))
        return False
    try:
        return bcrypt.checkpw(_prepare(password), hashed.encode("ascii"))
    except ValueError:
        return False


def needs_rehash(hashed: str, rounds: int) -> bool:
    """True when the hash was made at another cost (or is not a bcrypt hash): renew it at sign-in."""
    try:
        return int(hashed.split("$")[2]) != rounds
    except (IndexError, ValueError):
        return True


@functools.cache
def _dummy_hash(rounds: int) -> bytes:
    return bcrypt.hashpw(b"no such user", bcrypt.gensalt(rounds))


def warm_up(rounds: int) -> None:
    """Build the unknown-user dummy hash at start-up, so the first failed sign-in costs what later ones do."""
    _dummy_hash(rounds)
