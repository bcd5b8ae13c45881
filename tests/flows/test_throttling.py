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


def test_padding_the_name_does_not_make_a_new_account_to_guess(client, portal, make_user):
    login = f"padded-{secrets.token_hex(4)}@example.org"
    make_user(login, "correct horse battery")
    rp = RelyingParty(client, portal)
    variants = [login.upper(), f" {login}\u00a0", f"\u2003{login}\u3000", login]
    statuses = [_attempt(rp, typed).status_code for typed in variants]
    assert statuses == [200, 200, 200, 429]
    # Padded past the length limit it names no account at all: still no way in.
    assert _attempt(rp, login + "\u2003" * 310 + "X", "correct horse battery").status_code == 200


def test_successful_sign_ins_do_not_use_up_the_allowance(app, portal, make_user):
    login = f"regular-{secrets.token_hex(4)}@example.org"
    make_user(login, "correct horse battery")
    for _ in range(5):  # more than the 3 per minute allowed for failures
        callback = RelyingParty(browser(app), portal).sign_in(login, "correct horse battery", prompt="login")
        assert callback["code"]


def test_the_limiter_keeps_no_typed_name(app, client, portal):
    from idp.extensions import limiter

    login = f"secret-{secrets.token_hex(4)}@example.org"
    _attempt(RelyingParty(client, portal), login)
    storage = limiter.storage
    if hasattr(storage, "get_connection"):  # Redis: read the keys the limiter wrote
        keys = [k.decode() if isinstance(k, bytes) else k for k in storage.get_connection().keys("*")]
    else:  # memory
        keys = list(storage.storage.keys())
    assert keys, "the attempt was counted somewhere"
    assert not any(login in key for key in keys)


def test_second_factor_tries_are_counted_per_sign_in_whatever_username_is_posted(app, client, make_portal,
                                                                                 make_user):
    from idp.accounts import factors
    from idp.extensions import db
    from tests.helpers import csrf_token

    person = make_user(f"mfa-{secrets.token_hex(4)}@example.org", "correct horse battery")
    factors.add_confirmed(person, "totp")
    db.session.commit()
    rp = RelyingParty(client, make_portal(mfa="required"))
    url = rp.authorize().location
    assert rp.submit_password(url, person.email, "correct horse battery").status_code == 302
    statuses = []
    for n in range(4):
        page = client.get(url).get_data(as_text=True)
        statuses.append(client.post(url, data={"csrf_token": csrf_token(page), "stage": "second_factor",
                                               "code": "000000", "username": f"decoy{n}@example.org"}).status_code)
    assert statuses == [200, 200, 200, 429]


def test_second_factor_tries_count_per_account_across_sign_ins(app, client, make_portal, make_user):
    from idp.accounts import factors
    from idp.extensions import db
    from tests.helpers import csrf_token

    person = make_user(f"mfa2-{secrets.token_hex(4)}@example.org", "correct horse battery")
    factors.add_confirmed(person, "totp")
    db.session.commit()
    rp = RelyingParty(client, make_portal(mfa="required"))
    statuses = []
    for _ in range(2):  # a new sign-in each time: the count goes on
        url = rp.authorize().location
        rp.submit_password(url, person.email, "correct horse battery")
        for _ in range(2):
            page = client.get(url).get_data(as_text=True)
            statuses.append(client.post(url, data={"csrf_token": csrf_token(page), "stage": "second_factor",
                                                   "code": "000000"}).status_code)
    assert statuses == [200, 200, 200, 429]
