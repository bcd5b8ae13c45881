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
from tests.flows.page import Page
from tests.helpers import RelyingParty, audit_events, csrf_token, query

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
