"""OWASP ASVS 5.0 V7 (session management): what held in the code without a test of its own (issue 18 part 2)."""

from __future__ import annotations

import re

from sqlalchemy import select

from idp import sessions
from idp.extensions import db
from idp.models import SsoSession
from idp.runtime import crypto
from tests.helpers import RelyingParty, browser

PASSWORD = "correct horse battery"


def sso_cookie(client) -> str:
    cookie = client.get_cookie(sessions.cookie_name(False))
    assert cookie is not None, "no SSO cookie after signing in"
    return cookie.value


# 7.2.3 (and 11.5.1): the session's reference token is random, at least 128 bits, new for every sign-in, and the
# database keeps only its keyed hash, so a copy of the database opens no session.
def test_the_session_cookie_is_random_new_each_time_and_only_its_keyed_hash_is_stored(app, portal, user):
    cookies = []
    for _ in range(3):
        client = browser(app)
        RelyingParty(client, portal).sign_in(user.email, PASSWORD)
        cookies.append(sso_cookie(client))

    assert len(set(cookies)) == 3
    for cookie in cookies:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie)  # 32 random bytes, base64url: 256 bits
    rows = db.session.scalars(select(SsoSession)).all()
    assert len(rows) == 3
    stored = {row.token_hash for row in rows}
    assert stored == {crypto().keyed_hash(cookie) for cookie in cookies}
    for row in rows:
        assert not any(cookie in str(value) for cookie in cookies
                       for value in (row.token_hash, row.sid, row.ip, row.user_agent))
