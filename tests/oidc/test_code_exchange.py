"""Redeeming an authorization code at the token endpoint (RFC 6749 §4.1.3, §5.2, §10.5)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from idp.audit import EventTag
from tests.helpers import RelyingParty, audit_events

PASSWORD = "correct horse battery"


def _assert_error(response, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"] == error
    assert response.headers["Cache-Control"] == "no-store"


def test_token_response_is_not_cached(rp, user):
    callback = rp.sign_in(user.email, PASSWORD)
    response = rp.exchange(callback["code"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert set(body["scope"].split()) == {"openid", "profile", "email", "phone", "offline_access"}


def test_a_code_is_single_use(rp, user):
    callback = rp.sign_in(user.email, PASSWORD)
    assert rp.exchange(callback["code"]).status_code == 200
    _assert_error(rp.exchange(callback["code"]), "invalid_grant")


def test_reused_code_revokes_the_tokens_it_bought(rp, user):
    callback = rp.sign_in(user.email, PASSWORD)
    tokens = rp.exchange(callback["code"]).get_json()
    assert rp.userinfo(tokens["access_token"]).status_code == 200

    _assert_error(rp.exchange(callback["code"]), "invalid_grant")

    userinfo = rp.userinfo(tokens["access_token"])
    assert userinfo.status_code == 401
    assert 'error="invalid_token"' in userinfo.headers["WWW-Authenticate"]
    assert rp.introspect(tokens["access_token"]).get_json() == {"active": False}
    assert rp.introspect(tokens["refresh_token"]).get_json() == {"active": False}
    _assert_error(rp.refresh(tokens["refresh_token"]), "invalid_grant")


def test_reused_code_also_revokes_tokens_refreshed_since(rp, user):
    callback = rp.sign_in(user.email, PASSWORD)
    first = rp.exchange(callback["code"]).get_json()
    newest = rp.refresh(first["refresh_token"]).get_json()

    _assert_error(rp.exchange(callback["code"]), "invalid_grant")

    assert rp.userinfo(newest["access_token"]).status_code == 401
    _assert_error(rp.refresh(newest["refresh_token"]), "invalid_grant")


def test_reused_code_is_audited(rp, user):
    callback = rp.sign_in(user.email, PASSWORD)
    rp.exchange(callback["code"])
    assert audit_events(EventTag.CODE_REUSE_DETECTED) == []

    rp.exchange(callback["code"])

    [event] = audit_events(EventTag.CODE_REUSE_DETECTED)
    assert event.outcome == "failure"
    assert event.subject_user_id == user.id
    assert event.client_id == rp.portal.client_id
    assert event.details["revoked_families"] == 1


def test_expired_code_is_an_invalid_grant(rp, user, settings):
    callback = rp.sign_in(user.email, PASSWORD)
    later = datetime.now(UTC) + timedelta(seconds=settings.tokens.code_seconds + 1)
    with time_machine.travel(later, tick=False):
        _assert_error(rp.exchange(callback["code"]), "invalid_grant")


def test_code_is_valid_until_it_expires(rp, user, settings):
    callback = rp.sign_in(user.email, PASSWORD)
    almost = datetime.now(UTC) + timedelta(seconds=settings.tokens.code_seconds - 5)
    with time_machine.travel(almost, tick=False):
        assert rp.exchange(callback["code"]).status_code == 200


def test_redirect_uri_must_match_the_authorization_request(rp, user):
    callback = rp.sign_in(user.email, PASSWORD)
    response = rp.exchange(callback["code"], redirect_uri="http://127.0.0.1:9001/other")
    _assert_error(response, "invalid_grant")


def test_redirect_uri_is_required_when_it_was_sent(rp, user):
    callback = rp.sign_in(user.email, PASSWORD)
    _assert_error(rp.exchange(callback["code"], redirect_uri=""), "invalid_grant")


def test_redirect_uri_must_be_the_one_used_among_several(client, make_portal, user):
    portal = make_portal(redirect_uris=["http://127.0.0.1:8001/a", "http://127.0.0.1:8001/b"])
    rp = RelyingParty(client, portal, redirect_uri="http://127.0.0.1:8001/a")
    callback = rp.sign_in(user.email, PASSWORD)
    _assert_error(rp.exchange(callback["code"], redirect_uri="http://127.0.0.1:8001/b"), "invalid_grant")
    # A failed redemption by the portal itself spends the code (RFC 9700 §2.1.1), as a wrong verifier does.
    _assert_error(rp.exchange(callback["code"]), "invalid_grant")


def test_code_of_another_portal_is_an_invalid_grant(client, rp, make_portal, user):
    callback = rp.sign_in(user.email, PASSWORD)
    thief = RelyingParty(client, make_portal("Other portal"), redirect_uri=rp.redirect_uri)
    thief.verifier = rp.verifier
    _assert_error(thief.exchange(callback["code"]), "invalid_grant")
    # The attempt burns nothing and revokes nothing: the rightful portal still redeems its code.
    assert rp.exchange(callback["code"]).status_code == 200
    assert audit_events(EventTag.CODE_REUSE_DETECTED) == []


@pytest.mark.parametrize("code", ["not-a-code", "x" * 600])
def test_unknown_code_is_an_invalid_grant(rp, user, code):
    rp.sign_in(user.email, PASSWORD)
    _assert_error(rp.exchange(code), "invalid_grant")


def test_missing_code_is_an_invalid_request(rp, user):
    rp.sign_in(user.email, PASSWORD)
    _assert_error(rp.token_request({"grant_type": "authorization_code", "redirect_uri": rp.redirect_uri}),
                  "invalid_request")


def test_code_of_a_user_disabled_meanwhile_is_an_invalid_grant(rp, user, app):
    from idp.accounts.users import disable
    from idp.extensions import db

    callback = rp.sign_in(user.email, PASSWORD)
    disable(user)
    db.session.commit()
    _assert_error(rp.exchange(callback["code"]), "invalid_grant")


@pytest.mark.parametrize("grant_type", ["password", "implicit", "urn:ietf:params:oauth:grant-type:device_code", ""])
def test_unsupported_grant_type(rp, grant_type):
    _assert_error(rp.token_request({"grant_type": grant_type}), "unsupported_grant_type")
