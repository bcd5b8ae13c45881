"""A business portal takes only accounts at its organisation's e-mail domains (seed 001)."""

from __future__ import annotations

import pytest

from idp.errors import InvalidInput
from tests.helpers import RelyingParty, query
from tests.mfa_helpers import SignIn


@pytest.fixture
def business(client, make_portal):
    return RelyingParty(client, make_portal("Zakelijk portaal", email_domains=["business.example.org"]))


def test_an_account_at_the_domain_signs_in(business, make_user):
    make_user("bram@business.example.org")
    assert "code" in business.sign_in("bram@business.example.org", "correct horse battery")


def test_another_account_is_told_and_can_switch(app, client, business, make_user, user):
    make_user("bram@Business.Example.org")
    sign_in = SignIn(client, business.login_url(ui_locales="en"))
    sign_in.password(user.email)
    page = sign_in.page()
    assert sign_in.stage == "account_allowed" and "@business.example.org" in page
    sign_in.post(action="other_account")
    assert sign_in.stage == "password"
    sign_in.password("bram@business.example.org")
    assert "code" in sign_in.finished(business.redirect_uri)


def test_an_sso_session_of_another_account_is_not_used_silently(client, rp, business, user):
    rp.sign_in(user.email, "correct horse battery")
    assert query(business.authorize(prompt="none").location)["error"] == "login_required"
    assert business.authorize().location.startswith("/login/")


def test_domains_are_checked_when_registering_a_portal(app, make_portal):
    with pytest.raises(InvalidInput):
        make_portal(email_domains=["not a domain"])
    assert make_portal(email_domains=["@Business.Example.org"]).email_domains == ["business.example.org"]


def test_plus_aliases_are_distinct_accounts_and_case_does_not_matter(app, make_user):
    from idp.accounts.users import find_by_login

    anna = make_user("anna@example.org")
    alias = make_user("anna+kinderen@example.org")
    assert anna.id != alias.id
    assert find_by_login("ANNA@EXAMPLE.ORG").id == anna.id
    with pytest.raises(InvalidInput):
        make_user("Anna@Example.org")  # the same address in other letters
    with pytest.raises(InvalidInput):
        make_user("anna@example")  # no domain e-mail-validator accepts
