"""Self-registration: a portal that allows it lets a person confirm an address, choose a password and go on."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from idp import clock
from idp.audit import EventTag
from tests.helpers import RelyingParty, audit_events, browser, csrf_token, statements_of
from tests.mfa_helpers import SignIn, latest_code, messages

PASSWORD = "lantern orchard 42"
LINK = re.compile(r"http://localhost(/register/[A-Za-z0-9_-]+)")


@pytest.fixture
def open_portal(make_portal):
    return make_portal("Huisartsportaal", registration=True)


@pytest.fixture
def open_rp(client, open_portal):
    return RelyingParty(client, open_portal)


def start(rp: RelyingParty) -> str:
    """Begin signing in at the portal; the parked sign-in's uid."""
    return rp.login_url(ui_locales="en").rsplit("/", 1)[1]


def ask_link(client, uid: str, email: str):
    page = client.get(f"/register?uid={uid}")
    assert page.status_code == 200
    return client.post(f"/register?uid={uid}", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                                      "email": email})


def link_path(app, email: str) -> str:
    mail = messages(app, to=email, template="registration_link")[0]
    return LINK.search(mail["body"]).group(1)


def choose_password(client, path: str, password: str = PASSWORD, confirm: str | None = None):
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return client.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                   "new_password": password, "confirm_password": confirm or password})


def live_rules(client, path: str, password: str) -> dict:
    token = csrf_token(client.get(path).get_data(as_text=True))
    response = client.post(path + "/rules", data={"csrf_token": token, "password": password})
    assert response.status_code == 200, response.status_code
    return response.get_json()


def follow(client, response):
    while response.status_code == 302 and response.location.startswith("/login/"):
        response = client.get(response.location)
    return response


def users_with(app, email: str) -> int:
    from idp.extensions import db
    from idp.models import User

    return db.session.scalar(select(func.count()).select_from(User).where(func.lower(User.email) == email.lower()))


def test_a_portal_without_registration_has_no_registration_page(client, rp):
    uid = start(rp)
    assert client.get(f"/register?uid={uid}").status_code == 404
    assert client.get("/register").status_code == 404


def test_another_browser_cannot_use_the_sign_in_to_register(app, client, open_rp):
    uid = start(open_rp)
    assert client.get(f"/register?uid={uid}").status_code == 200  # the browser that started it may
    assert browser(app).get(f"/register?uid={uid}").status_code == 404


def test_a_new_person_registers_and_arrives_signed_in_at_the_portal(app, client, open_rp):
    uid = start(open_rp)
    sent = ask_link(client, uid, "nieuw@example.org")
    assert sent.status_code == 200
    assert "Check your e-mail" in sent.get_data(as_text=True)
    path = link_path(app, "nieuw@example.org")
    form = client.get(path).get_data(as_text=True)
    assert 'autocomplete="new-password"' in form and "data-requires-rules" in form
    done = follow(client, choose_password(client, path))
    callback = open_rp.callback(done)
    assert callback["code"] and callback["state"] == open_rp.state
    tokens = open_rp.exchange(callback["code"]).get_json()
    assert open_rp.userinfo(tokens["access_token"]).get_json()["email"] == "nieuw@example.org"
    from idp.accounts.users import find_by_login

    user = find_by_login("nieuw@example.org")
    assert user.email_verified and user.password_hash and PASSWORD not in user.password_hash
    [event] = audit_events(EventTag.USER_REGISTERED)
    assert event.subject_user_id == user.id and event.client_id == open_rp.portal.client_id


def test_an_existing_address_gets_the_same_page_and_a_mail_instead_of_a_link(app, client, open_rp, user):
    uid = start(open_rp)
    new = ask_link(client, uid, "someone.new@example.org")
    known = ask_link(client, uid, user.email)
    assert new.status_code == known.status_code == 200
    assert (new.get_data(as_text=True).replace("someone.new@example.org", "X")
            == known.get_data(as_text=True).replace(user.email, "X"))
    assert messages(app, to=user.email, template="registration_link") == []
    [mail] = messages(app, to=user.email, template="already_registered")
    assert "/register/" not in mail["body"] and "http://localhost/reset" in mail["body"]
    assert users_with(app, user.email) == 1


