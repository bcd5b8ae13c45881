"""A child of 12 to 16 gives their own consent to a parent's access on the account pages (issue 15, seed 003:
"Het kind moet zelf toestemming geven voor de toegang voor de ouder"), as the demo's Lotte (14) does.

Dates of birth are today's date N years back (idp.demo.born); nothing depends on a calendar day.
"""

from __future__ import annotations

import pytest

from idp import clock
from idp.audit import EventTag
from idp.delegation import AgeRules, create_principal, grant_parental, usable_for
from idp.demo import born
from idp.extensions import db
from idp.models import Delegation
from idp.models import delegation as d
from tests.flows.account_helpers import Account, sign_in
from tests.flows.page import text
from tests.helpers import audit_events, english_browser

PASSWORD = "correct horse battery"
CHECKED = "passport and birth certificate seen at the desk"


def english(app):
    return english_browser(app)


def years_old(age: int):
    return born(age, AgeRules.from_settings().today(clock.now()))


@pytest.fixture
def gp_portal(make_portal):
    return make_portal("Huisartsenpraktijk De Linde", profile={"delegation": "true"})


@pytest.fixture
def lotte(make_user):
    return make_user("anna+lotte@example.org", PASSWORD, name="Lotte de Vries", date_of_birth=years_old(14))


@pytest.fixture
def anna(make_user):
    return make_user("anna@example.org", PASSWORD, name="Anna de Vries", date_of_birth=years_old(41))


@pytest.fixture
def waiting(app, anna, lotte, gp_portal) -> int:
    """Anna's parental access to Lotte (14), granted at the desk: pending until Lotte consents."""
    granted = grant_parental("assistant", anna, lotte, [gp_portal.client_id], [], CHECKED, clock.now())
    db.session.commit()
    assert granted.status == d.PENDING
    return granted.id


def fresh(delegation_id: int) -> Delegation:
    row = db.session.get(Delegation, delegation_id)
    db.session.refresh(row)
    return row


def test_lotte_sees_her_mothers_request_and_gives_her_consent(app, anna, lotte, gp_portal, waiting):
    account = Account(english(app))
    sign_in(account.client, "anna+lotte@example.org")
    page = text(account.open("/account/delegations").get_data(as_text=True))
    assert "Status: Waiting for your consent" in page
    assert "Anna de Vries would like to see your records and act for you. From the age of 12" in page
    assert usable_for(anna, lotte, gp_portal.client_id, ["openid"], clock.now()) is None

    response = account.change(f"/account/delegations/{waiting}/consent")

    assert response.status_code == 303
    given = fresh(waiting)
    assert (given.status, given.child_consent_how, given.child_consent_recorded_by) == (d.ACTIVE, d.SIGNED_IN, None)
    assert given.child_consent_at is not None
    assert usable_for(anna, lotte, gp_portal.client_id, ["openid"], clock.now()) == given
    after = text(account.open("/account/delegations").get_data(as_text=True))
    assert "Anna de Vries can now act for you" in after and "Give Anna de Vries access" not in after
    [event] = audit_events(EventTag.DELEGATION_CONSENTED)
    assert event.subject_user_id == lotte.id
    assert (event.details["delegate"], event.details["principal"], event.details["how"]) == (
        anna.sub, lotte.sub, "signed_in")


def test_the_parent_cannot_consent_for_her_child(app, anna, lotte, waiting):
    account = Account(english(app))
    sign_in(account.client, "anna@example.org")
    account.open("/account/delegations")
    response = account.change(f"/account/delegations/{waiting}/consent")
    assert response.status_code == 303
    assert "Nothing has been changed" in text(account.open("/account/delegations").get_data(as_text=True))
    assert (fresh(waiting).status, fresh(waiting).child_consent_at) == (d.PENDING, None)
    assert audit_events(EventTag.DELEGATION_CONSENTED) == []


def test_consent_needs_the_password_and_the_form_token(app, lotte, waiting):
    account = Account(english(app))
    sign_in(account.client, "anna+lotte@example.org")
    account.open("/account/delegations")
    asked = account.post(f"/account/delegations/{waiting}/consent")  # no password confirmed yet: it is asked
    assert asked.status_code == 200 and 'type="password"' in asked.get_data(as_text=True)
    forged = account.client.post(f"/account/delegations/{waiting}/consent", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert (fresh(waiting).status, fresh(waiting).child_consent_at) == (d.PENDING, None)


def test_no_consent_button_for_a_young_child_or_an_active_access(app, anna, gp_portal, make_user):
    """Under 12 the parent's access needs no consent; a person without a login cannot sign in to give one."""
    sem = create_principal("Sem de Vries", years_old(8), "assistant", clock.now())
    active = grant_parental("assistant", anna, sem, [gp_portal.client_id], [], CHECKED, clock.now())
    db.session.commit()
    assert active.status == d.ACTIVE

    account = Account(english(app))
    sign_in(account.client, "anna@example.org")
    account.open("/account/delegations")
    response = account.change(f"/account/delegations/{active.id}/consent")
    assert response.status_code == 303
    assert "Nothing has been changed" in text(account.open("/account/delegations").get_data(as_text=True))
    assert fresh(active.id).child_consent_at is None
