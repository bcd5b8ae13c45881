"""PKCE (RFC 7636, RFC 9700 §2.1.1): S256 only, required of public clients, verified whenever sent."""

import pytest
from sqlalchemy import func, select

from idp.errors import InvalidInput
from idp.extensions import db
from idp.models import PendingAuthorization, Token
from tests.helpers import ISSUER, RelyingParty, pkce_pair

PASSWORD = "correct horse battery"


@pytest.fixture
def app_rp(client, make_portal):
    """A mobile app: a public client without a secret."""
    return RelyingParty(client, make_portal("Huisarts-app", public=True))


def _error(rp, response) -> dict:
    callback = rp.callback(response)
    assert callback["state"] == rp.state
    assert callback["iss"] == ISSUER
    return callback


def test_public_client_signs_in_with_s256(app_rp, user):
    callback = app_rp.sign_in(user.email, PASSWORD)
    response = app_rp.exchange(callback["code"], auth="none")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["access_token"]


def test_public_client_without_code_challenge_is_sent_back_with_invalid_request(app_rp, user):
    response = app_rp.authorize(code_challenge=None, code_challenge_method=None)
    assert _error(app_rp, response)["error"] == "invalid_request"


def test_plain_method_is_refused(app_rp, user):
    verifier, _ = pkce_pair()
    response = app_rp.authorize(code_challenge=verifier, code_challenge_method="plain")
    assert _error(app_rp, response)["error"] == "invalid_request"


def test_plain_method_is_refused_for_confidential_clients_too(rp, user):
    verifier, _ = pkce_pair()
    response = rp.authorize(code_challenge=verifier, code_challenge_method="plain")
    assert _error(rp, response)["error"] == "invalid_request"


def test_challenge_without_method_is_refused_because_it_would_mean_plain(rp, user):
    response = rp.authorize(code_challenge_method=None)
    assert _error(rp, response)["error"] == "invalid_request"


def test_malformed_challenge_is_refused(rp, user):
    response = rp.authorize(code_challenge="too-short")
    assert _error(rp, response)["error"] == "invalid_request"


def test_wrong_verifier_gets_invalid_grant(app_rp, user):
    callback = app_rp.sign_in(user.email, PASSWORD)
    other_verifier, _ = pkce_pair()
    response = app_rp.exchange(callback["code"], verifier=other_verifier, auth="none")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_public_client_must_send_the_verifier(app_rp, user):
    callback = app_rp.sign_in(user.email, PASSWORD)
    response = app_rp.exchange(callback["code"], verifier=None, auth="none")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_a_wrong_verifier_burns_the_code(app_rp, user):
    """RFC 9700 §2.1.1 (issue 13): a redemption that fails on the verifier spends the code, so a stolen code
    gives one guess at the verifier; the real verifier afterwards gets nothing either."""
    callback = app_rp.sign_in(user.email, PASSWORD)
    wrong = app_rp.exchange(callback["code"], verifier=pkce_pair()[0], auth="none")
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"
    right = app_rp.exchange(callback["code"], auth="none")
    assert right.status_code == 400 and right.get_json()["error"] == "invalid_grant"
    assert "access_token" not in right.get_json()
    assert db.session.scalar(select(func.count()).select_from(Token)) == 0


@pytest.fixture
def legacy_rp(client, make_portal):
    """A confidential portal that cannot send PKCE, exempted by an admin on purpose."""
    return RelyingParty(client, make_portal("Oud declaratieportaal", pkce_required=False))


def test_a_confidential_client_without_pkce_is_refused_by_default(rp, user):
    """RFC 9700 §2.1.1 and OAuth 2.1 (issue 13): PKCE for every portal, confidential ones too."""
    before = db.session.scalar(select(func.count()).select_from(PendingAuthorization))
    response = rp.authorize(code_challenge=None, code_challenge_method=None)
    assert _error(rp, response)["error"] == "invalid_request"
    assert db.session.scalar(select(func.count()).select_from(PendingAuthorization)) == before


def test_an_exempted_confidential_client_may_sign_in_without_pkce(legacy_rp, user):
    callback = legacy_rp.sign_in(user.email, PASSWORD, code_challenge=None, code_challenge_method=None)
    response = legacy_rp.exchange(callback["code"], verifier=None)
    assert response.status_code == 200, response.get_json()


def test_a_public_client_cannot_be_exempted(make_portal):
    with pytest.raises(InvalidInput, match="public client always needs PKCE"):
        make_portal("App", public=True, pkce_required=False)


def test_verifier_without_challenge_is_refused(legacy_rp, user):
    """RFC 9700 §4.8.2: a code_verifier for a code that had no challenge is a downgrade attempt."""
    rp = legacy_rp
    callback = rp.sign_in(user.email, PASSWORD, code_challenge=None, code_challenge_method=None)
    verifier, _ = pkce_pair()
    response = rp.exchange(callback["code"], verifier=verifier)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_confidential_client_challenge_is_verified(rp, user):
    callback = rp.sign_in(user.email, PASSWORD)
    response = rp.exchange(callback["code"], verifier=pkce_pair()[0])
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_confidential_client_that_sent_a_challenge_must_send_the_verifier(rp, user):
    callback = rp.sign_in(user.email, PASSWORD)
    response = rp.exchange(callback["code"], verifier=None)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
