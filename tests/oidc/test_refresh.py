"""Refresh tokens (RFC 6749 §6, OIDC Core §12, RFC 9700 §4.14): rotation, reuse detection, scope."""

from datetime import timedelta

import pytest
import time_machine

from idp.audit import EventTag
from idp.extensions import db
from tests.helpers import RelyingParty, audit_events, tomorrow_at

PASSWORD = "correct horse battery"
SIGNED_IN_AT = tomorrow_at(9)
AN_HOUR_LATER = SIGNED_IN_AT + timedelta(hours=1)


@pytest.fixture
def tokens(rp, user):
    with time_machine.travel(SIGNED_IN_AT, tick=False):
        return rp.tokens(user.email, PASSWORD)


def _invalid_grant(response) -> None:
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_refresh_gives_new_tokens(rp, tokens):
    with time_machine.travel(AN_HOUR_LATER, tick=False):
        response = rp.refresh(tokens["refresh_token"])
        assert response.status_code == 200, response.get_json()
        assert response.headers["Cache-Control"] == "no-store"
        fresh = response.get_json()
        assert fresh["access_token"] != tokens["access_token"]
        assert fresh["refresh_token"] != tokens["refresh_token"]
        assert rp.userinfo(fresh["access_token"]).status_code == 200


def test_refreshed_id_token_keeps_the_original_sign_in(rp, tokens, user):
    first = rp.decode_id_token(tokens["id_token"])
    with time_machine.travel(AN_HOUR_LATER, tick=False):
        claims = rp.decode_id_token(rp.refresh(tokens["refresh_token"]).get_json()["id_token"])
    assert claims["auth_time"] == first["auth_time"] == int(SIGNED_IN_AT.timestamp())
    assert claims["iat"] == int(AN_HOUR_LATER.timestamp())
    assert claims["sub"] == user.sub
    assert claims["sid"] == first["sid"]
    assert claims["aud"] == rp.portal.client_id
    assert claims["amr"] == first["amr"]
    assert "nonce" not in claims  # OIDC Core §12.2: no nonce from a refresh


def test_refresh_works_after_the_access_token_expired(rp, tokens, settings):
    later = SIGNED_IN_AT + timedelta(seconds=settings.tokens.access_token_seconds + 1)
    with time_machine.travel(later, tick=False):
        assert rp.userinfo(tokens["access_token"]).status_code == 401
        assert rp.refresh(tokens["refresh_token"]).status_code == 200


def test_expired_refresh_token_is_an_invalid_grant(rp, tokens, settings):
    later = SIGNED_IN_AT + timedelta(days=settings.tokens.refresh_token_days, seconds=1)
    with time_machine.travel(later, tick=False):
        _invalid_grant(rp.refresh(tokens["refresh_token"]))


def test_reused_refresh_token_revokes_the_whole_family(rp, tokens):
    second = rp.refresh(tokens["refresh_token"]).get_json()
    third = rp.refresh(second["refresh_token"]).get_json()

    _invalid_grant(rp.refresh(tokens["refresh_token"]))  # someone replays the first one

    assert rp.userinfo(third["access_token"]).status_code == 401
    _invalid_grant(rp.refresh(third["refresh_token"]))
    assert rp.introspect(third["access_token"]).get_json() == {"active": False}
    assert rp.introspect(third["refresh_token"]).get_json() == {"active": False}


def test_reuse_is_audited(rp, tokens, user):
    rp.refresh(tokens["refresh_token"])
    assert audit_events(EventTag.REFRESH_REUSE_DETECTED) == []
    rp.refresh(tokens["refresh_token"])
    [event] = audit_events(EventTag.REFRESH_REUSE_DETECTED)
    assert event.outcome == "failure"
    assert event.subject_user_id == user.id
    assert event.client_id == rp.portal.client_id


