"""Issue 16 part 4: the account pages people expect — their details (name, e-mail confirmed at the new address,
mobile number confirmed by SMS), where they are signed in, connected portals, download my data, delete my
account — through the test client, as a person uses them, and what an attacker sends to each of them."""

from __future__ import annotations

import json
import re
import secrets
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from idp import clock, sessions
from idp.accounts import factors
from idp.audit import EventTag
from idp.extensions import db
from idp.models import (
    AccountLink,
    AuditEvent,
    Consent,
    Factor,
    OutboxMessage,
    SessionClient,
    SsoSession,
    Token,
    TrustedDevice,
    User,
)
from idp.runtime import crypto
from tests.flows.account_helpers import Account, asks_password, latest_message, sign_in, sms_code, templates_sent
from tests.flows.page import text
from tests.helpers import audit_events, english_browser

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
def client(app):
    return english_browser(app)


@pytest.fixture
def account(client, user):
    sign_in(client)
    return Account(client)


def words(response) -> str:
    return text(response.get_data(as_text=True))


def fresh(row):
    db.session.expire_all()
    return db.session.get(type(row), row.id)


def mails_to(address: str) -> list[OutboxMessage]:
    from idp.messaging import read

    db.session.expire_all()
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email").order_by(OutboxMessage.id))
    return [m for m in rows if read(m)[0] == address]


def link_in(body: str) -> str:
    return re.search(r"http://localhost(/account/email/\S+)", body).group(1)


def other_browser(user: User, *portals, user_agent: str = FIREFOX, ip: str = "192.0.2.7") -> SsoSession:
    """A session of `user` in another browser, in which these portals took part."""
    session, _ = sessions.start(user, amr=["pwd"], acr=None, auth_time=clock.now(), ip=ip, user_agent=user_agent)
    for portal in portals:
        sessions.add_client(session, portal)
    db.session.commit()
    return session


def token_for(user: User, portal, session: SsoSession | None = None) -> Token:
    now = clock.now()
    token = Token(family=secrets.token_hex(8), client_id=portal.id, user_id=user.id,
                  session_id=session.id if session is not None else None,
                  access_token_hash=secrets.token_hex(16), refresh_token_hash=secrets.token_hex(16),
                  scope="openid profile", issued_at=now, access_expires_at=now + timedelta(hours=1),
                  refresh_expires_at=now + timedelta(days=30))
    db.session.add(token)
    db.session.commit()
    return token


def consent_for(user: User, portal) -> Consent:
    consent = Consent(user_id=user.id, client_id=portal.id, scopes=["openid", "profile"], granted_at=clock.now())
    db.session.add(consent)
    db.session.commit()
    return consent


def backchannel_to(portal) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "backchannel",
                                                               OutboxMessage.client_id == portal.id)))


# --- name ------------------------------------------------------------------------------------------------


def test_the_name_changes_after_the_password_and_is_audited(account, user):
    page = account.open("/account/profile")
    assert "Anna de Vries" in page.get_data(as_text=True)
    asked = account.post("/account/profile/name", name="Anna  Jansen ")
    assert asks_password(asked)
    assert fresh(user).name == "Anna de Vries"  # nothing before the password
    done = account.change("/account/profile/name", name="Anna  Jansen ")
    assert done.status_code == 302
    assert fresh(user).name == "Anna Jansen"
    assert [e.subject_user_id for e in audit_events(EventTag.USER_NAME_CHANGED)] == [user.id]


def test_an_empty_name_is_refused_and_the_old_one_stays(account, user):
    refused = account.change("/account/profile/name", name="   ")
    assert refused.status_code == 200 and "Enter your name" in words(refused)
    assert fresh(user).name == "Anna de Vries"


# --- e-mail address --------------------------------------------------------------------------------------


