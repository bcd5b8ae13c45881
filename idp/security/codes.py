"""One-time codes by SMS or e-mail: hashed, expiring, single use, a few tries each, capped per hour."""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import format_time, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, func, select, update

from idp import clock
from idp.errors import UserFacingError
from idp.extensions import db, rows_changed
from idp.models import OneTimeCode, User
from idp.runtime import crypto, settings
from idp.security.phones import normalise_phone

DIGITS = "0123456789"
# Capital letters a person cannot mistake for another letter or a digit (no B/8, I/1, O/0, S/5, Z/2).
LETTERS = "ACDEFGHJKLMNPQRTUVWXY"
PREFIX_LENGTH = 4
MAX_INPUT = 40
CHANNELS = ("sms", "email")


class CodeError(UserFacingError):
    """A code that cannot be accepted (or sent); `message` is the sentence to show the user."""

    message = _l("That code cannot be used.")


class CodeInvalid(CodeError):
    """A wrong code; attempts_left is -1 when unknown (input refused before looking anything up)."""

    def __init__(self, attempts_left: int):
        super().__init__()
        self.attempts_left = attempts_left

    @property
    def message(self) -> str:
        if self.attempts_left < 0:
            return str(_("That code is not right."))
        return str(ngettext("That code is not right. You can try %(num)d more time.",
                            "That code is not right. You can try %(num)d more times.", self.attempts_left))


class CodeExpired(CodeError):
    message = _l("That code has expired. Ask for a new code.")


class CodeExhausted(CodeError):
    message = _l("Too many wrong tries for this code. Ask for a new code.")


class NoCode(CodeError):
    message = _l("There is no code waiting for you. Ask for a new code.")


class CodeCooldown(CodeError):
    def __init__(self, seconds_left: int):
        super().__init__()
        self.seconds_left = seconds_left

    @property
    def message(self) -> str:
        return str(ngettext("Please wait %(num)d second before asking for a new code.",
                            "Please wait %(num)d seconds before asking for a new code.", self.seconds_left))


class CodeCapReached(CodeError):
    """Too many codes without a finished step in the last hour; `until`: when the next one may be sent."""

    def __init__(self, until: datetime | None = None):
        super().__init__()
        self.until = until

    @property
    def message(self) -> str:
        if self.until is None:
            return str(_("Too many codes were sent in the last hour. Please try again later."))
        return str(_("Too many codes were sent in the last hour. You can ask for a new code from %(time)s.",
                     time=format_time(self.until, "HH:mm")))


@dataclass(frozen=True)
class Style:
    """How a portal wants its codes (its sign-in profile); a None field: the deployment's [codes] setting."""

    sms_prefix: bool | None = None  # a prefix shown on the code page and repeated in the SMS (seed 002)
    sms_length: int | None = None  # digits after the prefix
    email_length: int | None = None  # letters


DEFAULT_STYLE = Style()


@dataclass(frozen=True)
class IssuedCode:
    code: str
    prefix: str | None
    message_text: str
    row: OneTimeCode


# A purpose label keeps these hashes distinct from other keyed hashes of the same string.
_LABEL = "one-time-code:"


def _code_hash(code: str) -> str:
    return crypto().keyed_hash(_LABEL + code)


def _destination_hash(channel: str, destination: str) -> str:
    # One number in two notations must count as one against the cap.
    destination = normalise_phone(destination) if channel == "sms" else destination.strip().lower()
    return crypto().keyed_hash(f"destination:{channel}:{destination}")


def sent_to(row: OneTimeCode, channel: str, destination: str) -> bool:
    """Was this code sent to this destination? (A code for one number must not confirm another.)"""
    return row.channel == channel and row.destination_hash == _destination_hash(channel, destination)


def _same_flow(user: User, purpose: str, flow_uid: str | None) -> tuple[ColumnElement[bool], ...]:
    flow = OneTimeCode.flow_uid.is_(None) if flow_uid is None else OneTimeCode.flow_uid == flow_uid
    return (OneTimeCode.user_id == user.id, OneTimeCode.purpose == purpose, flow)


def _latest(user: User, purpose: str, flow_uid: str | None) -> OneTimeCode | None:
    return db.session.scalar(
        select(OneTimeCode).where(*_same_flow(user, purpose, flow_uid))
        .order_by(OneTimeCode.created_at.desc(), OneTimeCode.id.desc()).limit(1)
    )


def cooldown_left(user: User, *, purpose: str, flow_uid: str | None, now: datetime | None = None) -> int:
    """Seconds until another code may be sent for this user, purpose and sign-in (0: now)."""
    now = now or clock.now()
    latest = _latest(user, purpose, flow_uid)
    if latest is None:
        return 0
    ready = clock.aware(latest.created_at) + timedelta(seconds=settings().codes.resend_seconds)
    return max(0, math.ceil((ready - now).total_seconds()))


def _unused_since(*conditions: ColumnElement[bool], since: datetime) -> tuple[int, datetime | None]:
    """How many codes sent since then were never used, and when the oldest of them was sent. A code that
    finished its step is no SMS pumping: someone who signs in several times an hour (a code at every sign-in)
    is never capped by their own sign-ins."""
    count, oldest = db.session.execute(
        select(func.count(OneTimeCode.id), func.min(OneTimeCode.created_at))
        .where(*conditions, OneTimeCode.created_at > since, OneTimeCode.used_at.is_(None))
    ).one()
    return int(count or 0), clock.aware(oldest) if oldest is not None else None