def test_an_existing_address_costs_the_same_database_work_and_keeps_no_link(app, client, open_rp, user):
    """Issue 18: no enumeration by timing. A known address gets its link made too (in a savepoint it does not
    keep) and one mail, so both requests ask the same of the database; only the new address keeps a link."""
    from idp.extensions import db
    from idp.models import AccountLink, AuditEvent, OutboxMessage

    uid = start(open_rp)
    ask_link(client, uid, "warm.up@example.org")  # the first request's one-off work (caches, the limiter)

    def counts() -> tuple[int, int, int]:
        db.session.expire_all()
        return tuple(db.session.scalar(select(func.count()).select_from(t))
                     for t in (AccountLink, OutboxMessage, AuditEvent))

    page = client.get(f"/register?uid={uid}").get_data(as_text=True)
    pages = {}

    def post(email):
        return lambda: pages.setdefault(email, client.post(f"/register?uid={uid}", data={
            "csrf_token": csrf_token(page), "email": email}))

    before = counts()
    new_work = statements_of(app, post("someone.new@example.org"))
    after_new = counts()
    known_work = statements_of(app, post(user.email))
    after_known = counts()
    assert known_work == new_work
    assert [a - b for a, b in zip(after_new, before, strict=True)] == [1, 1, 1]  # a link, its mail, the audit
    assert [a - b for a, b in zip(after_known, after_new, strict=True)] == [0, 1, 1]  # its mail only
    assert (pages["someone.new@example.org"].get_data(as_text=True).replace("someone.new@example.org", "X")
            == pages[user.email].get_data(as_text=True).replace(user.email, "X"))
    assert messages(app, to=user.email, template="registration_link") == []
    assert len(messages(app, to=user.email, template="already_registered")) == 1


def test_a_link_for_an_address_that_got_an_account_meanwhile_makes_no_second_one(app, client, open_rp,
                                                                                  make_user):
    uid = start(open_rp)
    ask_link(client, uid, "twice@example.org")
    path = link_path(app, "twice@example.org")
    make_user("Twice@example.org")
    page = client.get(path)
    assert page.status_code == 200 and "You already have an account" in page.get_data(as_text=True)
    assert "new_password" not in page.get_data(as_text=True)
    assert users_with(app, "twice@example.org") == 1


def test_the_link_works_once(app, client, open_rp):
    uid = start(open_rp)
    ask_link(client, uid, "once@example.org")
    path = link_path(app, "once@example.org")
    follow(client, choose_password(client, path))
    again = client.get(path)
    assert again.status_code == 400 and 'role="alert"' in again.get_data(as_text=True)
    elsewhere = browser(app)
    token = csrf_token(elsewhere.get(RelyingParty(elsewhere, open_rp.portal).login_url()).get_data(as_text=True))
    replay = elsewhere.post(path, data={"csrf_token": token, "new_password": "other " + PASSWORD,
                                     "confirm_password": "other " + PASSWORD})
    assert replay.status_code == 400 and "This link no longer works" in replay.get_data(as_text=True)
    assert users_with(app, "once@example.org") == 1


def test_two_tabs_with_one_link_make_one_account(app, client, open_rp):
    from idp.accounts import registration
    from idp.extensions import db

    uid = start(open_rp)
    ask_link(client, uid, "tabs@example.org")
    token = link_path(app, "tabs@example.org").rsplit("/", 1)[1]
    first, second = registration.link_for(token), registration.link_for(token)
    registration.complete(first, PASSWORD)
    db.session.commit()
    with pytest.raises(registration.AlreadyRegistered):
        registration.complete(second, PASSWORD)  # the same row, as the losing tab would hold it
    db.session.rollback()
    assert users_with(app, "tabs@example.org") == 1


def test_an_expired_or_replaced_link_gets_a_clear_page(app, client, open_rp):
    uid = start(open_rp)
    ask_link(client, uid, "late@example.org")
    old = link_path(app, "late@example.org")
    ask_link(client, uid, "late@example.org")
    newer = link_path(app, "late@example.org")
    assert old != newer and client.get(old).status_code == 400
    with time_machine.travel(clock.now() + timedelta(hours=25)):
        dead = client.get(newer)
        assert dead.status_code == 400 and "This link no longer works" in dead.get_data(as_text=True)
    assert users_with(app, "late@example.org") == 0


@pytest.mark.parametrize("settings_overrides", [
    {"passwords": {"floor_min_length": 5},
     "password_policies": {"short": {"min_length": 5, "min_upper": 1, "min_lower": 1, "min_non_letters": 1}}}])
def test_the_portals_password_policy_decides(app, client, make_portal):
    rp = RelyingParty(client, make_portal("Apotheek", registration=True, password_policy="short"))
    uid = start(rp)
    ask_link(client, uid, "beleid@example.org")
    path = link_path(app, "beleid@example.org")
    rules = live_rules(client, path, "abcde")
    assert rules["ok"] is False and {r["id"] for r in rules["rules"] if not r["ok"]} == {"upper", "non_letters"}
    refused = choose_password(client, path, "abcde")
    assert refused.status_code == 400 and 'role="alert"' in refused.get_data(as_text=True)
    assert choose_password(client, path, "Ab1!x", confirm="Ab1!y").status_code == 400
    assert users_with(app, "beleid@example.org") == 0
    assert live_rules(client, path, "Ab1!x")["ok"] is True
    # Shorter than the provider's own floor for admin-made accounts: the portal's policy is what counts.
    callback = rp.callback(follow(client, choose_password(client, path, "Ab1!x")))
    assert callback["code"]