def test_a_new_address_changes_only_when_the_link_sent_there_is_opened(client, account, user):
    sent = account.change("/account/profile/email", email="anna.nieuw@example.org")
    assert "We sent an e-mail to anna.nieuw@example.org" in words(sent)
    assert fresh(user).email == "anna@example.org"
    # The old address hears of it ("was this you?"), the new one gets the link.
    [notice] = mails_to("anna@example.org")
    assert notice.template == "email_change_requested"
    [mail] = mails_to("anna.nieuw@example.org")
    assert mail.template == "email_change_link"
    url = link_in(_body(mail))

    opened = client.get(url)  # a GET (a mail scanner, a preview) changes nothing
    assert "Make anna.nieuw@example.org the e-mail address of your account?" in words(opened)
    assert fresh(user).email == "anna@example.org"
    confirm = Account(client)
    confirm.open(url)
    done = confirm.post(url)
    assert "From now on you sign in with anna.nieuw@example.org" in words(done)
    assert fresh(user).email == "anna.nieuw@example.org"
    assert [m.template for m in mails_to("anna@example.org")] == ["email_change_requested", "email_changed"]
    assert [e.outcome for e in audit_events(EventTag.USER_EMAIL_CHANGED)] == ["success"]

    again = confirm.post(url)  # single use
    assert "This link no longer works" in words(again)
    assert fresh(user).email == "anna.nieuw@example.org"


def _body(message: OutboxMessage) -> str:
    from idp.messaging import read

    return read(message)[2]


def test_the_link_expires(client, account, user):
    account.change("/account/profile/email", email="anna.nieuw@example.org")
    url = link_in(_body(mails_to("anna.nieuw@example.org")[0]))
    with time_machine.travel(clock.now() + timedelta(hours=25)):
        dead = client.get(url)
        assert "This link no longer works" in words(dead)
        assert 'name="csrf_token"' not in dead.get_data(as_text=True)
    assert fresh(user).email == "anna@example.org"


def test_a_newer_request_makes_the_earlier_link_useless(client, account, user):
    account.change("/account/profile/email", email="first@example.org")
    first = link_in(_body(mails_to("first@example.org")[0]))
    account.post("/account/profile/email", email="second@example.org")
    assert "This link no longer works" in words(client.get(first))


def test_a_taken_address_gets_the_same_page_and_the_account_that_asked_is_not_named(account, user, make_user):
    make_user("bert@example.org", name="Bert Bakker")
    free = account.change("/account/profile/email", email="free@example.org")
    taken = account.post("/account/profile/email", email="Bert@example.org")
    assert free.status_code == taken.status_code == 200
    assert words(free).replace("free@example.org", "X") == words(taken).replace("Bert@example.org", "X")
    # No link exists for the taken address; its owner is told nothing will change, without naming Anna.
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(AccountLink).where(
        AccountLink.user_id == user.id, AccountLink.purpose == "email_change", AccountLink.used_at.is_(None),
        AccountLink.invalidated_at.is_(None))) == 0
    [told] = mails_to("Bert@example.org")
    assert told.template == "email_change_taken"
    assert "Anna" not in _body(told) and "anna@example.org" not in _body(told)
    assert fresh(user).email == "anna@example.org"


def test_an_address_taken_after_the_link_was_sent_is_refused_when_opened(client, account, user, make_user):
    account.change("/account/profile/email", email="gone@example.org")
    url = link_in(_body(mails_to("gone@example.org")[0]))
    make_user("gone@example.org", name="Someone Else")
    confirm = Account(client)
    confirm.open(url)
    refused = confirm.post(url)
    assert refused.status_code == 409
    assert "This e-mail address is already used for an account" in words(refused)
    assert "Someone Else" not in words(refused)
    assert fresh(user).email == "anna@example.org"


def test_an_invalid_or_unchanged_address_gets_a_clear_error(account, user):
    bad = account.change("/account/profile/email", email="not an address")
    assert "Enter a valid e-mail address" in words(bad)
    same = account.post("/account/profile/email", email="ANNA@example.org")
    assert "This is already your e-mail address." in words(same)
    assert mails_to("not an address") == []


# --- mobile number ---------------------------------------------------------------------------------------


@pytest.fixture
def with_sms(account, user):
    """Anna has SMS codes to +31 6 12345678 and her session stands at the second-factor level."""
    factors.add_confirmed(user, "sms", phone_number="+31612345678")
    for session in db.session.scalars(select(SsoSession).where(SsoSession.user_id == user.id)):
        sessions.raise_level(session, "sms")
    db.session.commit()
    return account


