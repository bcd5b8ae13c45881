"""OWASP ASVS 5.0 V7 (session management): what held in the code without a test of its own (issue 18 part 2)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from idp import sessions
from idp.extensions import db
from idp.models import OutboxMessage, SsoSession, User
from idp.runtime import crypto
from idp.sessions import devices
from tests.flows.account_helpers import Account, asks_password, sign_in
from tests.helpers import RelyingParty, browser, english_browser

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


@pytest.fixture
def account(app, user):
    client = english_browser(app)
    sign_in(client)
    return Account(client)


def live_sessions(user) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(SsoSession).where(
        SsoSession.user_id == user.id, SsoSession.ended_at.is_(None)))


# 7.5.1: a new e-mail address (what a reset link goes to) waits for the password typed again; the sign-in a
# minute ago does not count, and a session alone (a borrowed, unlocked computer) changes nothing.
def test_a_new_e_mail_address_asks_the_password_again_first(account, user):
    outbox_before = db.session.scalar(select(func.count()).select_from(OutboxMessage))

    asked = account.post("/account/profile/email", email="mallory@example.net")

    assert asks_password(asked)
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "anna@example.org"
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == outbox_before  # no link sent
    wrong = account.post("/account/profile/email", email="mallory@example.net", password="not her password")
    assert asks_password(wrong)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == outbox_before


# 7.5.2: ending the other sessions needs the password again too; then it ends them and keeps this one.
def test_ending_the_other_sessions_asks_the_password_again_first(app, portal, account, user):
    RelyingParty(browser(app), portal).sign_in(user.email, PASSWORD)  # the same person on another computer
    assert live_sessions(user) == 2

    assert asks_password(account.post("/account/sessions/end-others"))
    assert live_sessions(user) == 2

    account.change("/account/sessions/end-others")
    assert live_sessions(user) == 1


# 7.4.4: every page of a signed-in person has a visible way to sign out; it ends the session at once.
SIGN_OUT = re.compile(r'<form class="sign-out" method="post" action="/logout">.*?<button[^>]*>Log out</button>',
                      re.S)


@pytest.mark.parametrize("page", ["/account", "/account/profile", "/account/sessions", "/account/portals",
                                  "/account/activity", "/account/data", "/account/password"])
def test_every_account_page_has_a_log_out_button(account, page):
    assert SIGN_OUT.search(account.open(page).get_data(as_text=True))


def test_the_log_out_button_ends_this_browsers_session(account, user):
    account.open("/account/profile")
    assert live_sessions(user) == 1

    done = account.post("/logout", confirm="yes")

    assert done.status_code == 200 and "You have been logged out" in done.get_data(as_text=True)
    assert live_sessions(user) == 0
    assert account.client.get_cookie(sessions.cookie_name(False)) is None
    assert account.client.get("/account").status_code == 302  # signs in again first


def test_pages_before_sign_in_have_no_log_out_button(app):
    assert 'class="sign-out"' not in english_browser(app).get("/reset").get_data(as_text=True)


def test_the_admin_console_has_a_log_out_button(app):
    from tests.asvs.test_v16_logging import console_browser
    from tests.flows.admin_helpers import make_world

    client = console_browser(app, make_world()["helpdesk"])
    assert SIGN_OUT.search(client.get("/admin/people", headers={"Accept-Language": "en"}).get_data(as_text=True))


# 7.4.5: an administrator ends one person's sessions (tests/unit/test_cli_people.py) or everyone's at once.
def test_an_administrator_signs_everyone_out_at_once_and_clients_keep_their_own_tokens(
        app, portal, make_user, make_portal):
    from idp.models import Token

    people = [make_user(f"person{n}@example.org") for n in range(3)]
    for person in people:
        RelyingParty(browser(app), portal).tokens(person.email, PASSWORD)
    trusted, _cookie = devices.trust(people[0], days=7, user_agent="Firefox", ip="127.0.0.1")
    db.session.commit()
    service = RelyingParty(browser(app), make_portal("Koppeling", service=True, scopes=["scim"], redirect_uris=[],
                                                     post_logout_redirect_uris=[]))
    machine = service.token_request({"grant_type": "client_credentials", "scope": "scim"})
    assert machine.status_code == 200, machine.get_json()
    assert all(live_sessions(person) == 1 for person in people)

    refused = app.test_cli_runner().invoke(args=["users", "revoke-everyone", "--as", "security officer"])
    assert refused.exit_code == 2 and all(live_sessions(person) == 1 for person in people)

    done = app.test_cli_runner().invoke(args=["users", "revoke-everyone", "--yes", "--as", "security officer",
                                              "--json"])
    assert done.exit_code == 0, done.output
    db.session.expire_all()
    assert all(live_sessions(person) == 0 for person in people)
    live = db.session.scalars(select(Token).where(Token.revoked_at.is_(None))).all()
    assert [token.user_id for token in live] == [None]  # the client's own token, nothing of a person
    assert db.session.get(type(trusted), trusted.id).revoked_at is not None