def test_a_portal_that_requires_a_second_factor_enrols_one_after_registration(app, client, make_portal):
    rp = RelyingParty(client, make_portal("Huisarts", registration=True, mfa="required"))
    uid = start(rp)
    ask_link(client, uid, "sms@example.org")
    response = choose_password(client, link_path(app, "sms@example.org"))
    assert response.status_code == 302 and response.location == f"/login/{uid}"
    sign_in = SignIn(client, response.location)
    assert sign_in.stage == "enrol"
    sign_in.post(action="choose:sms")
    sign_in.post(action="send", phone="06-12345678")
    sign_in.post(action="confirm", code=latest_code(app, "+31612345678"))
    sign_in.post(action="saved")
    callback = sign_in.finished(rp.redirect_uri)
    claims = rp.decode_id_token(rp.exchange(callback["code"]).get_json()["id_token"])
    assert claims["amr"] == ["mfa", "pwd", "sms"] and claims["email"] == "sms@example.org"


def test_a_portal_for_business_domains_refuses_other_addresses_before_sending(app, client, make_portal):
    rp = RelyingParty(client, make_portal("Zorgnet", registration=True, email_domains=["zorg.nl"]))
    uid = start(rp)
    refused = ask_link(client, uid, "privé@gmail.com")
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert 'role="alert"' in page and "@zorg.nl" in page
    assert messages(app) == []
    assert ask_link(client, uid, "arts@zorg.nl").status_code == 200
    assert messages(app, to="arts@zorg.nl", template="registration_link")


def test_an_invalid_address_gets_a_clear_error(app, client, open_rp):
    refused = ask_link(client, start(open_rp), "not an address")
    assert refused.status_code == 400 and 'role="alert"' in refused.get_data(as_text=True)
    assert messages(app) == []


@pytest.mark.parametrize("settings_overrides", [{"limits": {"links_per_account": "2 per minute",
                                                            "links_per_ip": "4 per minute"}}])
def test_asking_for_links_is_throttled_per_address_and_per_ip(app, client, open_rp):
    from idp.extensions import limiter

    limiter.reset()
    uid = start(open_rp)
    statuses = [ask_link(client, uid, "flood@example.org").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert len(messages(app, to="flood@example.org")) == 2
    statuses = [ask_link(client, uid, f"other{n}@example.org").status_code for n in range(3)]
    assert statuses == [200, 200, 429]  # four posts from this address in a minute


def test_in_another_browser_the_account_is_ready_and_the_person_signs_in_themselves(app, client, open_rp):
    from idp.extensions import db
    from idp.portals import registry

    registry.update(open_rp.portal, profile={"sign_in_url": "https://huisarts.example.org/login"})
    db.session.commit()
    uid = start(open_rp)
    ask_link(client, uid, "phone@example.org")
    elsewhere = browser(app)
    ready = choose_password(elsewhere, link_path(app, "phone@example.org"))
    assert ready.status_code == 200 and "Your account is ready" in ready.get_data(as_text=True)
    assert 'href="https://huisarts.example.org/login"' in ready.get_data(as_text=True)  # back to its portal
    assert users_with(app, "phone@example.org") == 1
    callback = open_rp.sign_in("phone@example.org", PASSWORD)
    assert callback["code"]


def test_when_the_sign_in_has_expired_the_account_is_still_made(app, client, open_rp):
    uid = start(open_rp)
    ask_link(client, uid, "slow@example.org")
    path = link_path(app, "slow@example.org")
    with time_machine.travel(clock.now() + timedelta(hours=2)):
        ready = choose_password(client, path)
        assert ready.status_code == 200 and "Your account is ready" in ready.get_data(as_text=True)
    assert users_with(app, "slow@example.org") == 1


def test_registration_is_switched_per_portal_from_the_command_line(app):
    import json

    runner = app.test_cli_runner()
    added = runner.invoke(args=["clients", "add", "--name", "Open", "--redirect-uri",
                                "http://127.0.0.1:9100/callback", "--registration", "--json"])
    assert added.exit_code == 0, added.output
    described = json.loads(added.output)
    assert described["registration"] is True
    unchanged = runner.invoke(args=["clients", "update", described["client_id"], "--name", "Open 2", "--json"])
    assert json.loads(unchanged.output)["registration"] is True
    closed = runner.invoke(args=["clients", "update", described["client_id"], "--no-registration", "--json"])
    assert json.loads(closed.output)["registration"] is False
    plain = runner.invoke(args=["clients", "add", "--name", "Plain", "--redirect-uri",
                                "http://127.0.0.1:9101/callback", "--json"])
    assert json.loads(plain.output)["registration"] is False
