"""Accounts made by an administrator, activated by the person through the e-mailed link (issue 4, part 2)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from idp.audit import EventTag
from tests.helpers import RelyingParty, audit_events, browser, csrf_token
from tests.mfa_helpers import SignIn, latest_code, messages

NEW_PASSWORD = "Blauwe fiets 42 lente"
BORN = date(1950, 3, 15)
LINK = re.compile(r"http://localhost(/activate/[A-Za-z0-9_-]+)")


@pytest.fixture
def client(app):
    """A browser that prefers English (the default language is Dutch): these tests read the wording."""
    return english(browser(app))


def english(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def admin_creates(app):
    """What `idp users add --activate` does: an account without a password, and the activation mail."""
    from idp.accounts import activation
    from idp.accounts.users import create_user
    from idp.extensions import db

    def create(email: str = "nieuw@example.org", **kw):
        kw.setdefault("locale", "en")
        user = create_user(email, None, email_verified=False, **kw)
        activation.send_link(user)
        db.session.commit()
        return user

    return create


def link_of(app, email: str) -> str:
    return LINK.search(messages(app, to=email, template="activation")[0]["body"]).group(1)


class Activation:
    """One person walking through the activation pages of one link, in one browser."""

    def __init__(self, client, url: str):
        self.client, self.url = client, url
        self.response = None

    def page(self) -> str:
        response = self.client.get(self.url)
        assert response.status_code == 200, response.status_code
        return response.get_data(as_text=True)

    def post(self, step: str, **data):
        self.response = self.client.post(self.url, data={"csrf_token": csrf_token(self.page()), "step": step,
                                                          **data})
        return self.response

    def birth_date(self, typed: str):
        return self.post("birth_date", birth_date=typed)

    def password(self, new: str = NEW_PASSWORD, again: str | None = None):
        return self.post("password", new_password=new, confirm_password=new if again is None else again)

    @property
    def html(self) -> str:
        return self.response.get_data(as_text=True)


def step_of(html: str) -> str:
    return re.search(r'name="step" value="([^"]+)"', html).group(1)


def test_the_activation_mail_names_the_organisation_and_carries_a_link_valid_for_72_hours(app, admin_creates):
    admin_creates("nieuw@example.org", organisation="Huisartsenpraktijk De Linde", date_of_birth=BORN)
    [mail] = messages(app, to="nieuw@example.org", template="activation")
    assert "Huisartsenpraktijk De Linde" in mail["body"] and "72 hours" in mail["body"]
    assert LINK.search(mail["body"])
    assert audit_events(EventTag.ACTIVATION_SENT)


def test_an_expired_link_is_refused_with_a_clear_page(app, client, admin_creates, frozen, time_machine):
    admin_creates()
    url = link_of(app, "nieuw@example.org")
    assert client.get(url).status_code == 200
    time_machine.shift(timedelta(hours=72, minutes=1))
    dead = client.get(url)
    assert dead.status_code == 400
    assert "Ask the organisation" in dead.get_data(as_text=True)


def test_a_resent_link_works_and_the_old_one_stops_working(app, client, admin_creates):
    from idp.accounts import activation
    from idp.extensions import db

    user = admin_creates()
    old = link_of(app, user.email)
    activation.send_link(user, resend=True)
    db.session.commit()
    new = link_of(app, user.email)
    assert new != old
    assert client.get(old).status_code == 400
    assert client.get(new).status_code == 200


def test_resending_is_refused_for_an_account_that_already_has_a_password(app, user):
    from idp.accounts import activation
    from idp.errors import InvalidInput

    with pytest.raises(InvalidInput, match="already activated"):
        activation.send_link(user)


def test_a_wrong_date_of_birth_three_times_makes_the_link_useless(app, client, admin_creates):
    user = admin_creates(date_of_birth=BORN)
    walk = Activation(client, link_of(app, user.email))
    for typed, left in (("16-03-1950", "2 more times"), ("15-03-1951", "1 more time")):
        walk.birth_date(typed)
        assert walk.response.status_code == 200 and 'role="alert"' in walk.html and left in walk.html
        assert step_of(walk.html) == "birth_date"
    walk.birth_date("15-04-1950")
    assert walk.response.status_code == 400
    assert "new activation link" in walk.html
    assert client.get(walk.url).status_code == 400
    # Even the right date no longer helps (posted with a valid CSRF token), and every wrong one was recorded.
    token = csrf_token(client.get("/reset").get_data(as_text=True))
    again = client.post(walk.url, data={"csrf_token": token, "step": "birth_date", "birth_date": "15-03-1950"})
    assert again.status_code == 400 and "new activation link" in again.get_data(as_text=True)
    assert client.get(walk.url).status_code == 400
    assert audit_events(EventTag.ACCOUNT_ACTIVATED) == []
    assert len(audit_events(EventTag.ACTIVATION_BIRTH_DATE_FAILED)) == 3


def test_not_a_date_is_explained_and_does_not_count(app, client, admin_creates):
    user = admin_creates(date_of_birth=BORN)
    walk = Activation(client, link_of(app, user.email))
    for _ in range(4):
        walk.birth_date("31-02-1950")
        assert walk.response.status_code == 200 and "day-month-year" in walk.html
    assert not audit_events(EventTag.ACTIVATION_BIRTH_DATE_FAILED)
    walk.birth_date("15.03.1950")
    assert walk.response.status_code == 303


def test_activation_with_birth_date_password_and_phone_then_signing_in_at_portals(
        app, client, admin_creates, make_portal):
    from idp.extensions import db
    from idp.models import Factor, User

    user = admin_creates(date_of_birth=BORN, roles=["professional"])
    walk = Activation(client, link_of(app, user.email))
    page = walk.page()
    assert 'autocomplete="bday"' in page and "dd-mm-yyyy" in page

    walk.birth_date(" 15-03-1950 ")
    assert walk.response.status_code == 303
    page = walk.page()
    assert step_of(page) == "password" and 'autocomplete="new-password"' in page
    assert "data-requires-rules" in page

    live = client.post(walk.url + "/rules", data={"csrf_token": csrf_token(page), "password": "kort"})
    assert live.status_code == 200 and live.get_json()["ok"] is False
    walk.password("kort")  # the policy decides, here too
    assert walk.response.status_code == 200 and 'role="alert"' in walk.html
    assert step_of(walk.html) == "password"
    walk.password(NEW_PASSWORD, again="something else")
    assert step_of(walk.html) == "password"
    walk.password()
    assert walk.response.status_code == 303

    page = walk.page()
    assert step_of(page) == "phone" and 'autocomplete="tel"' in page
    walk.post("phone", action="send", phone="06 12345678")
    assert walk.response.status_code == 303
    page = walk.page()
    assert 'autocomplete="one-time-code"' in page
    walk.post("phone", action="confirm", code="000000")
    assert 'role="alert"' in walk.html
    walk.post("phone", action="confirm", code=latest_code(app, "+31612345678"))
    assert walk.response.status_code == 200
    assert "Your account is ready" in walk.html and "/account" in walk.html
    assert len(re.findall(r"<li><code>", walk.html)) >= 8  # the recovery codes, shown this once

    db.session.expire_all()
    stored = db.session.get(User, user.id)
    assert stored.email_verified is True and stored.password_hash
    assert db.session.scalar(select(Factor).where(Factor.user_id == user.id)).confirmed_at is not None
    assert audit_events(EventTag.ACCOUNT_ACTIVATED)
    assert not messages(app, to=user.email, template="password_changed")
    assert client.get(walk.url).status_code == 400  # single use

    # The person now signs in like anyone else: with the new password, and the SMS code where a portal asks.
    plain = RelyingParty(browser(app), make_portal("Informatie", mfa="off"))
    assert "code" in plain.sign_in(user.email, NEW_PASSWORD)
    strict = RelyingParty(browser(app), make_portal("Huisarts", mfa="required"))
    sign_in = SignIn(strict.client, strict.login_url())
    sign_in.password(user.email, NEW_PASSWORD)
    assert 'autocomplete="one-time-code"' in sign_in.page()
    sign_in.post(code=latest_code(app, "+31612345678"))
    assert "code" in sign_in.finished(strict.redirect_uri)


def test_an_account_without_a_date_of_birth_starts_at_the_password(app, client, admin_creates):
    user = admin_creates()
    walk = Activation(client, link_of(app, user.email))
    assert step_of(walk.page()) == "password"
    assert 'autocomplete="bday"' not in walk.page()


def test_another_browser_must_give_the_date_of_birth_again(app, client, admin_creates):
    user = admin_creates(date_of_birth=BORN)
    url = link_of(app, user.email)
    Activation(client, url).birth_date("15-03-1950")
    assert step_of(Activation(client, url).page()) == "password"
    other = browser(app)
    page = Activation(other, url).page()
    assert step_of(page) == "birth_date"
    # With a valid CSRF token of its own, so only the missing date of birth can refuse the live rules.
    rules = other.post(url + "/rules", data={"password": "x", "csrf_token": csrf_token(page)})
    assert rules.status_code == 404 and rules.get_json() == {"error": "not found"}


@pytest.mark.parametrize("settings_overrides", [{"accounts": {"activation_phone": False}}])
def test_without_activation_phone_the_password_finishes_it(app, client, admin_creates, rp):
    user = admin_creates()
    walk = Activation(client, link_of(app, user.email))
    walk.password()
    assert walk.response.status_code == 200 and "Your account is ready" in walk.html
    assert "<code>" not in walk.html
    assert audit_events(EventTag.ACCOUNT_ACTIVATED)
    assert client.get(walk.url).status_code == 400
    assert "code" in RelyingParty(browser(app), rp.portal).sign_in(user.email, NEW_PASSWORD)


@pytest.mark.parametrize("settings_overrides", [{"limits": {"links_per_account": "2 per hour"}}])
def test_posts_to_one_link_are_throttled(app, client, admin_creates):
    user = admin_creates(date_of_birth=BORN)
    walk = Activation(client, link_of(app, user.email))
    for _ in range(2):
        assert walk.birth_date("no date").status_code == 200
    assert walk.birth_date("15-03-1950").status_code == 429


@pytest.mark.parametrize(("kw", "message"), [
    ({"date_of_birth": date(2999, 1, 1)}, "not a date of birth"),
    ({"organisation": "x" * 201}, "organisation too long"),
])
def test_create_user_checks_birth_date_and_organisation(app, kw, message):
    from idp.accounts.users import create_user
    from idp.errors import InvalidInput

    with pytest.raises(InvalidInput, match=message):
        create_user("nieuw@example.org", None, **kw)


def test_the_cli_adds_an_account_for_activation_and_resends_the_link(tmp_path):
    from tests.unit.test_cli import dev_env, ok, ok_json, refused, row_counts

    env = dev_env(tmp_path, f"sqlite:///{tmp_path}/idp.sqlite")
    ok(env, "init")
    added = ok_json(env, "users", "add", "--email", "nieuw@example.org", "--name", "Nieuwe Collega",
                    "--role", "professional", "--birth-date", "1950-03-15", "--organisation", "De Linde",
                    "--activate", "--locale", "en")
    assert added["email"] == "nieuw@example.org"
    assert ok(env, "users", "resend-activation", "nieuw@example.org").strip() == (
        "sent a new activation link to nieuw@example.org")
    ok(env, "worker", "--once")
    outbox = (tmp_path / "outbox.jsonl").read_text().splitlines()
    mails = [line for line in outbox if "nieuw@example.org" in line]
    assert len(mails) == 2 and "De Linde" in mails[0] and "/activate/" in mails[1]

    ok(env, "users", "add", "--email", "anna@example.org", "--password", "correct horse battery")
    assert refused(env, "users", "resend-activation", "anna@example.org") == (
        "error: anna@example.org is already activated (the account has a password)")
    before = row_counts(env["IDP_DATABASE_URL"])
    assert refused(env, "users", "add", "--email", "x@example.org", "--activate",
                   "--birth-date", "1950-02-30") == (
        "error: --birth-date must be a real date as YYYY-MM-DD, not '1950-02-30'")
    assert refused(env, "users", "add", "--email", "x@example.org", "--activate", "--temporary") == (
        "error: give exactly one of --password, --temporary or --activate")
    assert row_counts(env["IDP_DATABASE_URL"]) == before


def test_a_half_activated_account_cannot_sign_in_and_its_link_resumes_in_another_browser(
        app, client, admin_creates, rp):
    """Issue 14 part 3: password set, phone not confirmed yet. The account is not usable; the link, in any
    browser, asks the date of birth again, then the password chosen (never a new one), then the phone."""
    from idp.extensions import db
    from idp.models import SsoSession

    user = admin_creates(date_of_birth=BORN)
    url = link_of(app, user.email)
    walk = Activation(client, url)
    walk.birth_date("15-03-1950")
    walk.password()
    assert step_of(walk.page()) == "phone"

    attempt = SignIn(client, rp.login_url(ui_locales="en", prompt="login"))
    refused = attempt.password(user.email, NEW_PASSWORD)
    assert "Your account is not ready yet" in refused.get_data(as_text=True)
    assert db.session.scalar(select(SsoSession).where(SsoSession.user_id == user.id)) is None

    other = Activation(english(browser(app)), url)
    assert step_of(other.page()) == "birth_date"
    other.birth_date("15-03-1950")
    page = other.page()
    assert step_of(page) == "password" and 'name="new_password"' not in page and 'name="password"' in page
    other.post("password", password="not what I chose")
    assert "That is not the password you chose" in other.html
    assert step_of(other.page()) == "password"
    other.post("password", password=NEW_PASSWORD)
    assert step_of(other.page()) == "phone"
    other.post("phone", action="send", phone="06 12345678")
    other.post("phone", action="confirm", code=latest_code(app, "+31612345678"))
    assert "Your account is ready" in other.html
    db.session.refresh(user)
    assert user.activation_pending is False
    now_complete = SignIn(client, rp.login_url(ui_locales="en", prompt="login"))
    now_complete.password(user.email, NEW_PASSWORD)
    assert now_complete.stage == "second_factor"  # past the password: the account is usable now


def test_forgot_password_for_a_never_activated_account_sends_a_fresh_activation_link(app, client, admin_creates):
    """Issue 14 part 3: the way on is the activation (its date of birth is not skipped), with the same
    neutral page as for any address."""
    user = admin_creates(date_of_birth=BORN)
    first = link_of(app, user.email)
    page = client.get("/reset").get_data(as_text=True)
    known = client.post("/reset", data={"csrf_token": csrf_token(page), "email": user.email})
    unknown = client.post("/reset", data={"csrf_token": csrf_token(page), "email": "nobody@example.org"})
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    assert not messages(app, to=user.email, template="reset_link")
    assert len(messages(app, to=user.email, template="activation")) == 2
    fresh = link_of(app, user.email)
    assert fresh != first and client.get(first).status_code == 400  # the older link stops working
    assert step_of(Activation(client, fresh).page()) == "birth_date"


def ask_reset(client, email: str):
    page = client.get("/reset").get_data(as_text=True)
    return client.post("/reset", data={"csrf_token": csrf_token(page), "email": email})


def test_asking_for_new_links_gives_no_new_date_of_birth_guesses(app, client, admin_creates):
    """Issue 18: whoever reads the mailbox can ask "forgot password" for a fresh activation link; a fresh link
    keeps the wrong dates of the one it replaces, and once they are used up no link comes at all: three
    guesses per account until the organisation sends a new link, not three per link."""
    from idp.accounts import activation
    from idp.extensions import db
    from idp.models import AccountLink

    user = admin_creates(date_of_birth=BORN)
    for wrong in ("16-03-1950", "17-03-1950"):
        Activation(client, link_of(app, user.email)).birth_date(wrong)
        ask_reset(client, user.email)
    walk = Activation(client, link_of(app, user.email))
    walk.birth_date("18-03-1950")
    assert walk.response.status_code == 400 and "new activation link" in walk.html  # the third wrong date
    mails = len(messages(app, to=user.email, template="activation"))
    unknown = ask_reset(client, "nobody@example.org").get_data(as_text=True)
    assert ask_reset(client, user.email).get_data(as_text=True) == unknown  # the page tells nothing
    assert len(messages(app, to=user.email, template="activation")) == mails  # but no new link came
    rows = db.session.scalars(select(AccountLink).where(AccountLink.user_id == user.id)
                              .order_by(AccountLink.id)).all()
    assert [r.attempts for r in rows] == [1, 2, 3] and all(r.invalidated_at is not None for r in rows)
    assert all(r.used_at is None for r in rows)
    # The right date on the last link is refused; the audit has every wrong date and the refused link.
    token = csrf_token(client.get("/reset").get_data(as_text=True))
    again = client.post(walk.url, data={"csrf_token": token, "step": "birth_date", "birth_date": "15-03-1950"})
    assert again.status_code == 400 and user.activation_pending
    assert len(audit_events(EventTag.ACTIVATION_BIRTH_DATE_FAILED)) == 3
    assert [e.outcome for e in audit_events(EventTag.ACTIVATION_SENT)][-1] == "failure"
    # The organisation starts again: its link allows three tries of its own.
    activation.send_link(user, resend=True)
    db.session.commit()
    fresh = Activation(client, link_of(app, user.email))
    fresh.birth_date("15-03-1950")
    assert fresh.response.status_code == 303 and step_of(fresh.page()) == "password"


def test_an_activation_link_is_an_unguessable_token_found_by_its_keyed_hash(app, admin_creates):
    from idp.extensions import db
    from idp.models import AccountLink

    user = admin_creates(date_of_birth=BORN)
    token = link_of(app, user.email).rsplit("/", 1)[1]
    assert len(token) >= 43  # 32 random bytes, base64url: 256 bits
    [row] = db.session.scalars(select(AccountLink).where(AccountLink.user_id == user.id)).all()
    assert token not in row.token_hash and row.token_hash != token


GGZ = {"ggz": {"min_length": 12, "min_special": 1}}


@pytest.mark.parametrize("settings_overrides", [{"password_policies": GGZ, "accounts": {"activation_phone": False}}])
def test_an_account_made_for_a_portal_follows_its_policy_and_leads_back_to_it(app, client, make_portal):
    """Issue 14 part 2: the link belongs to the portal: its name in the mail, its password policy at once (never
    a second password at the first sign-in), and a way back to it when done."""
    from idp.accounts import activation
    from idp.accounts.users import create_user
    from idp.extensions import db
    from idp.portals import registry

    portal = make_portal("GGZ clientportaal", password_policy="ggz")
    registry.update(portal, profile={"sign_in_url": "https://ggz.example.org/login"})
    user = create_user("client@example.org", None, email_verified=False, locale="en")
    activation.send_link(user, client=portal)
    db.session.commit()
    [mail] = messages(app, to=user.email, template="activation")
    assert "You will use it to sign in at GGZ clientportaal." in mail["body"]

    walk = Activation(client, link_of(app, user.email))
    assert "At least 12 characters" in walk.page()
    walk.password("Blauwe fiets 42")  # the default policy would take it; this portal's does not
    assert 'role="alert"' in walk.html and step_of(walk.html) == "password"
    walk.password("Blauwe fiets 42!")
    assert "Your account is ready" in walk.html
    assert 'href="https://ggz.example.org/login"' in walk.html and "Go to GGZ clientportaal" in walk.html

    sign_in = SignIn(client, RelyingParty(client, portal).login_url(ui_locales="en"))
    sign_in.password(user.email, "Blauwe fiets 42!")
    assert sign_in.response.status_code == 302 and "/login/" not in sign_in.response.location  # no second password


def test_a_temporary_password_mail_names_the_portal_the_login_name_and_where_to_sign_in(app, make_portal):
    from idp.accounts.passwords import give_temporary_password
    from idp.accounts.users import create_user
    from idp.extensions import db
    from idp.portals import registry

    portal = make_portal("Clientportaal Thuiszorg")
    registry.update(portal, profile={"sign_in_url": "https://client.example.org/login"})
    user = create_user("els@example.org", None, username="els.devries", locale="en")
    give_temporary_password(user, portal)
    db.session.commit()
    [mail] = messages(app, to=user.email, template="temporary_password")
    assert mail["subject"] == "Your account for Clientportaal Thuiszorg"
    assert "Your login name: els.devries" in mail["body"]
    assert "https://client.example.org/login" in mail["body"]


@pytest.mark.parametrize("settings_overrides", [{"accounts": {"activation_phone": False}}])
def test_at_a_portal_that_signs_in_by_username_every_activation_text_gives_the_username(app, client, make_portal):
    """Seed 004: "log in met je gebruikersnaam (deze vind je in de e-mail)". The mail, the password manager's
    field and the ready page give what the portal's sign-in page asks: the username, never only the address."""
    from idp.accounts import activation
    from idp.accounts.passwords import give_temporary_password
    from idp.accounts.users import create_user
    from idp.extensions import db
    from idp.portals import registry

    by_username = make_portal("Mijn Helder")
    registry.update(by_username, profile={"sign_in_with": "username"})
    by_email = make_portal("Bestelportaal")
    registry.update(by_email, profile={"sign_in_with": "email"})
    mila = create_user("mila@example.org", None, username="mvisser", email_verified=False, locale="en")
    activation.send_link(mila, client=by_username)
    db.session.commit()
    [mail] = messages(app, to=mila.email, template="activation")
    assert "Your login name: mvisser" in mail["body"]

    walk = Activation(client, link_of(app, mila.email))
    assert 'name="username" value="mvisser" autocomplete="username"' in walk.page()
    walk.password("Blauwe fiets 42!")
    assert "Your account is ready" in walk.html and "Your login name: mvisser" in walk.html

    els = create_user("els@example.org", None, username="els.devries", locale="en")
    give_temporary_password(els, by_email)  # this portal asks the address: the username would not work there
    db.session.commit()
    [mail] = messages(app, to=els.email, template="temporary_password")
    assert "Your login name: els@example.org" in mail["body"] and "els.devries" not in mail["body"]


