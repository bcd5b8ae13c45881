"""Redis goes away under the rate limits (issue 17 part 5): sign-in keeps working with its normal pages, the
limits count in memory, the database lockout counts every wrong password, and Redis is used again when it is
back, without a restart."""

from __future__ import annotations

import re
import time

import pytest
import redis
from sqlalchemy import select

from idp.audit import EventTag
from idp.extensions import db
from idp.models import Factor, LoginFailure
from idp.security.logins import login_key
from tests.faults.conftest import REDIS
from tests.flows.account_helpers import Account, sign_in
from tests.helpers import RelyingParty, audit_events, browser, english_browser

WRONG = "not my password"
NOT_CORRECT_NL = "Het e-mailadres of wachtwoord is niet juist."
TOO_MANY_NL = "Te veel pogingen"


@pytest.fixture
def settings_overrides(redis_proxy):
    return {"limits": {"sign_in_per_account": "3 per minute", "sign_in_per_ip": "1000 per minute"},
            "redis": {"url": redis_proxy.url_for(REDIS)}}


@pytest.fixture
def shared_redis():
    """The Redis behind the proxy, asked directly (the outage is only the provider's)."""
    client = redis.Redis.from_url(REDIS)
    yield client
    client.close()


def counted_in_redis(shared_redis, login: str) -> bool:
    """Whether Redis holds a sign-in count for this typed name (the limiter keys it by the name's keyed hash)."""
    return any(login_key(login) in key.decode() for key in shared_redis.scan_iter("LIMITS:*"))


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def failures_of(login: str) -> int:
    row = db.session.scalar(select(LoginFailure).where(LoginFailure.login_hash == login_key(login)))
    db.session.expire_all()
    return row.failures if row is not None else 0


def test_sign_in_through_a_redis_outage(app, client, portal, make_user, redis_proxy, shared_redis):
    make_user("anna@example.org", "correct horse battery")
    rp = RelyingParty(client, portal)

    before = rp.submit_password(rp.authorize().location, "anna@example.org", WRONG)
    assert NOT_CORRECT_NL in text_of(before)
    assert counted_in_redis(shared_redis, "anna@example.org")
    assert failures_of("anna@example.org") == 1

    redis_proxy.cut()
    pages = [rp.submit_password(rp.authorize().location, "bram@example.org", WRONG) for _ in range(4)]
    # The person sees the usual pages, not an error: three wrong passwords, then the pause (counted in memory).
    assert [p.status_code for p in pages] == [200, 200, 200, 429]
    assert all(NOT_CORRECT_NL in text_of(p) for p in pages[:3])
    assert TOO_MANY_NL in text_of(pages[3]) and "Internal Server Error" not in text_of(pages[3])
    # Every wrong password reached the database: the lockout counts them, the audit trail has each.
    assert failures_of("bram@example.org") == 3
    assert len(audit_events(EventTag.LOGIN_PASSWORD_FAILURE)) == 4
    assert not counted_in_redis(shared_redis, "bram@example.org")
    # The right password of another account still signs in during the outage.
    assert RelyingParty(browser(app), portal).sign_in("anna@example.org", "correct horse battery")["code"]

    redis_proxy.restore()
    # Flask-Limiter looks at Redis again now and then (its back-off); each try is a new name until one is counted.
    for attempt in range(120):
        login = f"carla{attempt}@example.org"
        page = rp.submit_password(rp.authorize().location, login, WRONG)
        assert NOT_CORRECT_NL in text_of(page)
        if counted_in_redis(shared_redis, login):
            break
        time.sleep(0.25)
    else:
        pytest.fail("the rate limits never went back to Redis")


def test_the_password_check_of_the_account_pages_through_a_redis_outage(app, user, redis_proxy):
    """The account pages count wrong passwords themselves (not in a route's limit): in memory while Redis is gone."""
    client = english_browser(app)
    sign_in(client)
    account = Account(client)
    redis_proxy.cut()
    for _ in range(3):
        refused = account.post("/account/factors/email", password="wrong")
        assert "That password is not correct." in text_of(refused)
    paused = account.post("/account/factors/email", password="correct horse battery")
    assert "Too many wrong passwords." in text_of(paused)
    assert [e.details["reason"] for e in audit_events(EventTag.LOGIN_PASSWORD_FAILURE)] == ["reauth"] * 3
    assert db.session.scalars(select(Factor).where(Factor.user_id == user.id)).all() == []
