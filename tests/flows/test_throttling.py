"""Sign-in throttling (Flask-Limiter): per typed account and per IP, in memory or in Redis."""

import os
import secrets

import pytest

from tests.helpers import RelyingParty, browser

REDIS = os.environ.get("IDP_TEST_REDIS_URL")


@pytest.fixture(params=["memory"] + (["redis"] if REDIS else []))
def settings_overrides(request):
    limits = {"sign_in_per_account": "3 per minute", "sign_in_per_ip": "8 per minute"}
    return {"limits": limits, "redis": {"url": REDIS if request.param == "redis" else ""}}


@pytest.fixture(autouse=True)
def fresh_counters(app):
    """Redis keeps counts between tests (every test client is 127.0.0.1): start each test at zero."""
    from idp.extensions import limiter

    limiter.reset()


def _attempt(rp: RelyingParty, login: str, password: str = "wrong password"):
    return rp.submit_password(rp.authorize().location, login, password)


def test_fourth_wrong_password_for_one_account_is_paused(client, portal, make_user):
    login = f"throttle-{secrets.token_hex(4)}@example.org"
    make_user(login, "correct horse battery")
    rp = RelyingParty(client, portal)
    for _ in range(3):
        assert _attempt(rp, login).status_code == 200
    paused = _attempt(rp, login, "correct horse battery")
    assert paused.status_code == 429
    page = paused.get_data(as_text=True)
    assert "Te veel pogingen" in page
    assert "correct horse battery" not in page


def test_unknown_accounts_are_paused_the_same_way(client, portal):
    login = f"nobody-{secrets.token_hex(4)}@example.org"
    rp = RelyingParty(client, portal)
    statuses = [_attempt(rp, login).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_pausing_one_account_leaves_others_alone(app, client, portal, make_user):
    victim = f"victim-{secrets.token_hex(4)}@example.org"
    for _ in range(4):
        _attempt(RelyingParty(client, portal), victim)
    other = make_user(f"other-{secrets.token_hex(4)}@example.org", "correct horse battery")
    callback = RelyingParty(browser(app), portal).sign_in(other.email, "correct horse battery")
    assert callback["code"]


def test_one_address_trying_many_accounts_is_paused(client, portal):
    rp = RelyingParty(client, portal)
    statuses = [_attempt(rp, f"spray-{secrets.token_hex(4)}@example.org").status_code for _ in range(9)]
    assert statuses[:8] == [200] * 8
    assert statuses[8] == 429