def test_a_new_number_is_confirmed_by_sms_and_the_old_one_works_until_then(with_sms, user):
    account = with_sms
    form = account.change("/account/profile/phone")
    assert 'autocomplete="tel"' in form.get_data(as_text=True)
    sent = account.post("/account/profile/phone", action="send", phone="06 87654321")
    assert "+31 6 ••• ••• 21" in words(sent)
    assert latest_message("sms")[0] == "+31687654321"
    factor = factors.get(fresh(user), "sms")
    assert factor is not None and factors.phone(factor) == "+31612345678"  # the old number still signs in

    wrong = account.post("/account/profile/phone", action="confirm", code="000000")
    assert wrong.status_code == 200
    assert factors.phone(factors.get(fresh(user), "sms")) == "+31612345678"

    done = account.post("/account/profile/phone", action="confirm", code=sms_code())
    assert done.status_code == 302
    factor = factors.get(fresh(user), "sms")
    assert factors.phone(factor) == "+31687654321"
    assert crypto().decrypt(fresh(user).phone_encrypted) == "+31687654321"
    assert templates_sent()[-1] == "phone_changed"
    assert [e.subject_user_id for e in audit_events(EventTag.USER_PHONE_CHANGED)] == [user.id]


def test_without_sms_codes_the_number_is_set_by_adding_them(account, user):
    response = account.change("/account/profile/phone")
    assert response.status_code == 302 and response.location.endswith("/account")
    assert db.session.scalar(select(func.count()).select_from(Factor).where(Factor.user_id == user.id)) == 0


# --- sessions --------------------------------------------------------------------------------------------


def test_sessions_are_listed_per_browser_with_their_portals(account, user, make_portal):
    portal = make_portal("Huisartsportaal")
    other_browser(user, portal)
    page = words(account.open("/account/sessions"))
    assert "Firefox on Windows" in page
    assert "Internet address: 192.0.2.7" in page
    assert "Portals used: Huisartsportaal" in page
    assert "(this browser)" in page


def test_signing_out_a_browser_ends_it_tells_its_portals_and_revokes_its_tokens(account, user, make_portal):
    portal = make_portal("Huisartsportaal", backchannel_logout_uri="http://127.0.0.1:9/logout")
    other = other_browser(user, portal)
    token = token_for(user, portal, other)
    done = account.change(f"/account/sessions/{other.id}/end")
    assert done.status_code == 302
    assert fresh(other).ended_at is not None
    assert fresh(token).revoked_at is not None
    assert len(backchannel_to(portal)) == 1
    assert "signed out on the account page" in [e.details.get("reason") for e in audit_events(EventTag.LOGOUT)]


def test_another_persons_session_cannot_be_signed_out(account, make_user, make_portal):
    bert = make_user("bert@example.org")
    portal = make_portal(backchannel_logout_uri="http://127.0.0.1:9/logout")
    theirs = other_browser(bert, portal)
    refused = account.change(f"/account/sessions/{theirs.id}/end")
    assert refused.status_code == 404
    assert fresh(theirs).ended_at is None
    assert backchannel_to(portal) == []


def test_sign_out_everywhere_else_keeps_this_browser(client, account, user, make_portal):
    portal = make_portal(backchannel_logout_uri="http://127.0.0.1:9/logout")
    one, two = other_browser(user, portal), other_browser(user)
    account.change("/account/sessions/end-others")
    assert fresh(one).ended_at is not None and fresh(two).ended_at is not None
    live = db.session.scalars(select(SsoSession).where(SsoSession.user_id == user.id,
                                                       SsoSession.ended_at.is_(None))).all()
    assert len(live) == 1
    assert client.get("/account/sessions").status_code == 200  # still signed in here


# --- connected portals -----------------------------------------------------------------------------------


