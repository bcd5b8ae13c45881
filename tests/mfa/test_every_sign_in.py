"""A portal that asks a code at every sign-in (issue 14, seeds 001 and 002: "SMS at every sign-in"): its SSO
session, an earlier code and a trusted browser never stand in; other portals still enjoy single sign-on."""

from __future__ import annotations

from sqlalchemy import func, select

from idp.extensions import db
from idp.models import AuthorizationCode
from tests.helpers import RelyingParty, query
from tests.mfa.conftest import PHONE
from tests.mfa_helpers import SignIn, latest_code


def codes_issued() -> int:
    return db.session.scalar(select(func.count()).select_from(AuthorizationCode))


def test_a_code_at_every_arrival_while_other_portals_sign_in_by_the_session(
        app, client, make_portal, user, add_factor):
    add_factor(user, "sms")
    business = RelyingParty(client, make_portal("Zakelijk portaal", mfa="every", mfa_factors=["sms"],
                                                trusted_device_days=7))
    gp = RelyingParty(client, make_portal("Huisartsportaal", mfa="required"))

    first = SignIn(client, business.login_url())
    first.password(user.email)
    assert first.stage == "second_factor"
    assert 'name="trust"' not in first.page()  # no browser may stand in here, so none is offered
    first.post(code=latest_code(app, PHONE), trust="1")
    first.finished(business.redirect_uri)

    # The GP portal takes the session with its SMS code: no page at all.
    assert "code" in query(gp.authorize(prompt="none").location)

    # Back at the business portal: the session alone gives no code, a new SMS code is asked.
    before = codes_issued()
    silent = business.authorize(prompt="none")
    assert query(silent.location)["error"] == "interaction_required"
    again = SignIn(client, business.login_url())
    assert again.stage == "second_factor"
    assert codes_issued() == before
    again.post(code=latest_code(app, PHONE))
    again.finished(business.redirect_uri)
    assert codes_issued() == before + 1


def test_ten_sign_ins_in_an_hour_at_the_every_sign_in_portal_all_succeed(
        app, client, make_portal, user, add_factor, frozen, time_machine):
    """Issue 14 part 4: the per-number SMS limit (5 an hour) counts codes never used, not sign-ins."""
    from datetime import timedelta

    add_factor(user, "sms")
    business = RelyingParty(client, make_portal("Zakelijk portaal", mfa="every", mfa_factors=["sms"]))
    for _ in range(10):
        sign_in = SignIn(client, business.login_url(prompt="login"))
        sign_in.password(user.email)
        assert sign_in.stage == "second_factor"
        sign_in.post(code=latest_code(app, PHONE))
        sign_in.finished(business.redirect_uri)
        time_machine.shift(timedelta(minutes=5))


def test_a_recovery_code_at_an_sms_only_portal_leads_straight_to_a_new_confirmed_phone(
        app, client, make_portal, user, add_factor):
    """Issue 14 part 4 (seed 001: a lost or changed phone): the recovery code signs the person in once, by way
    of a new mobile number proven by its own SMS code; the old number is gone."""
    from idp.accounts import factors
    from idp.security import recovery

    add_factor(user, "sms")
    codes = recovery.generate(user)
    db.session.commit()
    business = RelyingParty(client, make_portal("Zakelijk portaal", mfa="every", mfa_factors=["sms"]))
    sign_in = SignIn(client, business.login_url(ui_locales="en"))
    sign_in.password(user.email)
    sign_in.post(action="use:recovery")
    sign_in.post(code=codes[0])
    assert sign_in.stage == "enrol" and "Your new mobile number" in sign_in.page()
    before = codes_issued()
    sign_in.post(action="send", phone="06 87654321")
    sign_in.post(action="confirm", code=latest_code(app, "+31687654321"))
    callback = sign_in.finished(business.redirect_uri)
    assert "code" in callback and codes_issued() == before + 1
    db.session.expire_all()
    assert factors.phone(factors.get(user, "sms")) == "+31687654321"
