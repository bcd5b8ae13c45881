"""The change was committed, the answer never reached the person (the database or the network failed after the
commit), and they send the same request again (issue 18 part 5). From the provider's side a lost answer is an
answer nobody read, so each test sends a request, throws its answer away, and sends it again: what does the person
see, and what does the database hold?"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from idp.audit import EventTag
from idp.extensions import db
from idp.models import AuthorizationCode, Token, User
from tests.flows.account_helpers import PASSWORD, Account, sign_in
from tests.flows.test_registration import ask_link, link_path, start
from tests.flows.test_reset import ask_link as ask_reset_link
from tests.flows.test_reset import link_in_mail
from tests.helpers import RelyingParty, audit_events, browser, csrf_token, english_browser
from tests.mfa_helpers import SignIn

NEW = "Lente-bloem!2026"


def signs_in(app, portal, email: str, password: str) -> bool:
    rp = RelyingParty(browser(app), portal)
    attempt = SignIn(rp.client, rp.login_url())
    attempt.password(email, password)
    return attempt.response.status_code == 302 and attempt.response.location.startswith(rp.redirect_uri)


def text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_registration_sent_twice_makes_one_account(app, client, make_portal):
    rp = RelyingParty(client, make_portal("Huisartsportaal", registration=True))
    uid = start(rp)
    ask_link(client, uid, "nieuw@example.org")
    ask_link(client, uid, "nieuw@example.org")  # the first "check your e-mail" page was lost: asked again
    path = link_path(app, "nieuw@example.org")  # the newest link; the first one is replaced
    page = client.get(path).get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "new_password": NEW, "confirm_password": NEW}
    client.post(path, data=form)  # committed; the answer is lost

    again = client.post(path, data=form)

    assert again.status_code == 400 and "This link no longer works" in text(again)  # a page, not an error trace
    assert db.session.scalar(select(func.count()).select_from(User)
                             .where(func.lower(User.email) == "nieuw@example.org")) == 1
    assert len(audit_events(EventTag.USER_REGISTERED)) == 1
    assert signs_in(app, rp.portal, "nieuw@example.org", NEW)


def test_a_token_request_sent_again_with_its_code_gets_nothing_and_ends_what_the_first_got(app, rp, user):
    code = rp.sign_in(user.email, PASSWORD)["code"]
    first = rp.exchange(code).get_json()  # issued and committed; the answer is lost on its way to the portal

    again = rp.exchange(code)

    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    assert "access_token" not in again.get_json()
    # RFC 6749 §4.1.2: the code is spent, and what it bought is revoked; no second set was issued.
    row = db.session.scalar(select(AuthorizationCode).where(AuthorizationCode.client_id == rp.portal.id))
    assert row.used_at is not None
    issued = db.session.scalars(select(Token).where(Token.code_id == row.id)).all()
    assert len(issued) == 1 and issued[0].revoked_at is not None
    assert rp.userinfo(first["access_token"]).status_code == 401
    assert rp.refresh(first["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_a_password_change_sent_twice_keeps_the_change_and_says_it_is_done(app, portal, user):
    client = english_browser(app)
    sign_in(client, user.email)
    account = Account(client)
    account.open("/account/password")
    form = {"csrf_token": account.token, "current_password": PASSWORD, "new_password": NEW, "confirm_password": NEW}
    assert client.post("/account/password", data=form).status_code == 302  # saved; the answer is lost

    again = client.post("/account/password", data=form)  # the current password in it is now the old one

    assert again.status_code == 302 and again.location.endswith("/account")
    shown = text(client.get("/account"))
    assert "Your password has been changed." in shown and "not correct" not in shown
    assert len(audit_events(EventTag.USER_PASSWORD_CHANGED)) == 1
    assert signs_in(app, portal, user.email, NEW) and not signs_in(app, portal, user.email, PASSWORD)


def test_a_reset_sent_twice_keeps_the_new_password(app, portal, user):
    client = english_browser(app)
    ask_reset_link(client, user.email)
    url = link_in_mail(app, user.email)
    form = {"csrf_token": csrf_token(client.get(url).get_data(as_text=True)), "new_password": NEW,
            "confirm_password": NEW}
    assert client.post(url, data=form).status_code == 302  # saved; the answer is lost

    again = client.post(url, data=form)

    assert again.status_code == 400 and "This link no longer works" in text(again)  # the dead link's page
    assert 'href="/reset"' in again.get_data(as_text=True)
    assert len(audit_events(EventTag.PASSWORD_RESET)) == 1
    assert signs_in(app, portal, user.email, NEW) and not signs_in(app, portal, user.email, PASSWORD)