def test_phone_first_the_code_goes_to_the_number_on_record_before_the_password_is_chosen(
        app, client, make_portal):
    """Seed 003: link, then an SMS code to the number the practice entered (nobody can type another), then the
    password. A second browser with the same link proves the phone again before it may choose the password."""
    from idp.accounts import activation
    from idp.accounts.users import create_user
    from idp.extensions import db
    from idp.models import Factor
    from idp.portals import registry
    from idp.security import phones, recovery

    practice = make_portal("Huisartsenpraktijk De Linde")
    registry.update(practice, profile={"activation_order": "phone_first", "activation_phone": "true"})
    user = create_user("patient@example.org", None, email_verified=False, locale="en", phone="06 12345678")
    activation.send_link(user, client=practice)
    db.session.commit()
    assert user.phone_verified is False  # the practice typed it; only its owner's code verifies it
    url = link_of(app, user.email)

    walk = Activation(client, url)
    page = walk.page()
    assert step_of(page) == "phone" and phones.mask_phone("+31612345678") in page and 'name="phone"' not in page
    walk.post("phone", action="send", phone="06 99999999")  # a typed number is not taken
    assert not messages(app, to="+31699999999")
    page = walk.page()
    assert 'value="other"' not in page and "Is this not your mobile number?" in page

    other = Activation(english(browser(app)), url)
    walk.post("phone", action="confirm", code=latest_code(app, "+31612345678"))
    assert step_of(walk.page()) == "password"
    assert step_of(other.page()) == "phone"  # the link alone does not reach the password in another browser

    walk.password()
    assert "Your account is ready" in walk.html
    shown = re.findall(r"\b[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{2}\b", walk.html)
    assert len(shown) == 10 and recovery.use(user, shown[0])
    db.session.refresh(user)
    assert user.activation_pending is False and user.password_hash is not None
    factor = db.session.scalar(select(Factor).where(Factor.user_id == user.id, Factor.kind == "sms"))
    assert factor.confirmed_at is not None
    assert user.phone_verified is True
