"""clients/common.py: how a portal puts the provider's amr claim into words, checks a sign-in is as fresh as it
asked, and never keeps a session its own on_sign_in check did not pass."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import session

from clients.common import SignInRequest, actor_of, first_name, how_signed_in
from clients.ordering.roles import ACR_MFA
from tests.clients.conftest import RunningPortal, sign_in


@pytest.mark.parametrize(("amr", "words"), [
    (["pwd"], "met wachtwoord"),
    (["mfa", "pwd", "sms"], "met wachtwoord en sms-code"),
    (["otp", "pwd", "mfa"], "met wachtwoord en code uit app of e-mail"),  # the password first, whatever the order
    (["mfa", "pwd"], "met wachtwoord en vertrouwde computer"),  # the second step was a trusted browser
    (["pwd", "sms", "otp", "mfa"], "met wachtwoord, sms-code en code uit app of e-mail"),
    ([], ""),
    (None, ""),
    (["face"], ""),  # a method the portal has no words for says nothing rather than something wrong
])
def test_how_signed_in_in_words(amr, words):
    assert how_signed_in(amr) == words


@pytest.mark.parametrize(("claims", "actor"), [
    ({"sub": "child", "act": {"sub": "parent", "name": "Anna de Vries"}}, {"sub": "parent", "name": "Anna de Vries"}),
    ({"sub": "child", "act": {"sub": "parent"}}, {"sub": "parent", "name": ""}),  # a name is optional (RFC 8693)
    ({"sub": "child", "act": {"sub": "parent", "name": ["x"]}}, {"sub": "parent", "name": ""}),
    ({"sub": "me"}, None),
    ({"sub": "me", "act": None}, None),
    ({"sub": "me", "act": "parent"}, None),  # not an object: nobody acts
    ({"sub": "me", "act": {"name": "Anna"}}, None),  # no actor's sub: nobody acts
    ({"sub": "me", "act": {"sub": ""}}, None),
    (None, None),
])
def test_who_acts_is_read_from_the_act_claim_only_when_it_names_someone(claims, actor):
    assert actor_of(claims) == actor


@pytest.mark.parametrize(("claims", "shown"), [
    ({"given_name": "Sem", "name": "Sem de Vries"}, "Sem"),
    ({"name": "Sem de Vries"}, "Sem"),
    ({"given_name": " ", "name": "Lotte de Vries"}, "Lotte"),
    ({}, ""),
])
def test_whose_record_is_named_by_the_given_name(claims, shown):
    assert first_name(claims) == shown


# --- a portal's own check at sign-in (on_sign_in), against the live provider ----------------------------

@pytest.fixture
def strict_portal(provider):
    """A portal whose on_sign_in check fails with an error (a bug in a portal's own code)."""
    from clients.common import create_portal
    from idp.extensions import db
    from idp.portals.registry import register
    from tests.conformance.live import ServerThread

    server = ServerThread()
    url = f"http://127.0.0.1:{server.port}"
    with provider.app.app_context():
        registered = register("Portaal met een fout", [url + "/callback"], first_party=True, mfa="required")
        db.session.commit()
        client_id = registered.client.client_id
        db.session.remove()

    def failing_check(claims, token, sign_in):
        raise RuntimeError("the portal's own check failed")

    app = create_portal("clients.patient.app", issuer=provider.issuer, client_id=client_id,
                        client_secret=registered.secret, base_url=url, secret_key="strict-portal-test",
                        on_sign_in=failing_check)
    app.add_url_rule("/overzicht", "home", lambda: "signed in as " + session.get("sub", "nobody"))
    app.add_url_rule("/", "welcome", lambda: "welcome")
    server.serve(app)
    yield RunningPortal(url, app, client_id)
    server.stop()


@pytest.mark.slow
def test_a_failing_on_sign_in_check_leaves_nobody_signed_in(provider, strict_portal, patient):
    http = requests.Session()
    answered = sign_in(http, provider, strict_portal, patient)
    assert answered.status_code == 500 and answered.url.startswith(strict_portal.url + "/callback")

    assert http.get(strict_portal.url + "/overzicht", timeout=10).text == "signed in as nobody"


# --- the ordering portal's verdict, as its on_sign_in hook gives it -------------------------------------

ORDERING = {"PORTAL_ISSUER": "http://127.0.0.1:9", "PORTAL_CLIENT_ID": "ordering", "PORTAL_CLIENT_SECRET": "secret",
            "PORTAL_BASE_URL": "http://127.0.0.1:8", "PORTAL_SECRET_KEY": "ordering-test", "TESTING": True}


@pytest.fixture
def ordering_app():
    from clients.ordering import create_app

    return create_app(ORDERING)


@pytest.mark.parametrize(("asked", "status", "signed_in"), [
    ({}, 302, False),  # a professional with the password only: sent to /login/zorgprofessional
    ({"acr_values": ACR_MFA}, 403, False),  # asked for the second factor and came back without it: refused
])
def test_a_professional_without_the_second_factor_is_not_signed_in(ordering_app, asked, status, signed_in):
    from clients.ordering.app import _on_sign_in

    claims = {"sub": "karin", "roles": ["professional"], "acr": "urn:idp:acr:pwd"}
    with ordering_app.test_request_context("/callback"):
        session.update(sub="karin", acr="urn:idp:acr:pwd")
        response = _on_sign_in(claims, {}, SignInRequest(asked, started_at=0.0))
        response = ordering_app.make_response(response)
        assert response.status_code == status
        assert ("sub" in session) is signed_in
        if status == 302:
            assert response.location.endswith("/login/zorgprofessional")


def test_an_end_user_with_the_password_only_is_signed_in(ordering_app):
    from clients.ordering.app import _on_sign_in

    with ordering_app.test_request_context("/callback"):
        session.update(sub="eva", acr="urn:idp:acr:pwd")
        assert _on_sign_in({"sub": "eva", "roles": ["enduser"]}, {}, SignInRequest({}, 0.0)) is None
        assert session["roles"] == ["enduser"] and session["sub"] == "eva"


@pytest.mark.parametrize(("asked", "auth_time_before_start", "fresh"), [
    ({}, 3600, True),  # no prompt=login, no max_age: an older sign-in is fine
    ({"prompt": "login"}, 0, True),
    ({"prompt": "login"}, 5, True),  # within the clock leeway
    ({"prompt": "login"}, 60, False),  # the single sign-on session answered: not a fresh sign-in
    ({"max_age": 0}, 60, False),
    ({"max_age": 600}, 60, True),
])
def test_prompt_login_and_max_age_need_a_recent_auth_time(asked, auth_time_before_start, fresh):
    started = time.time()
    assert SignInRequest(asked, started).recent_enough(int(started) - auth_time_before_start) is fresh
    assert SignInRequest({"prompt": "login"}, started).recent_enough(None) is False


@pytest.mark.slow
def test_the_ordering_portal_asks_the_acr_the_provider_is_configured_with(provider):
    """A provider whose mfa.acr_mfa is renamed: PORTAL_ACR_MFA tells the portal, which asks and accepts that."""
    from clients.ordering import create_app
    from clients.ordering.app import _on_sign_in

    renamed = create_app({**ORDERING, "PORTAL_ISSUER": provider.issuer,  # its discovery document
                          "PORTAL_ACR_MFA": "https://zorg.example/acr/tweestaps"})
    with renamed.test_request_context("/login/zorgprofessional"):
        location = renamed.view_functions["login_professional"]().location
    assert parse_qs(urlsplit(location).query)["acr_values"] == ["https://zorg.example/acr/tweestaps"]

    with renamed.test_request_context("/callback"):
        session.update(sub="karin", acr="https://zorg.example/acr/tweestaps")
        accepted = _on_sign_in({"sub": "karin", "roles": ["professional"]}, {},
                               SignInRequest({"acr_values": "https://zorg.example/acr/tweestaps"}, 0.0))
        assert accepted is None and session["sub"] == "karin"
    with renamed.test_request_context("/callback"):
        session.update(sub="karin", acr=ACR_MFA)  # the default name means nothing to this provider
        assert renamed.make_response(_on_sign_in({"sub": "karin", "roles": ["professional"]}, {},
                                                 SignInRequest({}, 0.0))).status_code == 302
