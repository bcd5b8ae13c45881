"""Delegations and the Dutch age rules (issue 15 parts 1 and 2): every boundary by date, relative to today.

A child's date of birth is always today's date N years back (± a day); the rules take `now`, so a test asks
them at noon of a day where birthdays are counted, and moves the clock (time_machine) where the service reads it.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from idp import clock
from idp.accounts import activation, reset
from idp.accounts.passwords import change_password, check_password, give_temporary_password
from idp.accounts.users import normalise_email
from idp.audit import EventTag
from idp.delegation import (
    AgeRules,
    age_on,
    birthday,
    create_principal,
    ends_at,
    grant_parental,
    grant_written_consent,
    principals_of,
    record_child_consent,
    refusal,
    revoke,
    usable_for,
)
from idp.delegation import grants as g
from idp.delegation.ages import ONLY_OWN_CONSENT, PARENT_ALONE, WITH_CHILD_CONSENT
from idp.errors import InvalidInput
from idp.extensions import db
from idp.models import AccountLink, Delegation
from idp.models import delegation as d
from idp.settings import SettingsError, load
from tests.helpers import audit_events

ADMIN = "helpdesk-anna"
CHECKED = "passport and birth certificate seen at the desk"
RULES = AgeRules()


def today() -> date:
    return RULES.today(clock.now())


def noon(day: date):
    """A moment well inside `day` where birthdays are counted."""
    return RULES.start_of(day) + timedelta(hours=12)


def turning(years: int, on: date) -> date:
    """The date of birth of someone who turns `years` on `on` (years a multiple of 4, or `on` not 29 February)."""
    return on.replace(year=on.year - years)


@pytest.fixture
def delegating_portal(make_portal):
    return make_portal("Patiëntenportaal", profile={"delegation": "true"})


@pytest.fixture
def parent(make_user):
    return make_user("ouder@example.org", name="Petra Ouder")


def child_with_login(make_user, born: date, name: str = "Kim Kind"):
    return make_user(f"{name.split()[0].lower()}@example.org", name=name, date_of_birth=born)


def child_without_login(born: date, name: str = "Sam Kind"):
    child = create_principal(name, born, ADMIN, clock.now())
    db.session.commit()
    return child


# --- the pure rules ------------------------------------------------------------------------------------------

def test_birthdays_and_ages_count_whole_years():
    born = turning(12, today())
    assert birthday(born, 12) == today()
    assert age_on(born, today()) == 12
    assert age_on(born, today() - timedelta(days=1)) == 11
    assert RULES.stage(born, noon(today() - timedelta(days=1))) == PARENT_ALONE
    assert RULES.stage(born, clock.now()) == WITH_CHILD_CONSENT
    older = turning(16, today())
    assert RULES.stage(older, noon(today() - timedelta(days=1))) == WITH_CHILD_CONSENT
    assert RULES.stage(older, clock.now()) == ONLY_OWN_CONSENT


def test_a_birthday_begins_at_midnight_where_it_is_counted():
    born = turning(16, today())
    start = RULES.start_of(today())
    assert RULES.stage(born, start - timedelta(seconds=1)) == WITH_CHILD_CONSENT
    assert RULES.stage(born, start) == ONLY_OWN_CONSENT
    assert RULES.parental_end(born) == start


def test_29_february_birthdays_fall_on_1_march_in_other_years():
    leap = next(y for y in range(today().year - 17, 1900, -1) if date(y, 3, 1) - date(y, 2, 28) == timedelta(2))
    born = date(leap, 2, 29)
    assert birthday(born, 1) == date(leap + 1, 3, 1)
    assert birthday(born, 4) == date(leap + 4, 2, 29)
    assert age_on(born, date(leap + 1, 2, 28)) == 0
    assert age_on(born, date(leap + 1, 3, 1)) == 1
    # With the adult age at 17 (a year without 29 February): still a child on 28 February, not on 1 March.
    rules = AgeRules(adult_from=17)
    assert rules.stage(born, noon(date(leap + 17, 2, 28))) == WITH_CHILD_CONSENT
    assert rules.stage(born, noon(date(leap + 17, 3, 1))) == ONLY_OWN_CONSENT
    assert rules.parental_end(born) == rules.start_of(date(leap + 17, 3, 1))


@pytest.mark.parametrize(("env", "message"), [
    ({"IDP_DELEGATION_ADULT_FROM": "10"}, "consent_from <= parental_until <= adult_from"),
    ({"IDP_DELEGATION_CONSENT_FROM": "13"}, "consent_from <= parental_until <= adult_from"),
    ({"IDP_DELEGATION_TIME_ZONE": "Europe/Nowhere"}, "not a known time zone"),
    ({"IDP_DELEGATION_NOTICE_DAYS": "-1"}, "notice_days: must be 0 or more"),
    ({"IDP_DELEGATION_INVITATION_DAYS": "0"}, "invitation_days: must be 1 to 365"),
])
def test_impossible_age_rules_are_refused(env, message):
    with pytest.raises(SettingsError, match=message):
        load(environ={"IDP_SERVER_DEV_MODE": "true", **env})


# --- under 12: a parent linked by an admin ------------------------------------------------------------------

def test_under_12_the_parent_acts_alone_until_the_12th_birthday(app, parent, delegating_portal):
    child = child_without_login(turning(12, today() + timedelta(days=1)))
    delegation = grant_parental(ADMIN, parent, child, [delegating_portal.client_id], [], CHECKED, clock.now())
    db.session.commit()
    assert (delegation.status, delegation.basis, delegation.granted_how) == (d.ACTIVE, d.PARENTAL, d.PARENTAL_RULE)
    assert (delegation.granted_by_admin, delegation.evidence) == (ADMIN, CHECKED)

    day_before = clock.now()
    assert usable_for(parent, child, delegating_portal.client_id, ["openid", "profile"], day_before) == delegation
    assert [x.principal for x in principals_of(parent, delegating_portal.client_id, day_before)] == [child]

    birthday_12 = noon(today() + timedelta(days=1))
    assert usable_for(parent, child, delegating_portal.client_id, ["openid"], birthday_12) is None
    assert refusal(delegation, birthday_12) == g.CONSENT_NEEDED
    assert principals_of(parent, delegating_portal.client_id, birthday_12) == []


def test_the_12th_birthday_holds_by_the_clock_without_any_job(app, parent, delegating_portal, time_machine,
                                                                frozen):
    child = child_without_login(turning(12, today() + timedelta(days=1)))
    grant_parental(ADMIN, parent, child, [], [], CHECKED, clock.now())
    db.session.commit()
    assert usable_for(parent, child, delegating_portal.client_id, ["openid"], clock.now()) is not None
    time_machine.move_to(RULES.start_of(today() + timedelta(days=1)), tick=False)
    assert usable_for(parent, child, delegating_portal.client_id, ["openid"], clock.now()) is None


# --- 12 to 16: the child's own consent too ------------------------------------------------------------------

def test_from_12_access_waits_for_the_childs_consent_given_signed_in(app, make_user, parent, delegating_portal):
    child = child_with_login(make_user, turning(12, today()))
    delegation = grant_parental(ADMIN, parent, child, [delegating_portal.client_id], [], CHECKED, clock.now())
    db.session.commit()
    assert delegation.status == d.PENDING
    now = clock.now()
    assert usable_for(parent, child, delegating_portal.client_id, ["openid"], now) is None
    assert refusal(delegation, now) == g.CONSENT_NEEDED

    with pytest.raises(InvalidInput, match="only the child can give their own consent"):
        record_child_consent(delegation, now, by_child=parent)
    record_child_consent(delegation, now, by_child=child)
    db.session.commit()
    assert (delegation.status, delegation.child_consent_how, delegation.child_consent_recorded_by) == (
        d.ACTIVE, d.SIGNED_IN, None)
    assert delegation.child_consent_at == now
    assert usable_for(parent, child, delegating_portal.client_id, ["openid"], now) == delegation
    [event] = audit_events(EventTag.DELEGATION_CONSENTED)
    assert event.subject_user_id == child.id
    assert (event.details["delegate"], event.details["principal"], event.details["how"]) == (
        parent.sub, child.sub, "signed_in")

    with pytest.raises(InvalidInput, match="already has the child's consent"):
        record_child_consent(delegation, now, admin=ADMIN, form="form 12")


def test_an_admin_records_consent_from_a_signed_form(app, parent, delegating_portal):
    child = child_without_login(turning(14, today()))
    delegation = grant_parental(ADMIN, parent, child, [], [], CHECKED, clock.now())
    with pytest.raises(InvalidInput, match="which signed form is required"):
        record_child_consent(delegation, clock.now(), admin=ADMIN)
    record_child_consent(delegation, clock.now(), admin="helpdesk-bob", form="consent form 2026-118, signed")
    db.session.commit()
    assert (delegation.status, delegation.child_consent_how, delegation.child_consent_recorded_by) == (
        d.ACTIVE, d.SIGNED_FORM, "helpdesk-bob")
    [event] = audit_events(EventTag.DELEGATION_CONSENTED)
    assert (event.details["admin"], event.details["form"]) == ("helpdesk-bob", "consent form 2026-118, signed")


def test_no_consent_before_12(app, make_user, parent):
    child = child_with_login(make_user, turning(12, today() + timedelta(days=1)))
    delegation = grant_parental(ADMIN, parent, child, [], [], CHECKED, clock.now())
    with pytest.raises(InvalidInput, match="is 11: a child's consent is given from 12 until 16"):
        record_child_consent(delegation, clock.now(), by_child=child)
    assert delegation.child_consent_at is None


# --- 16: the end of the younger rules ----------------------------------------------------------------------

def test_parental_access_ends_on_the_16th_birthday_whatever_the_status_says(app, parent, delegating_portal):
    child = child_without_login(turning(16, today() + timedelta(days=1)))
    delegation = grant_parental(ADMIN, parent, child, [], ["profile"], CHECKED, clock.now())
    record_child_consent(delegation, clock.now(), admin=ADMIN, form="form 7")
    db.session.commit()
    assert usable_for(parent, child, delegating_portal.client_id, ["profile"], clock.now()) == delegation
    assert ends_at(delegation) == RULES.start_of(today() + timedelta(days=1))

    sixteen = noon(today() + timedelta(days=1))
    assert delegation.status == d.ACTIVE  # no job ran
    assert usable_for(parent, child, delegating_portal.client_id, ["profile"], sixteen) is None
    assert refusal(delegation, sixteen) == g.AT_ADULT_AGE
    assert principals_of(parent, delegating_portal.client_id, sixteen) == []


def test_the_16th_birthday_holds_by_the_clock_without_any_job(app, parent, delegating_portal, time_machine,
                                                                frozen):
    child = child_without_login(turning(16, today() + timedelta(days=1)))
    delegation = grant_parental(ADMIN, parent, child, [], [], CHECKED, clock.now())
    record_child_consent(delegation, clock.now(), admin=ADMIN, form="form 8")
    db.session.commit()
    time_machine.move_to(RULES.start_of(today() + timedelta(days=1)) - timedelta(seconds=1), tick=False)
    assert usable_for(parent, child, delegating_portal.client_id, ["openid"], clock.now()) == delegation
    time_machine.shift(timedelta(seconds=1))
    assert usable_for(parent, child, delegating_portal.client_id, ["openid"], clock.now()) is None
    assert db.session.get(Delegation, delegation.id).status == d.ACTIVE


def test_from_16_no_parental_grant_only_written_consent(app, make_user, parent, delegating_portal):
    child = child_with_login(make_user, turning(16, today()))
    with pytest.raises(InvalidInput, match="is 16: from 16 only their own written consent"):
        grant_parental(ADMIN, parent, child, [], [], CHECKED, clock.now())
    delegation = grant_written_consent(ADMIN, parent, child, [delegating_portal.client_id], [],
                                       "signed consent form, seen at the desk", clock.now())
    db.session.commit()
    assert (delegation.basis, delegation.granted_how, delegation.status) == (
        d.WRITTEN_CONSENT, d.ADMIN_CONSENT, d.ACTIVE)
    assert ends_at(delegation) is None
    assert usable_for(parent, child, delegating_portal.client_id, ["openid"], noon(today() + timedelta(400))) \
        == delegation


def test_written_consent_is_for_16_and_older(app, make_user, parent):
    younger = child_with_login(make_user, turning(16, today() + timedelta(days=1)))
    with pytest.raises(InvalidInput, match="is 15: written consent is for 16 and older"):
        grant_written_consent(ADMIN, parent, younger, [], [], "a form", clock.now())


def test_the_age_rules_need_a_date_of_birth(app, make_user, parent):
    undated = make_user("zonder@example.org", name="Zonder Datum")
    with pytest.raises(InvalidInput, match="has no date of birth: the age rules need one"):
        grant_parental(ADMIN, parent, undated, [], [], CHECKED, clock.now())


# --- where and with what --------------------------------------------------------------------------------------

def test_only_at_the_granted_portals_with_the_granted_scopes(app, parent, delegating_portal, make_portal):
    other = make_portal("Apotheekportaal", profile={"delegation": "true"})
    child = child_without_login(turning(8, today()))
    delegation = grant_parental(ADMIN, parent, child, [delegating_portal.client_id], ["profile"], CHECKED,
                                clock.now())
    db.session.commit()
    assert delegation.scopes == ["profile"]
    now = clock.now()
    assert usable_for(parent, child, delegating_portal.client_id, ["openid", "profile"], now) == delegation
    assert usable_for(parent, child, delegating_portal.client_id, ["openid", "email"], now) is None
    assert refusal(delegation, now, client_id=delegating_portal.client_id, scopes=["email"]) == g.SCOPE
    assert usable_for(parent, child, other.client_id, ["openid"], now) is None
    assert refusal(delegation, now, client_id=other.client_id) == g.PORTAL
    assert principals_of(parent, other.client_id, now) == []


def test_all_portals_means_those_that_offer_delegation(app, parent, delegating_portal, make_portal):
    business = make_portal("Zakelijk portaal")  # the profile's default: no delegation
    child = child_without_login(turning(8, today()))
    delegation = grant_parental(ADMIN, parent, child, [], [], CHECKED, clock.now())
    db.session.commit()
    assert usable_for(parent, child, delegating_portal.client_id, ["openid", "email"], clock.now()) == delegation
    assert usable_for(parent, child, business.client_id, ["openid"], clock.now()) is None
    assert refusal(delegation, clock.now(), client_id=business.client_id) == g.PORTAL_WITHOUT_DELEGATION
    with pytest.raises(InvalidInput, match=f"portal {business.client_id} does not offer delegation"):
        grant_parental(ADMIN, parent, child_without_login(turning(9, today()), "Bo Kind"), [business.client_id],
                       [], CHECKED, clock.now())
    with pytest.raises(InvalidInput, match="no portal 'nergens'"):
        grant_parental(ADMIN, parent, child_without_login(turning(9, today()), "Jo Kind"), ["nergens"], [],
                       CHECKED, clock.now())


def test_principals_of_lists_each_usable_person_once_by_name(app, make_user, parent, delegating_portal):
    young = child_without_login(turning(8, today()), "Zoë Kind")
    older = child_with_login(make_user, turning(14, today()), "Anne Kind")
    grant_parental(ADMIN, parent, young, [], [], CHECKED, clock.now())
    pending = grant_parental(ADMIN, parent, older, [], [], CHECKED, clock.now())
    db.session.commit()
    now = clock.now()
    assert [x.principal.name for x in principals_of(parent, delegating_portal.client_id, now)] == ["Zoë Kind"]
    record_child_consent(pending, now, by_child=older)
    assert [x.principal.name for x in principals_of(parent, delegating_portal.client_id, now)] == [
        "Anne Kind", "Zoë Kind"]
    assert principals_of(older, delegating_portal.client_id, now) == []  # it goes one way only
    with pytest.raises(InvalidInput, match="already has delegation"):
        grant_parental(ADMIN, parent, young, [], [], CHECKED, now)


# --- revoked, expired, and the audit ---------------------------------------------------------------------------

def test_revoked_and_expired_are_not_usable(app, make_user, parent, delegating_portal):
    child = child_with_login(make_user, turning(13, today()))
    delegation = grant_parental(ADMIN, parent, child, [], [], CHECKED, clock.now())
    record_child_consent(delegation, clock.now(), by_child=child)
    stranger = make_user("vreemde@example.org")
    with pytest.raises(InvalidInput, match="only the two people of a delegation or an admin can revoke it"):
        revoke(delegation, stranger, None, clock.now())
    revoke(delegation, child, "I want to manage it myself", clock.now())
    db.session.commit()
    assert (delegation.status, delegation.revoked_by_user_id, delegation.reason) == (
        d.REVOKED, child.id, "I want to manage it myself")
    assert usable_for(parent, child, delegating_portal.client_id, ["openid"], clock.now()) is None
    assert refusal(delegation, clock.now()) == g.REVOKED
    with pytest.raises(InvalidInput, match="is already revoked"):
        revoke(delegation, ADMIN, None, clock.now())

    delegation.status = d.EXPIRED
    assert refusal(delegation, clock.now()) == g.EXPIRED


def test_every_change_is_audited_with_both_people(app, make_user, parent):
    child = child_with_login(make_user, turning(12, today()))
    delegation = grant_parental(ADMIN, parent, child, [], ["profile"], CHECKED, clock.now())
    record_child_consent(delegation, clock.now(), admin=ADMIN, form="form 3")
    revoke(delegation, "helpdesk-bob", "moved abroad", clock.now())
    db.session.commit()
    for tag in (EventTag.DELEGATION_GRANTED, EventTag.DELEGATION_CONSENTED, EventTag.DELEGATION_REVOKED):
        [event] = audit_events(tag)
        assert event.subject_user_id == child.id
        assert (event.details["delegate"], event.details["delegate_id"]) == (parent.sub, parent.id)
        assert (event.details["principal"], event.details["principal_id"]) == (child.sub, child.id)
        assert event.details["delegation_id"] == delegation.id
    [granted] = audit_events(EventTag.DELEGATION_GRANTED)
    assert (granted.details["admin"], granted.details["evidence"], granted.details["scopes"]) == (
        ADMIN, CHECKED, ["profile"])
    [revoked] = audit_events(EventTag.DELEGATION_REVOKED)
    assert (revoked.details["admin"], revoked.details["reason"]) == ("helpdesk-bob", "moved abroad")


# --- a person without a login of their own -------------------------------------------------------------------

def test_a_person_without_a_login_can_never_sign_in(app, rp, parent):
    child = child_without_login(turning(6, today()))
    assert child.no_login and child.password_hash is None and child.email.endswith("@no-login.invalid")
    assert (child.name, child.date_of_birth) == ("Sam Kind", turning(6, today()))

    response = rp.submit_password(rp.authorize().location, child.email, "correct horse battery")
    assert response.status_code == 200  # the page again, with the error
    [failure] = audit_events(EventTag.LOGIN_PASSWORD_FAILURE)
    assert (failure.subject_user_id, failure.details["reason"]) == (child.id, "invalid_credentials")
    assert audit_events(EventTag.LOGIN_PASSWORD_SUCCESS) == []
    assert check_password(child, "") is False

    # Nothing an admin or a form does by accident gives it a password.
    with pytest.raises(InvalidInput, match="has no login of their own"):
        activation.send_link(child)
    with pytest.raises(InvalidInput, match="has no login of their own"):
        give_temporary_password(child)
    with pytest.raises(InvalidInput, match="has no login of their own"):
        change_password(child, "a brand new long password 1!")
    assert reset.request_link(child.email, None, flow_uid=None, client_id=None) is False
    with pytest.raises(InvalidInput, match="not a valid e-mail address"):
        normalise_email(child.email)  # nobody can register or be given its address: a reserved domain
    db.session.commit()
    assert db.session.scalars(select(AccountLink).where(AccountLink.user_id == child.id)).all() == []
    assert child.password_hash is None and not child.activation_pending
    with pytest.raises(InvalidInput, match="has no login of their own and cannot act for anyone"):
        grant_parental(ADMIN, child, parent, [], [], CHECKED, clock.now())


def test_a_person_without_a_login_needs_a_name_and_a_real_date_of_birth(app):
    with pytest.raises(InvalidInput, match="needs a name"):
        create_principal("  ", turning(3, today()), ADMIN, clock.now())
    with pytest.raises(InvalidInput, match="not a date of birth"):
        create_principal("Later Kind", today() + timedelta(days=1), ADMIN, clock.now())
    assert audit_events(EventTag.USER_CREATED) == []
