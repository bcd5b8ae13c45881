"""A password alone must not be enough to change the factors that protect an account."""

from __future__ import annotations

from tests.helpers import RelyingParty
from tests.mfa.conftest import PHONE
from tests.mfa_helpers import SignIn, latest_code


def follow(client, response):
    while response.status_code == 302 and not response.location.startswith("/login/"):
        response = client.get(response.location)
    return response


def test_a_password_only_session_steps_up_before_the_account_page(app, client, make_portal, user, add_factor):
    add_factor(user, "sms")
    relaxed = RelyingParty(client, make_portal(mfa="off"))
    relaxed.sign_in(user.email, "correct horse battery")  # a session proven by the password alone

    response = follow(client, client.get("/account"))
    assert response.status_code == 302 and response.location.startswith("/login/")
    step_up = SignIn(client, response.location)
    assert step_up.stage == "second_factor"  # not the account page, and no new recovery codes
    step_up.post(code=latest_code(app, PHONE))
    page = follow(client, step_up.response)
    assert page.status_code == 200 and "/account/recovery-codes" in page.get_data(as_text=True)


def test_a_factor_added_elsewhere_makes_the_page_ask_for_it(app, client, make_portal, user):
    relaxed = RelyingParty(client, make_portal(mfa="off"))
    relaxed.sign_in(user.email, "correct horse battery")
    page = follow(client, client.get("/account"))
    assert page.status_code == 200

    from idp.accounts import factors
    from idp.extensions import db

    factors.add_confirmed(user, "email")  # not proven in this session
    db.session.commit()
    response = follow(client, client.get("/account"))
    assert response.location.startswith("/login/")
    assert SignIn(client, response.location).stage == "second_factor"  # the session lives; its factor is asked
