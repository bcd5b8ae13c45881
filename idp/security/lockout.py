"""Lockout: after N consecutive wrong passwords for one typed login name, that name is locked.

Counted per keyed hash of the typed name, known or not, so an unknown name locks and answers the same
(no enumeration). A lock lasts until an admin unlocks, or until lockout.cooldown_minutes passed (when > 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import case, delete, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from idp import clock
from idp.audit import EventTag, record
from idp.extensions import db, rows_changed
from idp.models import Client, LoginFailure, User
from idp.models.types import UTCDateTime
from idp.runtime import settings
from idp.security.logins import login_key


def _cooldown() -> timedelta | None:
    minutes = settings().lockout.cooldown_minutes
    return timedelta(minutes=minutes) if minutes > 0 else None


def _lock_expired(locked_at: datetime, now: datetime) -> bool:
    cooldown = _cooldown()
    return cooldown is not None and locked_at + cooldown <= now


def login_locked(login: str, now: datetime | None = None) -> bool:
    """Whether this typed name is locked now."""
    now = now or clock.now()
    key = login_key(login)
    locked_at = db.session.scalar(select(LoginFailure.locked_at).where(LoginFailure.login_hash == key))
    return locked_at is not None and not _lock_expired(locked_at, now)


def _upsert() -> Any:
    """INSERT ... ON CONFLICT for the database in use (both dialects spell it the same way)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(LoginFailure)
    if dialect == "sqlite":
        return sqlite.insert(LoginFailure)
    raise RuntimeError(f"lockout: no upsert for database {dialect!r}")


@dataclass(frozen=True)
class Attempt:
    """A password attempt, counted before its password is checked: `allowed` when the name was not locked,
    `last` when this attempt used up the allowance (a wrong password now means locked)."""

    allowed: bool
    last: bool = False
    failures: int = 0


def begin_attempt(login: str, now: datetime | None = None) -> Attempt:
    """Count one attempt for this typed name before the slow password check, and commit it, so that parallel
    attempts see it: of N at once, only those within the allowance get their password checked. The attempt
    that reaches the limit locks the name for every later one; a right password then clears it
    (record_success)."""
    now = now or clock.now()
    key = login_key(login)
    limit = max(settings().lockout.max_failures, 1)
    cooldown = _cooldown()
    if cooldown is not None:
        # A lock that has run out starts the count again from 0.
        db.session.execute(update(LoginFailure)
                           .where(LoginFailure.login_hash == key, LoginFailure.locked_at <= now - cooldown)
                           .values(failures=0, locked_at=None)
                           .execution_options(synchronize_session=False))
    stamp = literal(now, UTCDateTime())
    # One statement, so concurrent attempts neither lose a count nor pass the limit: the row lock serialises
    # them, and a row that is already locked is left alone (no row returned).
    statement = _upsert().values(login_hash=key, failures=1, last_failure_at=now,
                                 locked_at=now if limit <= 1 else None)
    statement = statement.on_conflict_do_update(
        index_elements=[LoginFailure.login_hash],
        set_={"failures": LoginFailure.failures + 1, "last_failure_at": stamp,
              "locked_at": case((LoginFailure.failures + 1 >= limit, stamp), else_=None)},
        where=LoginFailure.locked_at.is_(None),
    ).returning(LoginFailure.failures, LoginFailure.locked_at)
    row = db.session.execute(statement, execution_options={"synchronize_session": False}).first()
    db.session.commit()
    if row is None:
        return Attempt(allowed=False)
    return Attempt(allowed=True, last=row.locked_at is not None, failures=row.failures)


def record_failure(login: str, attempt: Attempt, user: User | None, *, client: Client | None = None) -> bool:
    """The password of a counted attempt was wrong (not committed); True when it locked the name (audited;
    an unknown name by its hash only). The caller tells the owner (accounts.passwords)."""
    if not attempt.last:
        return False
    client_id = client.client_id if client is not None else None
    if user is None:
        record(EventTag.ACCOUNT_LOCKED, client_id=client_id, login_hash=login_key(login), failures=attempt.failures)
        return True
    record(EventTag.ACCOUNT_LOCKED, user_id=user.id, client_id=client_id, failures=attempt.failures)
    return True


def record_success(login: str) -> None:
    """A right password: the count for this typed name starts again (not committed)."""
    db.session.execute(delete(LoginFailure).where(LoginFailure.login_hash == login_key(login))
                       .execution_options(synchronize_session=False))


def unlock(user: User, now: datetime | None = None) -> int:
    """Clear the counts and locks of the user's e-mail and username (not committed); the rows cleared."""
    now = now or clock.now()
    keys = {login_key(name) for name in (user.email, user.username) if name}
    rows = db.session.execute(select(LoginFailure.locked_at).where(LoginFailure.login_hash.in_(keys))).all()
    was_locked = any(r.locked_at is not None and not _lock_expired(r.locked_at, now) for r in rows)
    cleared = rows_changed(delete(LoginFailure).where(LoginFailure.login_hash.in_(keys))
                           .execution_options(synchronize_session=False))
    record(EventTag.ACCOUNT_UNLOCKED, user_id=user.id, rows_cleared=cleared, was_locked=was_locked)
    return cleared


def help_contact(client: Client | None) -> str:
    """Where a locked-out person asks for help: the portal's, else the deployment's; "" when neither."""
    contact = (client.help_contact if client is not None else None) or settings().lockout.help_contact
    return (contact or "").strip()


def help_text(client: Client | None) -> str:
    """One sentence saying where to ask for help, in the current language."""
    contact = help_contact(client)
    if contact:
        return str(_("For help, contact %(contact)s.", contact=contact))
    return str(_("For help, contact the organisation that gave you access."))


def locked_message(client: Client | None) -> str:
    """What the sign-in page says to a locked name, known or not."""
    return " ".join((_("This account is locked because a wrong password was entered too many times."),
                     help_text(client)))
