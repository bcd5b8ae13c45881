"""Signing in for someone else (issue 15 part 4): the "for whom?" page, the principal as the subject with the
RFC 8693 `act` claim beside it, and the delegation asked again at every later use of what the sign-in bought.

Dates of birth are today's date N years back; the clock is moved relative to them (time_machine), never to a
calendar day, and no expiry job runs.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp import clock
from idp.audit import EventTag
from idp.delegation import AgeRules, create_principal, grant_parental, record_child_consent, revoke
from idp.delegation.ages import birthday
from idp.extensions import db
from idp.models import AuthorizationCode, Token
from idp.portals import registry
from idp.runtime import settings
from tests.conformance import jwt_checks
from tests.flows.page import Page
from tests.helpers import RelyingParty, audit_events, browser, csrf_token

ADMIN = "helpdesk-anna"
CHECKED = "passport and birth certificate seen at the desk"
PASSWORD = "correct horse battery"
RULES = AgeRules()


def years_ago(years: int, days: int = 0) -> date:
    today = RULES.today(clock.now())
    return birthday(today, -years) + timedelta(days=days)


@pytest.fixture
def delegating_portal(make_portal):
    return make_portal("Patiëntenportaal", profile={"delegation": "true"})


@pytest.fixture
def parent(make_user):
    return make_user("ouder@example.org", PASSWORD, name="Petra Ouder")


@pytest.fixture
def child(app, parent, delegating_portal):
    """Sam, 8, without a login of their own; Petra may act for Sam at the patient portal."""
    sam = create_principal("Sam Ouder", years_ago(8), ADMIN, clock.now())
    grant_parental(ADMIN, parent, sam, [delegating_portal.client_id], ["profile", "email", "offline_access"],
                   CHECKED, clock.now())
    db.session.commit()
    return sam


@pytest.fixture
def rp(client, delegating_portal):
    return RelyingParty(client, delegating_portal)


def chooser(rp: RelyingParty, response):
    """After the password: the "for whom?" page (asserted), as a Page and its URL."""
    assert response.status_code == 302 and response.location.startswith("/login/"), response.location
    page = rp.client.get(response.location)
    html = page.get_data(as_text=True)
    assert 'name="stage" value="choose_person"' in html
    return Page(html), html, response.location


def choose(rp: RelyingParty, html: str, url: str, person: str) -> dict:
    response = rp.client.post(url, data={"csrf_token": csrf_token(html), "stage": "choose_person",
                                         "person": person})
    return rp.callback(response)


def sign_in_for(rp: RelyingParty, who: str, **extra) -> dict:
    """Sign in as Petra and choose `who` ("self" or a name on the page); the token response."""
    response = rp.submit_password(rp.login_url(**extra), "ouder@example.org", PASSWORD)
    page, html, url = chooser(rp, response)
    value = "self" if who == "self" else next(b.attrs["value"] for b in page.all("button") if who in b.text)
    tokens = rp.exchange(choose(rp, html, url, value)["code"])
    assert tokens.status_code == 200, tokens.get_json()
    return tokens.get_json()


def test_the_chooser_lists_the_person_and_whom_they_may_act_for(rp, parent, child):
    response = rp.submit_password(rp.login_url(), "ouder@example.org", PASSWORD)
    page, _html, _url = chooser(rp, response)
    assert [" ".join(h.text.split()) for h in page.all("h1")] == ["Voor wie logt u in?"]
    buttons = [" ".join(b.text.split()) for b in page.all("button", type="submit")]
    assert buttons == ["Mijzelf (Petra Ouder)", "Sam Ouder (8 jaar)"]


def test_signing_in_for_the_child_makes_the_child_the_subject_and_the_parent_the_actor(rp, parent, child):
    tokens = sign_in_for(rp, "Sam Ouder")
    claims = rp.decode_id_token(tokens["id_token"])
    assert claims["sub"] == child.sub
    assert claims["act"] == {"sub": parent.sub, "name": "Petra Ouder"}
    assert claims["name"] == "Sam Ouder"
    assert "email" not in claims  # Sam has no login, so no address of their own
    # The phone scope is not in the delegation: cut down, and the token response says so.
    assert tokens["scope"].split() == ["openid", "profile", "email", "offline_access"]
    assert "phone_number" not in claims

    info = rp.userinfo(tokens["access_token"]).get_json()
    assert info["sub"] == child.sub
    assert info["act"] == {"sub": parent.sub, "name": "Petra Ouder"}
    assert "email" not in info and "phone_number" not in info


def test_signing_in_as_themselves_carries_no_act(rp, parent, child):
    tokens = sign_in_for(rp, "self")
    claims = rp.decode_id_token(tokens["id_token"])
    assert claims["sub"] == parent.sub
    assert "act" not in claims
    assert claims["email"] == "ouder@example.org"
    info = rp.userinfo(tokens["access_token"]).get_json()
    assert info["sub"] == parent.sub and "act" not in info


def test_introspection_names_the_child_as_subject_and_the_parent_as_actor(rp, parent, child):
    tokens = sign_in_for(rp, "Sam Ouder")
    for token in (tokens["access_token"], tokens["refresh_token"]):
        body = rp.introspect(token).get_json()
        assert body["active"] is True
        assert body["sub"] == child.sub
        assert body["act"] == {"sub": parent.sub, "name": "Petra Ouder"}


def test_a_jwt_portal_gets_an_opaque_token_when_someone_acts_for_another(app, rp, parent, child):
    """A delegation is asked again at every use and its end must end the token at once: no JWT under it."""
    registry.update(rp.portal, access_token_format="jwt")
    db.session.commit()
    acting = sign_in_for(rp, "Sam Ouder")["access_token"]
    assert "." not in acting
    body = rp.introspect(acting).get_json()
    assert body["active"] is True and body["sub"] == child.sub

    own_browser = RelyingParty(browser(app), rp.portal)
    own = sign_in_for(own_browser, "self")["access_token"]
    assert own.count(".") == 2 and own_browser.introspect(own).get_json()["sub"] == parent.sub


def test_a_portal_without_delegation_never_shows_the_chooser(client, make_portal, parent, child):
    business = RelyingParty(client, make_portal("Zakelijk portaal"))
    callback = business.sign_in("ouder@example.org", PASSWORD)
    claims = business.decode_id_token(business.exchange(callback["code"]).get_json()["id_token"])
    assert claims["sub"] == parent.sub
    assert "act" not in claims


def test_the_choice_is_remembered_until_the_portal_asks_again(rp, parent, child):
    sign_in_for(rp, "Sam Ouder")
    # Signed in: the next request at this portal takes the same choice, silently too.
    for extra in ({}, {"prompt": "none"}):
        again = rp.callback(rp.authorize(**extra))
        claims = rp.decode_id_token(rp.exchange(again["code"]).get_json()["id_token"])
        assert claims["sub"] == child.sub and claims["act"]["sub"] == parent.sub
    # Switching person without signing out: the portal asks with prompt=select_account.
    response = rp.authorize(prompt="select_account")
    _page, html, url = chooser(rp, response)
    claims = rp.decode_id_token(rp.exchange(choose(rp, html, url, "self")["code"]).get_json()["id_token"])
    assert claims["sub"] == parent.sub and "act" not in claims


def test_prompt_none_before_anyone_was_chosen_asks_the_portal_to_let_the_person_choose(
        client, rp, make_portal, parent, child):
    other = RelyingParty(client, make_portal("Zakelijk portaal"))
    other.sign_in("ouder@example.org", PASSWORD)  # an SSO session, no choice made at the patient portal
    assert rp.callback(rp.authorize(prompt="none"))["error"] == "account_selection_required"


def test_a_child_of_twelve_to_sixteen_is_listed_only_after_their_own_consent(
        rp, make_user, parent, child, delegating_portal):
    kim = make_user("kim@example.org", PASSWORD, name="Kim Ouder", date_of_birth=years_ago(14))
    pending = grant_parental(ADMIN, parent, kim, [delegating_portal.client_id], ["profile", "email"], CHECKED,
                             clock.now())
    db.session.commit()
    page, html, url = chooser(rp, rp.submit_password(rp.login_url(), "ouder@example.org", PASSWORD))
    assert [" ".join(b.text.split()) for b in page.all("button")] == ["Mijzelf (Petra Ouder)", "Sam Ouder (8 jaar)"]
    choose(rp, html, url, "self")

    record_child_consent(pending, clock.now(), by_child=kim)
    db.session.commit()
    response = rp.authorize(prompt="select_account")
    page, html, url = chooser(rp, response)
    buttons = {" ".join(b.text.split()): b.attrs["value"] for b in page.all("button")}
    assert list(buttons) == ["Mijzelf (Petra Ouder)", "Kim Ouder (14 jaar)", "Sam Ouder (8 jaar)"]
    tokens = rp.exchange(choose(rp, html, url, buttons["Kim Ouder (14 jaar)"])["code"]).get_json()
    claims = rp.decode_id_token(tokens["id_token"])
    assert claims["sub"] == kim.sub and claims["email"] == "kim@example.org"  # Kim has a login: an address
    assert tokens["scope"].split() == ["openid", "profile", "email"]  # only what the delegation names
    assert "refresh_token" not in tokens  # offline_access was not in the grant


def test_a_refresh_after_the_delegation_was_revoked_is_an_invalid_grant(rp, parent, child):
    tokens = sign_in_for(rp, "Sam Ouder")
    assert rp.refresh(tokens["refresh_token"], scope="openid phone").get_json()["error"] == "invalid_scope"
    refreshed = rp.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200
    assert rp.decode_id_token(refreshed.get_json()["id_token"])["act"]["sub"] == parent.sub

    delegation = db.session.scalar(select(Token).where(Token.delegation_id.is_not(None))).delegation
    revoke(delegation, parent, "no longer needed", clock.now())
    db.session.commit()
    # The revocation revoked the tokens themselves (tests/flows/test_delegation_ends_portal_sessions.py); the
    # check at every use stays for what a revocation cannot reach (the 16th birthday before the job ran, below).
    assert db.session.scalars(select(Token).where(Token.delegation_id == delegation.id,
                                                  Token.revoked_at.is_(None))).all() == []
    response = rp.refresh(refreshed.get_json()["refresh_token"])
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"
    assert rp.introspect(refreshed.get_json()["access_token"]).get_json() == {"active": False}
    assert rp.userinfo(refreshed.get_json()["access_token"]).status_code == 401


def test_on_the_sixteenth_birthday_userinfo_refresh_and_introspection_refuse_without_the_expiry_job(
        rp, make_user, parent, delegating_portal, time_machine):
    born = years_ago(16, days=1)  # 15 today, 16 from tomorrow
    turns_sixteen = RULES.parental_end(born)
    time_machine.move_to(turns_sixteen - timedelta(minutes=2), tick=False)
    kim = make_user("kim@example.org", PASSWORD, name="Kim Ouder", date_of_birth=born)
    delegation = grant_parental(ADMIN, parent, kim, [delegating_portal.client_id], ["profile", "offline_access"],
                                CHECKED, clock.now())
    record_child_consent(delegation, clock.now(), by_child=kim)
    db.session.commit()
    tokens = sign_in_for(rp, "Kim Ouder")
    assert rp.userinfo(tokens["access_token"]).get_json()["sub"] == kim.sub

    time_machine.move_to(turns_sixteen, tick=False)
    response = rp.userinfo(tokens["access_token"])
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="idp", error="invalid_token", '
        'error_description="The delegation this grant acts under can no longer be used."')
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert rp.introspect(tokens["access_token"]).get_json() == {"active": False}
    assert delegation.status == "active"  # nothing marked it: the date of birth decided


def test_the_audit_names_both_people(rp, parent, child):
    sign_in_for(rp, "Sam Ouder")
    for tag in (EventTag.DELEGATION_SIGN_IN, EventTag.TOKEN_ISSUED):
        row = audit_events(tag)[-1]
        assert row.subject_user_id == child.id
        assert row.actor == f"user:{parent.sub}"
        assert row.details["delegate"] == parent.sub and row.details["principal"] == child.sub
        assert row.client_id == rp.portal.client_id
    code = db.session.scalar(select(AuthorizationCode).order_by(AuthorizationCode.id.desc()))
    assert code.user_id == parent.id and code.delegation.principal_id == child.id


def test_the_id_token_with_act_decodes_with_joserfc_and_its_claims_have_the_right_types(rp, parent, child):
    tokens = sign_in_for(rp, "Sam Ouder")
    keys = KeySet.import_key_set(rp.client.get("/jwks.json").get_json())
    token = jwt.decode(tokens["id_token"], keys)
    jwt.JWTClaimsRegistry(iss={"essential": True}, sub={"essential": True, "value": child.sub},
                          aud={"essential": True, "value": rp.portal.client_id}).validate(token.claims)
    act = token.claims["act"]
    assert isinstance(act, dict) and isinstance(act["sub"], str) and isinstance(act["name"], str)
    assert act["sub"] != token.claims["sub"]
    assert re.fullmatch(r"[\x21-\x7e]{1,255}", act["sub"])  # a sub as OIDC Core §2 allows

    # The conformance suite's strict checks (requests + joserfc, no Authlib), on the first and a refreshed one.
    def check(id_token: str, **kw) -> dict:
        return jwt_checks.check_id_token(
            id_token, issuer=settings().issuer, client_id=rp.portal.client_id, alg=rp.portal.id_token_alg,
            fetch_jwks=lambda: rp.client.get("/jwks.json").get_json(), **kw)

    first = check(tokens["id_token"], nonce=rp.nonce, access_token=tokens["access_token"])
    refreshed = rp.refresh(tokens["refresh_token"]).get_json()
    again = check(refreshed["id_token"], nonce=None, original=first)
    assert again["act"] == first["act"] == {"sub": parent.sub, "name": "Petra Ouder"}


def test_an_id_token_issued_for_the_child_is_a_hint_for_the_parent_who_signed_in(rp, parent, child):
    tokens = sign_in_for(rp, "Sam Ouder")
    again = rp.callback(rp.authorize(prompt="none", id_token_hint=tokens["id_token"]))
    claims = rp.decode_id_token(rp.exchange(again["code"]).get_json()["id_token"])
    assert claims["sub"] == child.sub and claims["act"]["sub"] == parent.sub



@pytest.mark.parametrize(("profile", "locale", "heading", "buttons"), [
    ({"form_of_address": "je"}, None, "Voor wie log je in?", ["Mijzelf (Petra Ouder)", "Noor Ouder (5 jaar)"]),
    ({}, "en", "Who are you signing in for?", ["Myself (Petra Ouder)", "Noor Ouder (age 5)"]),
])
def test_the_chooser_says_je_where_the_portal_does_and_speaks_english_when_asked(
        client, make_portal, parent, profile, locale, heading, buttons):
    portal = make_portal("Jeugdportaal", profile={"delegation": "true", **profile})
    noor = create_principal("Noor Ouder", years_ago(5), ADMIN, clock.now())
    grant_parental(ADMIN, parent, noor, [], [], CHECKED, clock.now())  # every portal that offers delegation
    db.session.commit()
    rp = RelyingParty(client, portal)
    page, _html, _url = chooser(rp, rp.submit_password(rp.login_url(ui_locales=locale), "ouder@example.org",
                                                       PASSWORD))
    assert [" ".join(h.text.split()) for h in page.all("h1")] == [heading]
    assert [" ".join(b.text.split()) for b in page.all("button")] == buttons


def test_a_third_party_portal_asks_consent_naming_the_child_and_only_what_the_delegation_allows(
        client, make_portal, parent):
    """At a portal that is not our own, the consent page after the choice says whose details go to the portal,
    and lists only the scopes the delegation names (the phone number, asked but not granted, is not shown)."""
    outside = make_portal("Apotheek Buiten", first_party=False, profile={"delegation": "true"})
    sam = create_principal("Sam Ouder", years_ago(8), ADMIN, clock.now())
    grant_parental(ADMIN, parent, sam, [outside.client_id], ["profile", "email"], CHECKED, clock.now())
    db.session.commit()
    rp = RelyingParty(client, outside)
    response = rp.submit_password(rp.login_url(), "ouder@example.org", PASSWORD)
    page, html, url = chooser(rp, response)
    value = next(b.attrs["value"] for b in page.all("button") if "Sam Ouder" in b.text)
    asked = rp.client.post(url, data={"csrf_token": csrf_token(html), "stage": "choose_person", "person": value})
    assert asked.status_code == 302 and asked.location.startswith("/login/")
    consent_html = rp.client.get(asked.location).get_data(as_text=True)
    assert 'name="stage" value="consent"' in consent_html
    consent = Page(consent_html)
    lead = " ".join(consent.one("p", **{"class": "lead"}).text.split())
    assert lead == "U logt in voor Sam Ouder. Apotheek Buiten wil de volgende gegevens van Sam Ouder gebruiken:"
    items = [" ".join(li.text.split()) for li in consent.all("li")]
    first = items.index("Wie u bent, en dat u namens Sam Ouder handelt")
    assert items[first:] == ["Wie u bent, en dat u namens Sam Ouder handelt", "Naam en taal", "E-mailadres"]
    assert "Uw mobiele telefoonnummer" not in consent_html and "Mobiel telefoonnummer" not in consent_html

    allowed = rp.client.post(asked.location, data={"csrf_token": csrf_token(consent_html), "stage": "consent",
                                                   "decision": "allow"})
    tokens = rp.exchange(rp.callback(allowed)["code"]).get_json()
    claims = rp.decode_id_token(tokens["id_token"])
    assert claims["sub"] == sam.sub and claims["act"]["sub"] == parent.sub
    assert "phone_number" not in claims and "phone" not in tokens["scope"].split()