def _cap(*conditions: ColumnElement[bool], limit: int, now: datetime) -> None:
    count, oldest = _unused_since(*conditions, since=now - timedelta(hours=1))
    if count >= limit:
        raise CodeCapReached(oldest + timedelta(hours=1) if oldest is not None else None)


def issue(user: User, *, channel: str, purpose: str, destination: str, flow_uid: str | None,
          now: datetime | None = None, style: Style = DEFAULT_STYLE) -> IssuedCode:
    """Create a code (not committed) whose message_text the caller sends; older codes stop working. Its length,
    and whether an SMS code has a prefix, follow `style` (the portal's profile) over the deployment's settings.

    Raises CodeCooldown, CodeCapReached, or InvalidPhone for an SMS destination that is not a mobile number.
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    now = now or clock.now()
    config = settings().codes
    wait = cooldown_left(user, purpose=purpose, flow_uid=flow_uid, now=now)
    if wait:
        raise CodeCooldown(wait)
    _cap(OneTimeCode.user_id == user.id, limit=config.per_user_per_hour, now=now)
    destination_hash = _destination_hash(channel, destination)
    if channel == "sms":
        # The phone cap counts every user, so one number cannot be pumped through many accounts.
        _cap(OneTimeCode.channel == "sms", OneTimeCode.destination_hash == destination_hash,
             limit=config.per_phone_per_hour, now=now)

    if channel == "sms":
        code = "".join(secrets.choice(DIGITS) for _ in range(style.sms_length or config.sms_length))
        with_prefix = config.sms_prefix if style.sms_prefix is None else style.sms_prefix
        prefix = "".join(secrets.choice(DIGITS) for _ in range(PREFIX_LENGTH)) if with_prefix else None
    else:
        code = "".join(secrets.choice(LETTERS) for _ in range(style.email_length or config.email_length))
        prefix = None

    db.session.execute(
        update(OneTimeCode)
        .where(*_same_flow(user, purpose, flow_uid), OneTimeCode.used_at.is_(None),
               OneTimeCode.invalidated_at.is_(None))
        .values(invalidated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    row = OneTimeCode(
        user_id=user.id, channel=channel, purpose=purpose, flow_uid=flow_uid,
        destination_hash=destination_hash, code_hash=_code_hash(code), prefix=prefix, attempts=0,
        created_at=now, expires_at=now + timedelta(seconds=config.ttl_seconds),
    )
    db.session.add(row)
    db.session.flush()
    return IssuedCode(code=code, prefix=prefix, message_text=f"{prefix}-{code}" if prefix else code, row=row)


def _pending(user: User, purpose: str, flow_uid: str | None) -> OneTimeCode | None:
    """The newest code neither used nor replaced (issue() leaves at most one)."""
    return db.session.scalar(
        select(OneTimeCode)
        .where(*_same_flow(user, purpose, flow_uid), OneTimeCode.used_at.is_(None),
               OneTimeCode.invalidated_at.is_(None))
        .order_by(OneTimeCode.created_at.desc(), OneTimeCode.id.desc()).limit(1)
    )


def current(user: User, *, purpose: str, flow_uid: str | None, now: datetime | None = None
            ) -> OneTimeCode | None:
    """The code that can still be entered (unused, not replaced, not expired, tries left), or None."""
    now = now or clock.now()
    row = _pending(user, purpose, flow_uid)
    if row is None or clock.aware(row.expires_at) <= now or row.attempts >= settings().codes.max_attempts:
        return None
    return row


def _candidates(row: OneTimeCode, submitted: str) -> tuple[str, ...]:
    """What the person may have meant: an e-mail code in any case; an SMS code typed with or without this
    page's prefix ("4821-305917" as the SMS shows it). A code's length is the portal's, so both readings are
    tried: typed with the prefix, only the second can match; typed without, only the first."""
    text = re.sub(r"[\s\-]", "", submitted)
    if row.channel == "email":
        return (text.upper(),)
    if row.prefix and text.startswith(row.prefix) and len(text) > len(row.prefix):
        return text, text[len(row.prefix):]
    return (text,)


def verify(user: User, *, purpose: str, flow_uid: str | None, submitted: str, now: datetime | None = None
           ) -> OneTimeCode:
    """Accept the live code once; a wrong try is counted in the session, so commit even when this raises."""
    if len(submitted) > MAX_INPUT:
        raise CodeInvalid(-1)
    now = now or clock.now()
    max_attempts = settings().codes.max_attempts
    row = _pending(user, purpose, flow_uid)
    if row is None:
        raise NoCode()
    if clock.aware(row.expires_at) <= now:
        raise CodeExpired()
    if row.attempts >= max_attempts:
        raise CodeExhausted()

    live = (OneTimeCode.id == row.id, OneTimeCode.used_at.is_(None), OneTimeCode.invalidated_at.is_(None),
            OneTimeCode.attempts < max_attempts)
    if any(crypto().matches(_LABEL + typed, row.code_hash) for typed in _candidates(row, submitted)):
        # Conditional update: of two requests racing with the right code only one claims it.
        claimed = rows_changed(
            update(OneTimeCode).where(*live).values(used_at=now).execution_options(synchronize_session=False)
        )
        db.session.refresh(row)
        if not claimed:
            raise NoCode()
        return row

    counted = rows_changed(
        update(OneTimeCode).where(*live).values(attempts=OneTimeCode.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(row)
    if not counted:
        raise NoCode() if row.used_at or row.invalidated_at else CodeExhausted()
    attempts_left = max_attempts - row.attempts
    if attempts_left <= 0:
        raise CodeExhausted()
    raise CodeInvalid(attempts_left)
