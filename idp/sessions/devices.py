"""Trusted devices: a browser that may skip the second factor (never the password) for a number of days.

What binds the cookie (issue 18): its random value is found only by its keyed hash, for the one account that
trusted it, and it stands in for the second factor only after that account's right password. A copy taken to
another kind of browser (another browser family or system, by the User-Agent the browser was trusted with) is
not honoured: the code is asked. The User-Agent is easy to fake, so this stops a copied cookie file or a
cookie export, not an attacker who copies the User-Agent too; a per-browser secret in a second cookie would be
copied along with the first, so it adds nothing. Changing the password, a second factor, "sign out everywhere"
(the person's, or an admin's) and disabling the account revoke the devices. Each sign-in the device stands in
for gives it a new cookie value (renew), so a copy dies at the owner's next sign-in."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update

from idp import clock
from idp.audit import EventTag, record
from idp.extensions import db
from idp.models import TrustedDevice, User
from idp.runtime import crypto

# The __Host- prefix makes the browser refuse the cookie unless Secure, host-only and Path=/.
COOKIE_SECURE = "__Host-idp_device"
COOKIE_PLAIN = "idp_device"
MAX_TOKEN = 100


def cookie_name(https: bool) -> str:
    return COOKIE_SECURE if https else COOKIE_PLAIN


def _hash(token: str) -> str:
    return crypto().keyed_hash("trusted-device:" + token)


def _live(now: datetime):
    return (TrustedDevice.revoked_at.is_(None), TrustedDevice.expires_at > now)


def trust(user: User, *, days: int, user_agent: str | None, ip: str | None, now: datetime | None = None
          ) -> tuple[TrustedDevice, str]:
    """Trust this browser for `days` days (not committed); returns the row and the cookie value."""
    if days <= 0:
        raise ValueError("a device is trusted for at least one day")
    now = now or clock.now()
    token = secrets.token_urlsafe(32)
    device = TrustedDevice(
        user_id=user.id, token_hash=_hash(token), user_agent=(user_agent or "")[:300] or None,
        ip=(ip or "")[:64] or None, created_at=now, last_used_at=now, expires_at=now + timedelta(days=days),
    )
    db.session.add(device)
    db.session.flush()
    record(EventTag.DEVICE_TRUSTED, user_id=user.id, device_id=device.id, days=days)
    return device, token


def find(user: User, token: str | None, *, user_agent: str | None, now: datetime | None = None
         ) -> TrustedDevice | None:
    """The live device of this user for the cookie value, shown by the kind of browser it was trusted in; None
    for anything else."""
    if not token or len(token) > MAX_TOKEN:
        return None
    now = now or clock.now()
    device = db.session.scalar(select(TrustedDevice).where(
        TrustedDevice.token_hash == _hash(token), TrustedDevice.user_id == user.id, *_live(now)))
    if device is None or family(device.user_agent) != family(user_agent):
        return None
    return device


def family(user_agent: str | None) -> tuple[str | None, str | None]:
    """The browser and system a User-Agent names, without versions (an update keeps the family)."""
    text = (user_agent or "")[:300]
    return _first(_BROWSERS, text), _first(_SYSTEMS, text)


def honoured(device: TrustedDevice, client_days: int, now: datetime | None = None) -> bool:
    """Whether this portal accepts the device: trusted no longer ago than its own limit (0: never)."""
    if client_days <= 0:
        return False
    now = now or clock.now()
    return now - clock.aware(device.created_at) <= timedelta(days=client_days)


def renew(device: TrustedDevice, now: datetime | None = None) -> tuple[str, int]:
    """A new cookie value for a device that was just used (not committed); the old value stops working, so a
    copy taken earlier dies at the owner's next sign-in. Returns the value and the days it has left."""
    now = now or clock.now()
    token = secrets.token_urlsafe(32)
    device.token_hash, device.last_used_at = _hash(token), now
    left = clock.aware(device.expires_at) - now
    return token, max(1, -(-left // timedelta(days=1)))


def touch(device: TrustedDevice, now: datetime | None = None) -> None:
    device.last_used_at = now or clock.now()


def revoke(device: TrustedDevice, *, reason: str, now: datetime | None = None) -> None:
    """Stop trusting one device (not committed)."""
    if device.revoked_at is not None:
        return
    device.revoked_at = now or clock.now()
    record(EventTag.DEVICE_REVOKED, user_id=device.user_id, device_id=device.id, reason=reason, count=1)


def revoke_all(user: User, *, reason: str, now: datetime | None = None) -> int:
    """Stop trusting every device of the user (password change, factor change, admin); returns how many."""
    now = now or clock.now()
    count = db.session.execute(
        update(TrustedDevice).where(TrustedDevice.user_id == user.id, *_live(now)).values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if count:
        record(EventTag.DEVICE_REVOKED, user_id=user.id, reason=reason, count=count)
    return count


def revoke_everyones(*, reason: str, now: datetime | None = None) -> int:
    """Stop trusting every device of every person (everyone signed out after an incident); returns how many."""
    now = now or clock.now()
    count = db.session.execute(
        update(TrustedDevice).where(*_live(now)).values(revoked_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if count:
        record(EventTag.DEVICE_REVOKED, user_id=None, reason=reason, count=count)
    return count


def list_for(user: User, now: datetime | None = None) -> list[TrustedDevice]:
    """The user's live devices, most recently used first."""
    now = now or clock.now()
    return list(db.session.scalars(
        select(TrustedDevice).where(TrustedDevice.user_id == user.id, *_live(now))
        .order_by(TrustedDevice.last_used_at.desc(), TrustedDevice.id.desc())))


# Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari", Android also says "Linux".
_BROWSERS = (
    ("Edge", r"Edg(e|A|iOS)?/"), ("Opera", r"OPR/|Opera"), ("Samsung Internet", r"SamsungBrowser/"),
    ("Firefox", r"Firefox/|FxiOS/"), ("Chrome", r"Chrome/|CriOS/|Chromium/"),
    ("Safari", r"Version/[\d.]+.*Safari/"),
)
_SYSTEMS = (
    ("iPhone", r"iPhone"), ("iPad", r"iPad"), ("Android", r"Android"), ("Windows", r"Windows"),
    ("ChromeOS", r"CrOS"), ("macOS", r"Macintosh|Mac OS X"), ("Linux", r"Linux|X11"),
)


def _first(table: tuple[tuple[str, str], ...], user_agent: str) -> str | None:
    return next((name for name, pattern in table if re.search(pattern, user_agent)), None)


def describe(user_agent: str | None) -> str:
    """A short label such as "Chrome on Windows" for the list of trusted devices."""
    browser, system = family(user_agent)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    if browser:
        return browser
    if system:
        return _("Browser on %(system)s", system=system)
    return _("Unknown browser")
