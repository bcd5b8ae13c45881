"""The fresh password check before a change to second factors or trusted devices.

A stolen or forgotten-open session must not be enough to add a factor or drop the protection of one:
the password must have been confirmed in this session in the last few minutes.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from limits import parse

from idp import clock
from idp.accounts import passwords
from idp.accounts.entry import CLIENT_ID
from idp.audit import EventTag, record
from idp.errors import UserFacingError
from idp.extensions import limit_hit, limit_test
from idp.models import User
from idp.runtime import settings

FRESH_FOR = timedelta(minutes=5)
# Browser-session key; holds the SSO session's sid too, so the proof never carries over to another session.
KEY = "account_reauth"


class TooManyTries(UserFacingError):
    """Too many wrong passwords for this account lately: whoever holds the session may be guessing."""

    message = _l("Too many wrong passwords. Wait a minute, then try again. Nothing has been changed.")
    status = 429


def is_fresh(store: MutableMapping, sid: str, now: datetime) -> bool:
    """Was the password confirmed in this SSO session within FRESH_FOR?"""
    proof = store.get(KEY)
    if not isinstance(proof, dict) or proof.get("sid") != sid:
        return False
    at = proof.get("at")
    return isinstance(at, int) and 0 <= clock.timestamp(now) - at < FRESH_FOR.total_seconds()


def confirm(user: User, password: str, *, store: MutableMapping, sid: str, now: datetime) -> bool:
    """Check the password (audited either way); when right, remember the proof for this session.

    Raises TooManyTries, without checking, after as many wrong passwords as sign-in allows per account.
    """
    limit = parse(settings().limits.sign_in_per_account)
    if not limit_test(limit, "account-reauth", user.sub):
        raise TooManyTries()
    if not password or not passwords.check_password(user, password):
        limit_hit(limit, "account-reauth", user.sub)
        record(EventTag.LOGIN_PASSWORD_FAILURE, outcome="failure", user_id=user.id, client_id=CLIENT_ID,
               reason="reauth")
        return False
    record(EventTag.LOGIN_PASSWORD_SUCCESS, user_id=user.id, client_id=CLIENT_ID, reason="reauth")
    store[KEY] = {"sid": sid, "at": clock.timestamp(now)}
    return True
