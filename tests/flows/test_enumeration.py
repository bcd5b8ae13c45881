"""No user enumeration: a wrong password, an unknown account and a disabled account look the same."""

from __future__ import annotations

import re

import bcrypt
import pytest

from idp.accounts.users import disable
from idp.extensions import db
from tests.helpers import browser as isolated_client


@pytest.fixture
def client(app):
    return isolated_client(app)


def attempt(rp, username: str, password: str):
    login_url = rp.authorize().location
    response = rp.submit_password(login_url, username, password)
    uid = login_url.rsplit("/", 1)[1]
    return response, uid


def comparable(response, uid: str, username: str) -> str:
    """The body with what differs by nature taken out: the CSRF token, the sign-in's uid, the typed name."""
    body = response.get_data(as_text=True)
    body = re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value="TOKEN"', body)
    return body.replace(uid, "UID").replace(username, "LOGIN")


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer(client, rp, user):
    wrong, uid1 = attempt(rp, "anna@example.org", "not my password")
    unknown, uid2 = attempt(rp, "nobody@example.org", "not my password")
    assert wrong.status_code == unknown.status_code == 200
    assert comparable(wrong, uid1, "anna@example.org") == comparable(unknown, uid2, "nobody@example.org")
    assert "Het e-mailadres of wachtwoord is niet juist." in wrong.get_data(as_text=True)
    assert sorted(wrong.headers.keys()) == sorted(unknown.headers.keys())


def test_a_disabled_account_with_the_right_password_gets_the_same_answer(client, rp, user, make_user):
    make_user("bert@example.org", "correct horse battery")
    disable(user)
    db.session.commit()
    disabled, uid1 = attempt(rp, "anna@example.org", "correct horse battery")
    wrong, uid2 = attempt(rp, "bert@example.org", "not my password")
    assert disabled.status_code == wrong.status_code == 200
    assert comparable(disabled, uid1, "anna@example.org") == comparable(wrong, uid2, "bert@example.org")


def test_an_unknown_account_costs_the_same_bcrypt_work(client, rp, user, monkeypatch):
    """Timing must not tell: both paths run one bcrypt check at the configured cost."""
    checks: list[bytes] = []
    real_checkpw = bcrypt.checkpw

    def counting_checkpw(password: bytes, hashed: bytes) -> bool:
        checks.append(hashed)
        return real_checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting_checkpw)
    attempt(rp, "anna@example.org", "not my password")
    known = list(checks)
    checks.clear()
    attempt(rp, "nobody@example.org", "not my password")
    unknown = list(checks)

    assert len(known) == len(unknown) == 1
    cost = f"$2b${4:02d}$".encode()  # IDP_PASSWORDS_BCRYPT_ROUNDS=4 in the tests
    assert known[0].startswith(cost) and unknown[0].startswith(cost)
