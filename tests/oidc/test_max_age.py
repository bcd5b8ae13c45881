"""max_age (OIDC Core §3.1.2.1): a sign-in older than max_age seconds must be repeated."""

from datetime import timedelta

import pytest
import time_machine

from tests.helpers import ISSUER, tomorrow_at

PASSWORD = "correct horse battery"
SIGNED_IN_AT = tomorrow_at(9)


@pytest.fixture
def signed_in(rp, user):
    with time_machine.travel(SIGNED_IN_AT, tick=False):
        return rp.tokens(user.email, PASSWORD)


def _auth_time(rp, callback) -> int:
    return rp.decode_id_token(rp.exchange(callback["code"]).get_json()["id_token"])["auth_time"]


def test_recent_sign_in_within_max_age_needs_no_password(rp, signed_in):
    with time_machine.travel(SIGNED_IN_AT + timedelta(minutes=4), tick=False):
        callback = rp.callback(rp.authorize(max_age="300"))
        assert _auth_time(rp, callback) == int(SIGNED_IN_AT.timestamp())


def test_sign_in_older_than_max_age_asks_for_the_password_again(rp, signed_in, user):
    later = SIGNED_IN_AT + timedelta(minutes=6)
    with time_machine.travel(later, tick=False):
        login_url = rp.login_url(max_age="300")
        assert 'name="password"' in rp.client.get(login_url).get_data(as_text=True)
        callback = rp.callback(rp.submit_password(login_url, user.email, PASSWORD))
        assert _auth_time(rp, callback) == int(later.timestamp())


def test_max_age_zero_always_asks_for_the_password(rp, signed_in, user):
    with time_machine.travel(SIGNED_IN_AT, tick=False):  # even in the very second of the sign-in
        login_url = rp.login_url(max_age="0")
        callback = rp.callback(rp.submit_password(login_url, user.email, PASSWORD))
        assert callback["code"]


def test_max_age_exceeded_with_prompt_none_is_login_required(rp, signed_in):
    with time_machine.travel(SIGNED_IN_AT + timedelta(minutes=6), tick=False):
        callback = rp.callback(rp.authorize(max_age="300", prompt="none"))
    assert callback["error"] == "login_required"
    assert callback["iss"] == ISSUER


def test_auth_time_is_in_the_id_token_when_max_age_was_asked(rp, user):
    callback = rp.sign_in(user.email, PASSWORD, max_age="600")
    assert isinstance(_auth_time(rp, callback), int)