def test_revoking_a_portal_removes_the_consent_and_revokes_its_tokens(account, user, make_portal):
    portal, kept = make_portal("Apotheek De Linde", first_party=False), make_portal("Huisartsportaal")
    consent_for(user, portal)
    token, other_token = token_for(user, portal), token_for(user, kept)
    page = words(account.open("/account/portals"))
    assert "Apotheek De Linde" in page and "Huisartsportaal" in page
    done = account.change(f"/account/portals/{portal.id}/revoke")
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Consent).where(Consent.user_id == user.id, Consent.client_id == portal.id)) is None
    assert fresh(token).revoked_at is not None
    assert fresh(other_token).revoked_at is None
    assert [e.client_id for e in audit_events(EventTag.CONSENT_REVOKED)] == [portal.client_id]


def test_another_persons_portal_access_is_left_alone(account, user, make_user, make_portal):
    bert = make_user("bert@example.org")
    portal = make_portal(first_party=False)
    consent = consent_for(bert, portal)
    token = token_for(bert, portal)
    refused = account.change(f"/account/portals/{portal.id}/revoke")
    assert refused.status_code == 404
    assert fresh(consent) is not None
    assert fresh(token).revoked_at is None


def test_revoking_a_portal_ends_its_part_in_live_sessions(account, user, make_portal):
    portal = make_portal(backchannel_logout_uri="http://127.0.0.1:9/logout")
    other = other_browser(user, portal)
    account.change(f"/account/portals/{portal.id}/revoke")
    db.session.expire_all()
    assert db.session.scalar(select(SessionClient).where(SessionClient.session_id == other.id)) is None
    assert len(backchannel_to(portal)) == 1
    assert fresh(other).ended_at is None  # the browser stays signed in elsewhere


# --- download my data ------------------------------------------------------------------------------------


def test_download_my_data_is_a_json_attachment_without_secrets(account, user, make_portal):
    portal = make_portal("Huisartsportaal")
    other_browser(user, portal)
    consent_for(user, portal)
    factors.add_confirmed(user, "totp")
    for session in db.session.scalars(select(SsoSession).where(SsoSession.user_id == user.id)):
        sessions.raise_level(session, "totp")
    db.session.commit()
    assert account.client.get("/account/data/download").status_code == 405  # never a GET
    asked = account.post("/account/data/download")
    assert asks_password(asked)
    response = account.change("/account/data/download")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="my-data-')
    assert response.mimetype == "application/json"
    data = json.loads(response.get_data(as_text=True))
    assert data["profile"]["email"] == "anna@example.org" and data["profile"]["phone_number"] == "+31612345678"
    assert [f["kind"] for f in data["second_factors"]] == ["totp"]
    assert any(s["portals"] == ["Huisartsportaal"] for s in data["sessions"])
    assert [p["name"] for p in data["portals"]] == ["Huisartsportaal"]
    assert any(row["what"] for row in data["activity"])
    raw = response.get_data(as_text=True)
    secret = factors.totp_secret(factors.get(fresh(user), "totp"))
    assert secret not in raw and "$2b$" not in raw and "password_hash" not in raw and "token_hash" not in raw
    assert [e.subject_user_id for e in audit_events(EventTag.USER_DATA_EXPORTED)] == [user.id]


# --- delete my account -----------------------------------------------------------------------------------


def test_deleting_is_refused_where_a_portal_does_not_allow_it(account, user, make_portal):
    allows, refuses = make_portal(profile={"self_delete": "true"}), make_portal()
    other_browser(user, allows, refuses)
    page = words(account.open("/account/data"))
    assert "Your account cannot be deleted here" in page
    refused = account.change("/account/delete", confirm="yes")
    assert refused.status_code == 403
    assert fresh(user) is not None


