"""A new password: at sign-in when it is temporary, expired or too weak for the portal, and on the account page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from idp.audit import EventTag
from tests.helpers import RelyingParty, audit_events, csrf_token
from tests.mfa_helpers import SignIn, messages

GGZ = {"password_policies": {"ggz": {"min_length": 12, "min_special": 1}}}
NEW = "Lente-bloem!2026"


def account_page(client):
    response = client.get("/account")
    while response.status_code == 302 and not response.location.startswith("/login/"):
        response = client.get(response.location)
    return response


def post_form(client, url: str, **data):
    page = client.get(url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_token(page), **data})


def signed_in_at_account(client, make_portal, user):
    RelyingParty(client, make_portal()).sign_in(user.email, "correct horse battery")
    assert account_page(client).status_code == 200


# --- at sign-in -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("settings_overrides", [GGZ])
def test_a_password_too_weak_for_the_portal_is_changed_before_going_on(app, client, make_portal, user):
    rp = RelyingParty(client, make_portal("GGZ portaal", password_policy="ggz"))
    sign_in = SignIn(client, rp.login_url())
    sign_in.password(user.email)
    page = sign_in.page()
    assert sign_in.stage == "change_password" and "data-rules-url" in page and 'autocomplete="new-password"' in page
    sign_in.post(new_password="kort", confirm_password="kort")
    assert sign_in.response.status_code == 200 and 'class="unmet"' in sign_in.html
    sign_in.post(new_password=NEW, confirm_password=NEW + "x")
    assert 'role="alert"' in sign_in.html
    sign_in.post(new_password=NEW, confirm_password=NEW)
    assert "code" in sign_in.finished(rp.redirect_uri)
    assert messages(app, to=user.email, template="password_changed")
    again = SignIn(client, rp.login_url(prompt="login"))
    again.password(user.email, NEW)
    assert "code" in again.finished(rp.redirect_uri)  # the new one meets the policy: no change asked


def test_a_portal_with_the_default_policy_does_not_ask(rp, user):
    assert "code" in rp.sign_in(user.email, "correct horse battery")


def test_a_temporary_password_must_be_changed_first(app, client, rp, make_user):
    from idp.extensions import db

    person = make_user("piet@example.org", "Zonnebloem-2026-x")
    person.must_change_password = True
    db.session.commit()
    sign_in = SignIn(client, rp.login_url(ui_locales="en"))
    sign_in.password(person.email, "Zonnebloem-2026-x")
    assert sign_in.stage == "change_password" and "temporary password" in sign_in.page()
    sign_in.post(new_password="Zonnebloem-2026-x", confirm_password="Zonnebloem-2026-x")
    assert sign_in.response.status_code == 200 and 'role="alert"' in sign_in.html  # not the temporary one again
    sign_in.post(new_password=NEW, confirm_password=NEW)
    assert "code" in sign_in.finished(rp.redirect_uri)
    db.session.refresh(person)
    assert person.must_change_password is False


@pytest.mark.parametrize("settings_overrides", [{"password_policies": {"standard": {"max_age_days": 90}}}])
def test_an_expired_password_is_changed_at_sign_in(app, client, rp, user, frozen, time_machine):
    time_machine.shift(timedelta(days=91))  # the fixture's password was set just before `frozen`
    sign_in = SignIn(client, rp.login_url())
    sign_in.password(user.email)
    assert sign_in.stage == "change_password"
    sign_in.post(new_password=NEW, confirm_password=NEW)
    assert "code" in sign_in.finished(rp.redirect_uri)


@pytest.mark.parametrize("settings_overrides", [GGZ])
def test_live_rules_answer_json_for_the_person_signing_in_only(app, client, make_portal, user):
    rp = RelyingParty(client, make_portal(password_policy="ggz"))
    url = rp.login_url()
    sign_in = SignIn(client, url)
    page = sign_in.page()
    rules_url = url + "/password-rules"
    assert client.post(rules_url, data={"password": "x", "csrf_token": csrf_token(page)}).status_code == 404
    sign_in.password(user.email)
    page = sign_in.page()
    answer = client.post(rules_url, data={"password": "kort", "csrf_token": csrf_token(page)}).get_json()
    assert answer["ok"] is False and {r["id"] for r in answer["rules"] if not r["ok"]} >= {"min_length", "special"}
    assert client.post(rules_url, data={"password": NEW, "csrf_token": csrf_token(page)}).get_json()["ok"] is True
    assert client.post(rules_url, data={"password": NEW}).status_code == 400  # no CSRF token


# --- on the account page -----------------------------------------------------------------------------------

def test_the_account_page_changes_the_password_and_closes_what_the_old_one_opened(app, client, make_portal,
                                                                                   user):
    from idp import sessions
    from idp.extensions import db
    from idp.models import SsoSession, Token
    from tests.helpers import browser

    elsewhere = browser(app)  # the same person on another computer
    other_rp = RelyingParty(elsewhere, make_portal())
    tokens = other_rp.tokens(user.email, "correct horse battery")
    signed_in_at_account(client, make_portal, user)

    response = post_form(client, "/account/password", current_password="correct horse battery",
                         new_password=NEW, confirm_password=NEW)
    assert response.status_code == 302 and response.location.endswith("/account")
    assert account_page(client).status_code == 200  # this session stays
    live = db.session.scalars(db.select(SsoSession).where(SsoSession.ended_at.is_(None))).all()
    assert len(live) == 1 and all(sessions.is_alive(s) for s in live)
    assert other_rp.refresh(tokens["refresh_token"]).status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(Token).where(Token.revoked_at.is_(None))) == 0
    assert messages(app, to=user.email, template="password_changed")
    assert audit_events(EventTag.USER_PASSWORD_CHANGED)
    rp = RelyingParty(browser(app), make_portal())
    assert "code" in rp.sign_in(user.email, NEW)


def test_a_wrong_current_password_changes_nothing(app, client, make_portal, user):
    signed_in_at_account(client, make_portal, user)
    response = post_form(client, "/account/password", current_password="wrong", new_password=NEW,
                         confirm_password=NEW)
    assert response.status_code == 200 and 'role="alert"' in response.get_data(as_text=True)
    assert not messages(app, template="password_changed")
    assert audit_events(EventTag.LOGIN_PASSWORD_FAILURE)


@pytest.mark.parametrize("settings_overrides", [{"password_policies": {"standard": {"history": 3}}}])
def test_an_earlier_password_is_refused_by_a_policy_with_history(app, client, make_portal, user):
    signed_in_at_account(client, make_portal, user)
    post_form(client, "/account/password", current_password="correct horse battery", new_password=NEW,
              confirm_password=NEW)
    response = post_form(client, "/account/password", current_password=NEW,
                         new_password="correct horse battery", confirm_password="correct horse battery")
    assert response.status_code == 200 and 'class="unmet"' in response.get_data(as_text=True)




@pytest.mark.parametrize("settings_overrides", [GGZ])
def test_the_second_factor_comes_before_a_new_password(app, client, make_portal, user):
    """The password alone must never be enough to replace it (and lock the owner out)."""
    from idp.accounts import factors
    from idp.extensions import db

    factors.add_confirmed(user, "sms", phone_number="+31612345678")
    db.session.commit()
    rp = RelyingParty(client, make_portal(password_policy="ggz", mfa="required"))
    sign_in = SignIn(client, rp.login_url())
    sign_in.password(user.email)
    assert sign_in.stage == "second_factor"
    from tests.mfa_helpers import latest_code

    sign_in.post(code=latest_code(app, "+31612345678"))
    assert sign_in.stage == "change_password"


def test_an_account_with_a_temporary_password_from_the_mail(app, client, rp, make_user):
    """Seeds 002 and 004: the password comes by e-mail and is replaced at the first sign-in."""
    import re

    from idp.accounts.passwords import give_temporary_password
    from idp.accounts.users import create_user
    from idp.extensions import db

    person = create_user("nieuw@example.org", None, name="Nel Nieuw")
    give_temporary_password(person)
    db.session.commit()
    [mail] = messages(app, to="nieuw@example.org", template="temporary_password")
    temporary = re.search(r"\b([A-Za-z2-9]{4}-[A-Za-z2-9]{4}-[A-Za-z2-9]{4})\b", mail["body"]).group(1)
    assert temporary not in (mail["subject"] or "")
    sign_in = SignIn(client, rp.login_url())
    sign_in.password(person.email, temporary)
    assert sign_in.stage == "change_password"
    sign_in.post(new_password=NEW, confirm_password=NEW)
    assert "code" in sign_in.finished(rp.redirect_uri)
    again = SignIn(client, rp.login_url(prompt="login"))
    again.password(person.email, temporary)
    assert again.response.status_code == 200  # the temporary password no longer works
