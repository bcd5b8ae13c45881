"""Attacks on the sign-in pages and the authorization endpoint that must come to nothing."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from idp.audit import EventTag
from idp.models import AuthorizationCode, SsoSession
from tests.helpers import RelyingParty, audit_events, browser, csrf_token

PASSWORD = "correct horse battery"


def _expired_page(response) -> None:
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert 'name="password"' not in response.get_data(as_text=True)


def test_a_parked_sign_in_cannot_be_opened_in_another_browser(app, rp, user):
    login_url = rp.login_url()
    assert 'name="password"' in rp.client.get(login_url).get_data(as_text=True)  # its own browser may
    attacker = app.test_client()
    page = attacker.get(login_url)
    _expired_page(page)
    assert "Deze inlogpagina is verlopen" in page.get_data(as_text=True)


def test_a_parked_sign_in_cannot_be_completed_from_another_browser(app, rp, portal, user):
    login_url = rp.login_url()
    attacker = RelyingParty(browser(app), portal)
    # The attacker's own sign-in page gives a valid CSRF token, so only the browser binding can refuse.
    token = csrf_token(attacker.client.get(attacker.login_url()).get_data(as_text=True))
    response = attacker.client.post(login_url, data={"csrf_token": token, "stage": "password",
                                                     "username": user.email, "password": PASSWORD})
    _expired_page(response)
    assert "Deze inlogpagina is verlopen" in response.get_data(as_text=True)  # not the CSRF refusal
    assert audit_events(EventTag.LOGIN_PASSWORD_SUCCESS) == []
    assert SsoSession.query.count() == 0
    assert AuthorizationCode.query.count() == 0


def test_a_finished_sign_in_cannot_be_replayed(rp, user):
    login_url = rp.login_url()
    rp.callback(rp.submit_password(login_url, user.email, PASSWORD))
    _expired_page(rp.client.get(login_url))


def test_a_parked_sign_in_expires(rp, user, settings):
    login_url = rp.login_url()
    later = datetime.now(UTC) + timedelta(minutes=settings.session.login_minutes, seconds=1)
    with time_machine.travel(later, tick=False):
        _expired_page(rp.client.get(login_url))


def test_an_unknown_uid_is_an_expired_page(rp, user):
    rp.login_url()  # the browser has an id, but not for this uid
    _expired_page(rp.client.get("/login/not-a-real-uid"))


def test_password_form_without_csrf_token_is_refused(rp, user):
    login_url = rp.login_url()
    rp.client.get(login_url)
    response = rp.client.post(login_url, data={"stage": "password", "username": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert SsoSession.query.count() == 0
    assert audit_events(EventTag.LOGIN_PASSWORD_SUCCESS) == []


def test_password_form_with_a_forged_csrf_token_is_refused(rp, user):
    login_url = rp.login_url()
    rp.client.get(login_url)
    response = rp.client.post(login_url, data={"csrf_token": "forged", "stage": "password",
                                               "username": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert SsoSession.query.count() == 0


def test_sign_in_pages_are_not_cached_or_framed(rp, user):
    page = rp.client.get(rp.login_url())
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


@pytest.mark.parametrize("params", [
    {"redirect_uri": "https://evil.example/steal"},
    {"redirect_uri": "https://evil.example/steal", "client_id": "no-such-portal"},
    {"redirect_uri": "https://evil.example/steal", "response_type": "token"},
    {"redirect_uri": "https://evil.example/steal", "scope": "openid admin"},
])
def test_error_pages_never_echo_an_unvalidated_redirect_uri(rp, user, params):
    response = rp.authorize(**params)
    assert response.status_code == 400
    assert "Location" not in response.headers
    html = response.get_data(as_text=True)
    # Only the page's own language links carry the request, percent-encoded, back to /authorize.
    assert "https://evil.example" not in html
    assert "evil.example/steal" not in html
    assert 'href="https' not in html


def test_unknown_user_and_wrong_password_look_the_same(rp, user):
    wrong_password = rp.submit_password(rp.login_url(), user.email, "not the password")
    unknown_user = rp.submit_password(rp.login_url(), "nobody@example.org", "not the password")
    assert wrong_password.status_code == unknown_user.status_code == 200

    def error_of(response) -> str:
        html = response.get_data(as_text=True)
        return html[html.index('role="alert"'):].split("<", 1)[0]

    assert error_of(wrong_password) == error_of(unknown_user)
    failures = audit_events(EventTag.LOGIN_PASSWORD_FAILURE)
    assert [f.subject_user_id for f in failures] == [user.id, None]
    assert all(f.outcome == "failure" for f in failures)


def test_disabled_user_cannot_sign_in(rp, user):
    from idp.accounts.users import disable
    from idp.extensions import db

    disable(user)
    db.session.commit()
    response = rp.submit_password(rp.login_url(), user.email, PASSWORD)
    assert response.status_code == 200
    assert 'name="password"' in response.get_data(as_text=True)
    assert SsoSession.query.filter(SsoSession.ended_at.is_(None)).count() == 0


def test_a_stale_stage_is_not_submitted(rp, user):
    """A form for a stage that is no longer current shows the current stage instead of acting on it."""
    login_url = rp.login_url()
    html = rp.client.get(login_url).get_data(as_text=True)
    response = rp.client.post(login_url, data={"csrf_token": csrf_token(html), "stage": "consent",
                                               "decision": "allow"})
    assert response.status_code == 302
    assert response.location.endswith(login_url)
    assert SsoSession.query.count() == 0


def test_a_failed_sign_in_with_an_unknown_name_keeps_no_plaintext_of_it(rp, user):
    from idp.audit import EventTag
    from tests.helpers import audit_events

    login_url = rp.authorize().location
    rp.submit_password(login_url, "Zomer2026!geheim", "whatever")
    (event,) = audit_events(EventTag.LOGIN_PASSWORD_FAILURE)
    assert "Zomer2026!geheim" not in str(event.details)
    assert event.details["login_hash"]