def test_deleting_ends_sessions_tells_portals_and_removes_personal_data(client, account, user, make_portal):
    portal = make_portal("Huisartsportaal", profile={"self_delete": "true"},
                         backchannel_logout_uri="http://127.0.0.1:9/logout")
    other = other_browser(user, portal)
    token_for(user, portal, other)
    consent_for(user, portal)
    from idp.sessions import devices

    devices.trust(user, days=7, user_agent=FIREFOX, ip="192.0.2.1")
    db.session.commit()
    user_id = user.id
    account.change("/account/profile/email", email="anna.nieuw@example.org")  # mails that hold her addresses
    assert mails_to("anna.nieuw@example.org") and mails_to("anna@example.org")
    assert "Delete your account" in words(account.open("/account/data"))
    asked = account.change("/account/delete")  # after the password: the page that says what will happen
    assert "Yes, delete my account" in words(asked)
    assert fresh(user) is not None
    done = account.post("/account/delete", confirm="yes")
    assert done.status_code == 302 and done.location.endswith("/account/deleted")
    db.session.expire_all()
    # What stays is the pseudonym an admin's erasure leaves: the sub, which can never sign in again.
    left = db.session.get(User, user_id)
    assert (left.name, left.username, left.phone_encrypted, left.date_of_birth, left.password_hash) == (
        None, None, None, None, None)
    assert left.email == f"erased-{left.sub}@erased.invalid" and left.no_login and left.disabled_at is not None
    for model in (SsoSession, Token, Consent, Factor, TrustedDevice, AccountLink):
        assert db.session.scalar(select(func.count()).select_from(model).where(model.user_id == user_id)) == 0
    assert len(backchannel_to(portal)) == 1  # the portal's session ended: it is told
    [farewell] = mails_to("anna@example.org")  # earlier mails to her are gone; only the last one waits
    assert farewell.template == "account_deleted"
    assert mails_to("anna.nieuw@example.org") == []
    [row] = audit_events(EventTag.USER_SELF_DELETED)
    assert row.subject_user_id == user_id
    # The audit trail keeps its rows under the number, with no name or address in them.
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.subject_user_id == user_id)).all()
    assert rows and not any("anna@example.org" in json.dumps(r.details or {}) for r in rows)
    assert client.get("/account").status_code == 302  # signed out


# --- what an attacker sends ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/account/profile/name", "/account/profile/email", "/account/profile/phone",
                                 "/account/sessions/end-others", "/account/data/download", "/account/delete"])
def test_every_change_needs_the_csrf_token(client, account, user, url):
    account.change("/account/profile/name", name="Anna de Vries")  # the password is fresh now
    response = client.post(url, data={"name": "X", "email": "x@example.org", "confirm": "yes"})
    assert response.status_code == 400
    assert fresh(user).name == "Anna de Vries" and fresh(user).email == "anna@example.org"
    assert audit_events(EventTag.USER_DATA_EXPORTED) == []


@pytest.mark.parametrize("url", ["/account/profile", "/account/sessions", "/account/portals", "/account/data"])
def test_without_a_session_the_pages_sign_in_first(client, user, url):
    response = client.get(url)
    assert response.status_code == 302 and "/authorize?" in response.location


def test_the_activity_page_tells_the_account_pages_changes(account, user, make_portal):
    portal = make_portal("Apotheek De Linde", first_party=False)
    consent_for(user, portal)
    account.change("/account/profile/name", name="Anna Jansen")
    account.post("/account/profile/email", email="anna.nieuw@example.org")
    account.post(f"/account/portals/{portal.id}/revoke")
    account.post("/account/data/download")
    page = words(account.client.get("/account/activity"))
    for sentence in ("Your name was changed", "A new e-mail address was asked for your account",
                     "You took back the access of Apotheek De Linde", "You downloaded your data"):
        assert sentence in page
    assert "Another security event" not in page


@pytest.mark.parametrize("settings_overrides", [{"limits": {"links_per_account": "2 per hour"}}])
def test_e_mail_change_requests_are_limited_per_person(client, account, user, make_user):
    """Each request mails the new and the current address: a person cannot make the provider mail anyone at
    will. A typing error does not count; the third mailed request in the hour is refused and mails nobody."""
    assert "valid e-mail address" in words(account.change("/account/profile/email", email="not an address"))
    assert account.post("/account/profile/email", email="een@example.org").status_code == 200
    make_user("twee@example.org", name="Twee")
    assert account.post("/account/profile/email", email="twee@example.org").status_code == 200  # taken: counts
    third = account.post("/account/profile/email", email="drie@example.org")
    assert third.status_code == 429
    assert mails_to("drie@example.org") == []
    assert [m.template for m in mails_to("anna@example.org")].count("email_change_requested") == 2
