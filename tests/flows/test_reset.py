"""Password reset (issue 4, part 4): a link by e-mail, a new password by the policy, and what it closes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from idp.audit import EventTag
from tests.helpers import RelyingParty, audit_events, browser, csrf_token, statements_of
from tests.mfa_helpers import SignIn, latest_code, messages

NEW = "Lente-bloem!2026"
GGZ = {"ggz": {"min_length": 12, "min_special": 1}}
ROOMY = {"links_per_ip": "1000 per hour", "links_per_account": "1000 per hour"}


@pytest.fixture
def settings_overrides():
    return {"limits": ROOMY}


def ask_link(client, email: str, username: str | None = None, uid: str | None = None):
    page = client.get("/reset" + (f"?uid={uid}" if uid else "") + ("&" if uid else "?") + "ui_locales=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    data = {"csrf_token": csrf_token(html), "email": email}
    if username is not None:
        data["username"] = username
    if 'name="uid"' in html:
        data["uid"] = re.search(r'name="uid" value="([^"]+)"', html).group(1)
    return client.post("/reset", data=data)


def link_in_mail(app, to: str) -> str:
    mail = messages(app, to=to, template="reset_link")[0]
    return re.search(r"http://localhost(/reset/[A-Za-z0-9_-]+)", mail["body"]).group(1)


def save(client, url: str, new: str = NEW, again: str | None = None):
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return client.post(url, data={"csrf_token": csrf_token(page.get_data(as_text=True)), "new_password": new,
                                  "confirm_password": new if again is None else again})


def without_csrf(response) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", response.get_data(as_text=True))


def reset_password(app, client, user, new: str = NEW):
    ask_link(client, user.email)
    return save(client, link_in_mail(app, user.email), new)


# --- asking for a link ----------------------------------------------------------------------------

def test_an_unknown_address_gets_the_same_answer_and_no_mail(app, user):
    known = ask_link(browser(app), user.email)
    unknown = ask_link(browser(app), "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert without_csrf(known) == without_csrf(unknown)
    assert messages(app, to=user.email, template="reset_link")
    assert not messages(app, to="nobody@example.org")
    assert "spam" in without_csrf(known).lower()
    # The link and mail for nobody were made (the same work, the same time) and undone: neither was kept.
    from idp.accounts import links
    from idp.extensions import db
    from idp.models import AccountLink

    kept = db.session.scalars(select(AccountLink.email_hash)).all()
    assert links.email_hash("nobody@example.org") not in kept and len(kept) == 1


def test_an_unknown_address_runs_the_same_statements_as_a_known_one(app, user):
    """No enumeration by timing (issue 18 part 6): the mail for nobody is written before it is undone, like its
    link; only written rows cost the same (bench/forgot_password.py measured ~3 ms less for nobody without)."""
    client = browser(app)
    ask_link(client, "warm.up@example.org")  # the first request of a process loads what later ones reuse
    email = user.email
    known = statements_of(app, lambda: ask_link(client, email))
    unknown = statements_of(app, lambda: ask_link(client, "nobody@example.org"))
    assert "INSERT outbox_message" in known
    assert unknown == known
    assert not messages(app, to="nobody@example.org")


def test_a_disabled_account_gets_no_link(app, client, user):
    from idp import clock
    from idp.extensions import db

    user.disabled_at = clock.now()
    db.session.commit()
    answer = ask_link(client, user.email)
    assert answer.status_code == 200 and not messages(app, template="reset_link")


def test_an_empty_address_is_asked_again(app, client):
    response = ask_link(client, "")
    assert response.status_code == 200 and 'role="alert"' in response.get_data(as_text=True)


@pytest.mark.parametrize("settings_overrides", [{"limits": ROOMY, "accounts": {"reset_asks_username": True}}])
def test_where_usernames_are_used_both_must_match(app, client, make_user):
    """Seed 002: the username (inlognaam) and the e-mail address."""
    person = make_user("jan@example.org", username="jan.jansen")
    assert 'name="username"' in client.get("/reset").get_data(as_text=True)
    wrong = ask_link(client, person.email, "piet")
    assert not messages(app, template="reset_link")
    right = ask_link(client, person.email, "jan.jansen")
    assert without_csrf(wrong) == without_csrf(right)
    assert len(messages(app, to=person.email, template="reset_link")) == 1


@pytest.mark.parametrize("settings_overrides", [{"limits": ROOMY, "accounts": {"reset_asks_username": True}}])
def test_where_usernames_are_asked_an_account_without_one_is_found_by_its_address(app, client, make_user):
    """Issue 14 part 3: an account made without a username is not locked out of "forgot password"."""
    person = make_user("els@example.org")
    ask_link(client, person.email, "whatever she types")
    assert len(messages(app, to=person.email, template="reset_link")) == 1


# --- the link -------------------------------------------------------------------------------------

@pytest.mark.parametrize("settings_overrides", [{"limits": ROOMY, "password_policies": GGZ}])
def test_reset_through_the_link_with_the_portals_policy(app, client, make_portal, user):
    rp = RelyingParty(client, make_portal("GGZ portaal", password_policy="ggz"))
    uid = rp.login_url(ui_locales="en").rsplit("/", 1)[1]
    ask_link(client, user.email, uid=uid)
    url = link_in_mail(app, user.email)
    page = client.get(url).get_data(as_text=True)
    assert 'autocomplete="new-password"' in page and "data-requires-rules" in page
    assert f'data-rules-url="{url}/rules"' in page
    refused = save(client, url, "kort")
    assert refused.status_code == 200 and 'class="unmet"' in refused.get_data(as_text=True)
    assert 'role="alert"' in save(client, url, NEW, NEW + "x").get_data(as_text=True)
    rules = client.post(url + "/rules", data={"csrf_token": csrf_token(page), "password": "kort"}).get_json()
    assert rules["ok"] is False
    done = save(client, url, NEW)
    assert done.status_code == 302
    # Back in the sign-in this browser started: on to the portal.
    assert done.location.endswith(f"/login/{uid}")
    response = client.get(done.location)
    assert response.status_code == 302 and response.location.startswith(rp.redirect_uri)
    assert "code=" in response.location
    assert audit_events(EventTag.PASSWORD_RESET)


def test_the_new_password_works_and_the_old_one_no_longer(app, client, portal, user):
    done = reset_password(app, client, user)
    assert done.status_code == 302 and done.location.endswith("/reset/done")
    assert client.get(done.location).status_code == 200
    rp = RelyingParty(browser(app), portal)
    sign_in = SignIn(rp.client, rp.login_url())
    sign_in.password(user.email, "correct horse battery")
    assert sign_in.response.status_code == 200  # refused
    sign_in.password(user.email, NEW)
    assert "code" in sign_in.finished(rp.redirect_uri)


def test_the_link_works_once(app, client, user):
    ask_link(client, user.email)
    url = link_in_mail(app, user.email)
    assert save(client, url).status_code == 302
    again = client.get(url)
    assert again.status_code == 400 and 'href="/reset"' in again.get_data(as_text=True)
    page = client.get("/reset").get_data(as_text=True)
    assert client.post(url, data={"csrf_token": csrf_token(page), "new_password": "Other-bloem!2026",
                                  "confirm_password": "Other-bloem!2026"}).status_code == 400


def test_an_expired_link_is_refused(app, client, user, frozen, time_machine):
    ask_link(client, user.email)
    url = link_in_mail(app, user.email)
    assert client.get(url).status_code == 200  # live until the hour has passed
    time_machine.shift(timedelta(minutes=61))  # reset_minutes is 60
    assert client.get(url).status_code == 400


def test_a_second_request_makes_the_first_link_useless(app, client, user):
    ask_link(client, user.email)
    first = link_in_mail(app, user.email)
    ask_link(client, user.email)
    second = link_in_mail(app, user.email)
    assert first != second
    assert client.get(first).status_code == 400
    assert client.get(second).status_code == 200


def test_an_unknown_token_gets_a_clear_page(client):
    response = client.get("/reset/" + "x" * 43)
    assert response.status_code == 400 and 'href="/reset"' in response.get_data(as_text=True)


def test_a_reset_closes_everything_the_old_password_opened(app, client, make_portal, user):
    from idp.extensions import db
    from idp.models import SsoSession, TrustedDevice
    from idp.sessions import devices

    elsewhere = browser(app)
    other_rp = RelyingParty(elsewhere, make_portal())
    tokens = other_rp.tokens(user.email, "correct horse battery")
    devices.trust(user, days=30, user_agent="Firefox", ip="127.0.0.1")
    db.session.commit()
    assert reset_password(app, client, user).status_code == 302
    db.session.expire_all()
    assert all(s.ended_at is not None for s in db.session.scalars(db.select(SsoSession)))
    assert other_rp.refresh(tokens["refresh_token"]).status_code == 400
    assert all(d.revoked_at is not None for d in db.session.scalars(db.select(TrustedDevice)))
    # The other browser is signed out: the portal asks it to sign in again.
    assert other_rp.authorize().location.startswith("/login/")
    [mail] = messages(app, to=user.email, template="password_reset")
    assert not messages(app, to=user.email, template="password_changed")
    assert NEW not in mail["body"]


def test_the_notification_says_what_happened(app, client, user):
    from flask_babel import force_locale

    from idp.messaging.outbox import render

    reset_password(app, client, user)
    assert messages(app, to=user.email, template="password_reset")
    with force_locale("en"):
        subject, body = render("email", "password_reset", "en", account_url="http://localhost/account",
                               contact="")
    assert "reset" in subject.lower() and "not you" in body.lower()


def test_a_reset_ends_a_lockout(app, client, portal, user):
    from idp.extensions import db
    from idp.security import lockout

    for _ in range(5):
        lockout.record_failure(user.email, lockout.begin_attempt(user.email), user)
    db.session.commit()
    assert lockout.login_locked(user.email)
    reset_password(app, client, user)
    assert not lockout.login_locked(user.email)
    assert "code" in RelyingParty(browser(app), portal).sign_in(user.email, NEW)


# --- the phone number again (seed 001) ------------------------------------------------------------

@pytest.mark.parametrize("settings_overrides", [{"limits": ROOMY, "accounts": {"reset_phone": True}}])
def test_the_phone_number_is_set_again_and_confirmed(app, client, user):
    from idp.accounts import factors
    from idp.extensions import db

    factors.add_confirmed(user, "sms", phone_number="+31612345678")
    db.session.commit()
    done = reset_password(app, client, user)
    assert done.status_code == 302 and done.location.endswith("/reset/phone")
    page = client.get("/reset/phone").get_data(as_text=True)
    assert 'autocomplete="tel"' in page
    token = csrf_token(page)
    bad = client.post("/reset/phone", data={"csrf_token": token, "action": "send", "phone": "12"})
    assert bad.status_code == 200 and 'role="alert"' in bad.get_data(as_text=True)
    sent = client.post("/reset/phone", data={"csrf_token": token, "action": "send", "phone": "06 87654321"})
    assert sent.status_code == 302
    db.session.expire_all()
    kept = factors.get(user, "sms")  # until the new number is confirmed, the old one keeps working
    assert kept is not None and factors.phone(kept) == "+31612345678"
    page = client.get("/reset/phone").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in page
    wrong = client.post("/reset/phone", data={"csrf_token": token, "action": "confirm", "code": "000000"})
    assert 'role="alert"' in wrong.get_data(as_text=True)
    right = client.post("/reset/phone", data={"csrf_token": token, "action": "confirm",
                                              "code": latest_code(app, "+31687654321")})
    # The person had this factor before: no new recovery codes, straight on.
    assert right.status_code == 302 and right.location.endswith("/reset/done")
    db.session.expire_all()
    factor = factors.get(user, "sms")
    assert factor is not None and factors.phone(factor) == "+31687654321"
    assert client.get("/reset/phone").status_code == 400  # finished: the step is gone


@pytest.mark.parametrize("settings_overrides", [{"limits": ROOMY, "accounts": {"reset_phone": True}}])
def test_the_phone_step_belongs_to_the_browser_that_used_the_link(app, client, user):
    assert reset_password(app, client, user).location.endswith("/reset/phone")
    assert 'autocomplete="tel"' in client.get("/reset/phone").get_data(as_text=True)  # the browser that used it
    assert browser(app).get("/reset/phone").status_code == 400


@pytest.mark.parametrize("settings_overrides", [{"limits": ROOMY, "accounts": {"reset_phone": True}}])
def test_after_the_phone_step_the_parked_sign_in_goes_on(app, client, make_portal, user):
    rp = RelyingParty(client, make_portal(mfa="required"))
    uid = rp.login_url().rsplit("/", 1)[1]
    ask_link(client, user.email, uid=uid)
    save(client, link_in_mail(app, user.email))
    token = csrf_token(client.get("/reset/phone").get_data(as_text=True))
    client.post("/reset/phone", data={"csrf_token": token, "action": "send", "phone": "+31687654321"})
    response = client.post("/reset/phone", data={"csrf_token": token, "action": "confirm",
                                                 "code": latest_code(app, "+31687654321")})
    # Their first factor: the recovery codes, shown this once, before the sign-in goes on.
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "data-recovery-codes" in html
    assert len(re.findall(r"<li>([^<]+)</li>", html.split("data-recovery-codes", 1)[1].split("</ol>")[0])) == 10
    response = client.post("/reset/phone", data={"csrf_token": token, "action": "continue"})
    assert response.location.endswith(f"/login/{uid}")
    sign_in = SignIn(client, response.location)
    assert sign_in.stage == "second_factor"  # the remaining stages still follow
    sign_in.post(code=latest_code(app, "+31687654321"))
    assert "code" in sign_in.finished(rp.redirect_uri)


def test_in_another_browser_the_reset_ends_on_a_page(app, client, portal, user):
    uid = RelyingParty(client, portal).login_url().rsplit("/", 1)[1]
    ask_link(client, user.email, uid=uid)
    done = save(browser(app), link_in_mail(app, user.email))
    assert done.status_code == 302 and done.location.endswith(f"/reset/done?portal={portal.client_id}")


# --- throttling -----------------------------------------------------------------------------------

@pytest.mark.parametrize("settings_overrides", [{"limits": {"links_per_ip": "50 per hour",
                                                            "links_per_account": "2 per hour"}}])
def test_asking_links_for_one_address_is_paused(app, client, user):
    statuses = [ask_link(client, "nobody@example.org").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert ask_link(client, user.email).status_code == 200  # another address still works


@pytest.mark.parametrize("settings_overrides", [{"limits": {"links_per_ip": "3 per hour",
                                                            "links_per_account": "50 per hour"}}])
def test_asking_links_from_one_address_is_paused(app, client):
    statuses = [ask_link(client, f"n{i}@example.org").status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]


@pytest.mark.parametrize("settings_overrides", [{"limits": {"links_per_ip": "50 per hour",
                                                            "links_per_account": "2 per hour"}}])
def test_guessing_at_one_link_is_paused(app, client, user):
    ask_link(client, user.email)
    url = link_in_mail(app, user.email)
    statuses = [save(client, url, "kort").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
