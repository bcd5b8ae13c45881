"""Single sign-on across portals, and consent for third-party portals (remembered per scope)."""

import re

import pytest

from idp.audit import EventTag
from idp.models import Consent, SessionClient, SsoSession
from tests.helpers import ISSUER, RelyingParty, audit_events, csrf_token

PASSWORD = "correct horse battery"


@pytest.fixture
def portal_a(client, make_portal):
    return RelyingParty(client, make_portal("Huisartsportaal"))


@pytest.fixture
def portal_b(client, make_portal):
    return RelyingParty(client, make_portal("Ziekenhuisportaal"))


@pytest.fixture
def pharmacy(client, make_portal):
    """A third-party portal: it must ask before it gets anything."""
    return RelyingParty(client, make_portal("Apotheek Online", first_party=False))


def _id_token(rp, code: str) -> dict:
    return rp.decode_id_token(rp.exchange(code).get_json()["id_token"])


def _consent_page(rp, response) -> str:
    assert response.status_code == 302 and response.location.startswith("/login/"), response.location
    page = rp.client.get(response.location)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="stage" value="consent"' in html
    return html


def _decide(rp, login_url: str, decision: str):
    html = rp.client.get(login_url).get_data(as_text=True)
    return rp.client.post(login_url, data={"csrf_token": csrf_token(html), "stage": "consent", "decision": decision})


def test_second_portal_gets_a_code_without_a_password(portal_a, portal_b, user):
    first = _id_token(portal_a, portal_a.sign_in(user.email, PASSWORD)["code"])
    response = portal_b.authorize()
    callback = portal_b.callback(response)  # straight back: no sign-in page
    assert callback["iss"] == ISSUER
    second = _id_token(portal_b, callback["code"])
    assert second["sub"] == first["sub"] == user.sub
    assert second["sid"] == first["sid"]
    assert second["auth_time"] == first["auth_time"]
    assert second["aud"] == portal_b.portal.client_id


def test_both_portals_are_remembered_in_the_session(portal_a, portal_b, user):
    portal_a.sign_in(user.email, PASSWORD)
    portal_b.callback(portal_b.authorize())
    session = SsoSession.query.one()
    taking_part = {row.client.client_id for row in SessionClient.query.filter_by(session_id=session.id)}
    assert taking_part == {portal_a.portal.client_id, portal_b.portal.client_id}


def test_sso_cookie_is_httponly_and_lax(portal_a, user):
    response = portal_a.submit_password(portal_a.login_url(), user.email, PASSWORD)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("idp_sso="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/" in cookie


def test_an_unknown_sso_cookie_means_signing_in(portal_a, client, user):
    client.set_cookie("idp_sso", "forged-value")
    assert portal_a.authorize().location.startswith("/login/")


def test_first_party_portal_never_asks_for_consent(portal_a, user):
    response = portal_a.submit_password(portal_a.login_url(), user.email, PASSWORD)
    assert portal_a.callback(response)["code"]
    assert Consent.query.count() == 0


def test_third_party_portal_asks_for_consent_after_the_password(pharmacy, user):
    response = pharmacy.submit_password(pharmacy.login_url(scope="openid email"), user.email, PASSWORD)
    html = _consent_page(pharmacy, response)
    assert "Apotheek Online" in html


def test_consent_is_asked_once_and_audited(pharmacy, user):
    pharmacy.sign_in(user.email, PASSWORD, scope="openid email")
    [granted] = audit_events(EventTag.CONSENT_GRANTED)
    assert granted.subject_user_id == user.id
    assert granted.client_id == pharmacy.portal.client_id
    assert set(granted.details["scopes"]) == {"openid", "email"}

    callback = pharmacy.callback(pharmacy.authorize(scope="openid email"))
    assert callback["code"]
    assert len(audit_events(EventTag.CONSENT_GRANTED)) == 1


def test_consent_for_fewer_scopes_is_not_asked_again(pharmacy, user):
    pharmacy.sign_in(user.email, PASSWORD, scope="openid email phone")
    assert pharmacy.callback(pharmacy.authorize(scope="openid phone"))["code"]


def test_a_new_scope_asks_again_and_adds_to_the_consent(pharmacy, user):
    pharmacy.sign_in(user.email, PASSWORD, scope="openid email")
    response = pharmacy.authorize(scope="openid email phone")
    html = _consent_page(pharmacy, response)
    assert re.search(r"<li>[^<]*</li>", html)
    callback = pharmacy.callback(_decide(pharmacy, response.location, "allow"))
    assert callback["code"]
    assert set(Consent.query.one().scopes) == {"openid", "email", "phone"}


def test_consent_is_per_person(client, app, pharmacy, make_user, user):
    pharmacy.sign_in(user.email, PASSWORD, scope="openid email")
    make_user("bram@example.org")
    other_browser = RelyingParty(app.test_client(), pharmacy.portal)
    response = other_browser.submit_password(other_browser.login_url(scope="openid email"), "bram@example.org",
                                             PASSWORD)
    _consent_page(other_browser, response)


def test_consent_is_per_portal(client, make_portal, pharmacy, user):
    pharmacy.sign_in(user.email, PASSWORD, scope="openid email")
    other = RelyingParty(client, make_portal("Fysio Online", first_party=False))
    _consent_page(other, other.authorize(scope="openid email"))


def test_denying_sends_access_denied_back(pharmacy, user):
    response = pharmacy.submit_password(pharmacy.login_url(scope="openid email"), user.email, PASSWORD)
    callback = pharmacy.callback(_decide(pharmacy, response.location, "deny"))
    assert callback["error"] == "access_denied"
    assert callback["state"] == pharmacy.state
    assert callback["iss"] == ISSUER
    assert "code" not in callback
    assert Consent.query.count() == 0
    [denied] = audit_events(EventTag.CONSENT_DENIED)
    assert denied.outcome == "failure"
    assert denied.subject_user_id == user.id


def test_after_denying_the_sign_in_itself_still_stands(pharmacy, portal_a, user):
    response = pharmacy.submit_password(pharmacy.login_url(scope="openid email"), user.email, PASSWORD)
    _decide(pharmacy, response.location, "deny")
    # The person did sign in; only the pharmacy was refused. Another portal needs no password.
    assert portal_a.callback(portal_a.authorize())["code"]


def test_consent_page_without_a_choice_is_shown_again(pharmacy, user):
    response = pharmacy.submit_password(pharmacy.login_url(scope="openid email"), user.email, PASSWORD)
    retry = _decide(pharmacy, response.location, "")
    assert retry.status_code == 200
    assert 'name="stage" value="consent"' in retry.get_data(as_text=True)