def test_reuse_leaves_other_sign_ins_alone(client, rp, tokens, user, make_portal):
    other = RelyingParty(client, make_portal("Ziekenhuis"))
    other_tokens = other.tokens(user.email, PASSWORD)
    rp.refresh(tokens["refresh_token"])
    rp.refresh(tokens["refresh_token"])
    assert other.userinfo(other_tokens["access_token"]).status_code == 200
    assert other.refresh(other_tokens["refresh_token"]).status_code == 200


def test_no_refresh_token_without_offline_access(rp, user):
    tokens = rp.tokens(user.email, PASSWORD, scope="openid profile email")
    assert "refresh_token" not in tokens
    assert tokens["access_token"]


def test_narrower_scope_is_allowed(rp, tokens):
    response = rp.refresh(tokens["refresh_token"], scope="openid email")
    assert response.status_code == 200, response.get_json()
    narrow = response.get_json()
    assert narrow["scope"] == "openid email"
    assert rp.userinfo(narrow["access_token"]).get_json().keys() == {"sub", "email", "email_verified"}
    claims = rp.decode_id_token(narrow["id_token"])
    assert "phone_number" not in claims and "name" not in claims


def test_after_a_narrower_refresh_the_full_grant_remains(rp, tokens):
    """RFC 6749 §6: the new refresh token carries the scope originally granted."""
    narrow = rp.refresh(tokens["refresh_token"], scope="openid email").get_json()
    full = rp.refresh(narrow["refresh_token"])
    assert full.status_code == 200, full.get_json()
    assert set(full.get_json()["scope"].split()) == {"openid", "profile", "email", "phone", "offline_access"}


def test_wider_scope_is_invalid_scope(rp, user):
    tokens = rp.tokens(user.email, PASSWORD, scope="openid email offline_access")
    response = rp.refresh(tokens["refresh_token"], scope="openid email phone offline_access")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_scope"
    # A refused request does not use the token up.
    assert rp.refresh(tokens["refresh_token"]).status_code == 200


def test_refresh_token_of_another_portal_is_an_invalid_grant(client, rp, tokens, make_portal):
    thief = RelyingParty(client, make_portal("Other"))
    _invalid_grant(thief.refresh(tokens["refresh_token"]))
    assert rp.refresh(tokens["refresh_token"]).status_code == 200


def test_access_token_is_not_a_refresh_token(rp, tokens):
    _invalid_grant(rp.refresh(tokens["access_token"]))


def test_unknown_refresh_token_is_an_invalid_grant(rp, tokens):
    _invalid_grant(rp.refresh("not-a-refresh-token"))


def test_missing_refresh_token_is_an_invalid_request(rp, tokens):
    response = rp.token_request({"grant_type": "refresh_token"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_refresh_for_a_disabled_user_fails(rp, tokens, user):
    from idp.accounts.users import disable

    disable(user)
    db.session.commit()
    _invalid_grant(rp.refresh(tokens["refresh_token"]))


def test_public_client_refreshes_without_a_secret(client, make_portal, user):
    app_rp = RelyingParty(client, make_portal("App", public=True))
    callback = app_rp.sign_in(user.email, PASSWORD)
    tokens = app_rp.exchange(callback["code"], auth="none").get_json()
    response = app_rp.refresh(tokens["refresh_token"], auth="none")
    assert response.status_code == 200, response.get_json()


def test_refresh_is_audited_as_token_issued(rp, tokens, user):
    rp.refresh(tokens["refresh_token"])
    grants = [e.details["grant_type"] for e in audit_events(EventTag.TOKEN_ISSUED)]
    assert grants == ["authorization_code", "refresh_token"]


def test_another_portal_presenting_a_rotated_token_cannot_revoke_the_family(client, rp, tokens, make_portal):
    newer = rp.refresh(tokens["refresh_token"]).get_json()
    intruder = RelyingParty(client, make_portal("Other portal"))
    _invalid_grant(intruder.refresh(tokens["refresh_token"]))
    assert rp.refresh(newer["refresh_token"]).status_code == 200
