"""The `delegations` scope (issue 15 part 6): the `delegates` claim names who may act for the signed-in person at
this portal now, in the ID token and at userinfo; only where the portal's profile offers delegation.

Truus (86) invites her daughter; dates of birth are today's date N years back and the clock moves relative to
the data a test made (time_machine), never to a calendar day.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from idp import clock
from idp.delegation import AgeRules, grant_parental, grant_written_consent, invitations, record_child_consent, revoke
from idp.delegation.ages import birthday
from idp.extensions import db
from tests.flows.page import text
from tests.helpers import RelyingParty, csrf_token

PASSWORD = "correct horse battery"
ADMIN = "evv-anja"
RULES = AgeRules()
SCOPE = "openid profile delegations"


def years_ago(years: int, days: int = 0) -> date:
    return birthday(RULES.today(clock.now()), -years) + timedelta(days=days)


@pytest.fixture
def care_portal(make_portal):
    return make_portal("Mijn Avondrood", profile={"delegation": "true"})


@pytest.fixture
def rp(client, care_portal):
    return RelyingParty(client, care_portal)


@pytest.fixture
def truus(make_user):
    return make_user("truus@example.org", PASSWORD, name="Truus Jansen", date_of_birth=years_ago(86))


@pytest.fixture
def els(make_user):
    return make_user("els@example.org", PASSWORD, name="Els de Boer")


def invite_and_accept(principal, delegate, portal, relation=invitations.FAMILY, name="Els"):
    invited = invitations.invite(principal, delegate.email, name, [portal.client_id] if portal else [], [],
                                 relation, clock.now())
    invitations.accept(invited, delegate, clock.now())
    db.session.commit()
    return invited


def claims_of(rp: RelyingParty, email: str, scope: str = SCOPE) -> tuple[dict, dict]:
    """Sign in as this person: the ID token's claims and userinfo's."""
    rp.client.delete_cookie("idp_sso")
    tokens = rp.tokens(email, PASSWORD, scope=scope)
    return rp.decode_id_token(tokens["id_token"]), rp.userinfo(tokens["access_token"]).get_json()


def sign_in_as_els(rp: RelyingParty, person: str) -> dict:
    """Els signs in and chooses on the "for whom?" page: "self", or the first person she may act for."""
    response = rp.submit_password(rp.login_url(scope=SCOPE), "els@example.org", PASSWORD)
    page = rp.client.get(response.location).get_data(as_text=True)
    values = re.findall(r'name="person" value="([^"]+)"', page)
    chosen = "self" if person == "self" else next(v for v in values if v != "self")
    back = rp.client.post(response.location, data={"csrf_token": csrf_token(page), "stage": "choose_person",
                                                   "person": chosen})
    tokens = rp.exchange(rp.callback(back)["code"])
    assert tokens.status_code == 200, tokens.get_json()
    return tokens.get_json()


def test_the_daughter_is_listed_with_her_sub_name_relation_and_since_and_an_open_invitation_as_pending(
        rp, care_portal, truus, els, frozen):
    invite_and_accept(truus, els, care_portal)
    open_one = invitations.invite(truus, "buurman@example.org", "Piet (buurman)", [], [], invitations.CONTACT_PERSON,
                       clock.now())
    db.session.commit()

    id_token, info = claims_of(rp, "truus@example.org")
    expected = [
        {"sub": els.sub, "name": "Els de Boer", "relation": "family", "since": clock.timestamp(frozen),
         "status": "active"},
        {"name": "Piet (buurman)", "relation": "contact_person", "since": clock.timestamp(frozen),
         "until": clock.timestamp(invitations.expires_at(open_one)), "status": "pending"},
    ]
    assert id_token["sub"] == truus.sub and id_token["delegates"] == expected
    assert info["sub"] == truus.sub and info["delegates"] == expected
    assert "sub" not in id_token["delegates"][1]  # an invited address does not tell whether it had an account


def test_nobody_yet_is_an_empty_list(rp, truus):
    id_token, info = claims_of(rp, "truus@example.org")
    assert id_token["delegates"] == [] and info["delegates"] == []


def test_without_the_scope_there_is_no_claim(rp, care_portal, truus, els):
    invite_and_accept(truus, els, care_portal)
    id_token, info = claims_of(rp, "truus@example.org", scope="openid profile")
    assert "delegates" not in id_token and "delegates" not in info


def test_a_portal_without_delegation_gets_nothing_even_if_it_asks(client, make_portal, care_portal, truus, els):
    invite_and_accept(truus, els, None)  # every portal that offers delegation
    business = make_portal("Zakelijk portaal")
    id_token, info = claims_of(RelyingParty(client, business), "truus@example.org")
    assert "delegates" not in id_token and "delegates" not in info
    assert id_token["sub"] == truus.sub and id_token["name"] == "Truus Jansen"


def test_a_profile_that_withholds_the_claim_gets_nothing(client, make_portal, truus, els):
    portal = make_portal("Zorgportaal", profile={"delegation": "true", "withheld_claims": "delegates"})
    invite_and_accept(truus, els, portal)
    id_token, info = claims_of(RelyingParty(client, portal), "truus@example.org")
    assert "delegates" not in id_token and "delegates" not in info


def test_a_delegation_for_another_portal_is_not_listed_here(rp, make_portal, truus, els):
    other = make_portal("Ander zorgportaal", profile={"delegation": "true"})
    invite_and_accept(truus, els, other)
    id_token, _info = claims_of(rp, "truus@example.org")
    assert id_token["delegates"] == []


def test_a_revoked_delegation_is_not_listed(rp, care_portal, truus, els):
    accepted = invite_and_accept(truus, els, care_portal)
    revoke(accepted, truus, None, clock.now())
    db.session.commit()
    id_token, info = claims_of(rp, "truus@example.org")
    assert id_token["delegates"] == [] and info["delegates"] == []


def test_a_delegation_past_its_end_is_not_listed_without_the_expiry_job(rp, care_portal, truus, els, frozen,
                                                                          time_machine):
    ends = frozen + timedelta(days=30)
    grant_written_consent(ADMIN, els, truus, [care_portal.client_id], [], "signed form in the file", clock.now(),
                          valid_until=ends)
    db.session.commit()
    id_token, _info = claims_of(rp, "truus@example.org")
    assert [(d["sub"], d["until"], d["status"]) for d in id_token["delegates"]] == [
        (els.sub, clock.timestamp(ends), "active")]
    assert "relation" not in id_token["delegates"][0]  # none recorded: an admin granted it

    time_machine.move_to(ends, tick=False)
    id_token, info = claims_of(rp, "truus@example.org")
    assert id_token["delegates"] == [] and info["delegates"] == []


def test_an_invitation_not_accepted_in_time_is_no_longer_listed(rp, truus, frozen, time_machine):
    invitations.invite(truus, "buurman@example.org", "Piet", [], [], invitations.CONTACT_PERSON, clock.now())
    db.session.commit()
    time_machine.shift(timedelta(days=14, seconds=1))  # delegation.invitation_days
    id_token, _info = claims_of(rp, "truus@example.org")
    assert id_token["delegates"] == []


def test_on_the_sixteenth_birthday_the_parent_is_no_longer_listed(rp, care_portal, make_user, time_machine):
    born = years_ago(16, days=1)  # 15 today, 16 from tomorrow
    turns_sixteen = RULES.parental_end(born)
    time_machine.move_to(turns_sixteen - timedelta(minutes=2), tick=False)
    parent = make_user("ouder@example.org", PASSWORD, name="Petra Ouder")
    kim = make_user("kim@example.org", PASSWORD, name="Kim Ouder", date_of_birth=born)
    delegation = grant_parental(ADMIN, parent, kim, [care_portal.client_id], [], "passport seen", clock.now())
    record_child_consent(delegation, clock.now(), by_child=kim)
    db.session.commit()
    id_token, _info = claims_of(rp, "kim@example.org")
    assert [(d["sub"], d["until"]) for d in id_token["delegates"]] == [(parent.sub, clock.timestamp(turns_sixteen))]

    time_machine.move_to(turns_sixteen, tick=False)
    id_token, info = claims_of(rp, "kim@example.org")
    assert id_token["delegates"] == [] and info["delegates"] == []
    assert delegation.status == "active"  # nothing marked it: the date of birth decided


def test_the_daughter_acting_for_her_mother_is_not_told_who_else_may(rp, care_portal, truus, els, make_user):
    invite_and_accept(truus, els, care_portal)
    invite_and_accept(truus, make_user("zoon@example.org", PASSWORD, name="Kees Jansen"), care_portal, name="Kees")
    tokens = sign_in_as_els(rp, "Truus")
    id_token = rp.decode_id_token(tokens["id_token"])
    assert id_token["sub"] == truus.sub and id_token["act"]["sub"] == els.sub
    assert "delegates" not in id_token
    assert "delegates" not in rp.userinfo(tokens["access_token"]).get_json()


def test_the_reverse_is_never_a_claim_the_daughter_signed_in_as_herself_gets_no_list_of_whom_she_acts_for(
        rp, care_portal, truus, els):
    invite_and_accept(truus, els, care_portal)
    tokens = sign_in_as_els(rp, "self")
    id_token = rp.decode_id_token(tokens["id_token"])
    info = rp.userinfo(tokens["access_token"]).get_json()
    assert id_token["sub"] == els.sub and "act" not in id_token
    assert id_token["delegates"] == [] and info["delegates"] == []  # her own contact persons: none
    assert truus.sub not in str(id_token) and truus.sub not in str(info)


@pytest.mark.parametrize(("profile", "listed"), [({"delegation": "true"}, True), ({}, False)])
def test_the_consent_page_names_the_scope_only_where_the_portal_offers_delegation(client, make_portal, truus,
                                                                                   profile, listed):
    app = RelyingParty(client, make_portal("Zorg-app", first_party=False, profile=profile))
    response = app.submit_password(app.login_url(scope=SCOPE), "truus@example.org", PASSWORD)
    html = client.get(response.location).get_data(as_text=True)
    assert 'name="stage" value="consent"' in html
    page = text(html)
    assert "Uw naam en taal" in page
    assert ("Wie namens u mag handelen bij dit portaal (uw contactpersonen)" in page) is listed


def test_discovery_names_the_scope_and_the_claim(client):
    doc = client.get("/.well-known/openid-configuration").get_json()
    assert "delegations" in doc["scopes_supported"] and "delegates" in doc["claims_supported"]
    assert "act" in doc["claims_supported"]  # the actor claim of a token issued under a delegation (RFC 8693)
