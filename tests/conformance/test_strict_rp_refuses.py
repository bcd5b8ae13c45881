"""The strict RP is only worth its passes if it refuses: each §3.1.3.7 rule, shown failing.

Tokens are forged with the provider's own signing keys (in-process), so only the claim under test is
wrong; tampered tokens from the real server show the signature check.
"""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import urlencode

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.conformance.browser import query_of
from tests.conformance.forge import tamper_payload, tamper_signature
from tests.conformance.strict_rp import ConformanceError


def _sign(provider, claims: dict, alg: str = "RS256", typ: str = "JWT") -> str:
    from idp.runtime import keyring

    with provider.app.app_context():
        return keyring().sign(claims, alg, typ=typ)


def _good_claims(provider, rp, nonce: str = "n-0S6_WzA2Mj") -> dict:
    now = int(time.time())
    return {"iss": provider.issuer, "sub": provider.sub, "aud": rp.portal.client_id, "iat": now,
            "exp": now + 300, "nonce": nonce, "auth_time": now - 5}


def test_a_correct_forgery_passes_so_the_refusals_below_are_about_one_claim(provider, strict_rp):
    rp = strict_rp()
    claims = rp.check_id_token(_sign(provider, _good_claims(provider, rp)), nonce="n-0S6_WzA2Mj", max_age=60)
    assert claims["sub"] == provider.sub


@pytest.mark.parametrize(("change", "rule"), [
    ({"iss": "http://127.0.0.1:1"}, "step 2"),
    ({"aud": "another-portal"}, "step 3"),
    ({"aud": ["__client__", "another-portal"], "azp": "__client__"}, "step 3"),
    ({"azp": "another-portal"}, "step 5"),
    ({"exp": int(time.time()) - 3600}, "step 9"),
    ({"iat": int(time.time()) + 3600}, "step 10"),
    ({"iat": int(time.time()) - 3600}, "step 10"),
    ({"nonce": "not-the-one-sent"}, "step 11"),
    ({"nonce": None}, "step 11"),
    ({"auth_time": None}, "step 13"),
    ({"auth_time": int(time.time()) - 3600}, "step 13"),
    ({"sub": ""}, "§2"),
    ({"exp": str(int(time.time()) + 300)}, "§2"),
])
def test_strict_rp_refuses_an_id_token_with_a_bad_claim(provider, strict_rp, change, rule):
    rp = strict_rp()
    claims = _good_claims(provider, rp)
    for name, value in change.items():
        value = [rp.portal.client_id if v == "__client__" else v for v in value] if isinstance(value, list) \
            else (rp.portal.client_id if value == "__client__" else value)
        if value is None:
            claims.pop(name)
        else:
            claims[name] = value
    with pytest.raises(ConformanceError, match=rule):
        rp.check_id_token(_sign(provider, claims), nonce="n-0S6_WzA2Mj", max_age=60)


def test_strict_rp_refuses_a_wrong_at_hash(provider, browser, strict_rp):
    rp = strict_rp()
    _, tokens = rp.sign_in(browser)
    with pytest.raises(ConformanceError, match="at_hash"):
        rp.check_id_token(tokens.id_token, nonce=tokens.claims["nonce"], access_token="another-access-token")


def test_strict_rp_refuses_an_algorithm_other_than_registered(provider, strict_rp):
    rp = strict_rp("es256")  # registered for ES256; an RS256 token from the same provider is refused
    with pytest.raises(ConformanceError, match="step 7"):
        rp.check_id_token(_sign(provider, _good_claims(provider, rp), "RS256"), nonce="n-0S6_WzA2Mj")


def test_strict_rp_refuses_a_logout_token_as_id_token(provider, strict_rp):
    rp = strict_rp()
    with pytest.raises(ConformanceError, match="RFC 8725"):
        rp.check_id_token(_sign(provider, _good_claims(provider, rp), typ="logout+jwt"), nonce="n-0S6_WzA2Mj")


def test_strict_rp_refuses_a_tampered_id_token_from_the_server(provider, browser, strict_rp):
    rp = strict_rp()
    request, tokens = rp.sign_in(browser)
    with pytest.raises(ConformanceError, match="signature does not verify"):
        rp.check_id_token(tamper_payload(tokens.id_token, sub="someone-else"), nonce=request.nonce)


def test_strict_rp_refuses_a_tampered_signature(provider, browser, strict_rp):
    rp = strict_rp("es256")
    request, tokens = rp.sign_in(browser)
    with pytest.raises(ConformanceError, match="signature does not verify"):
        rp.check_id_token(tamper_signature(tokens.id_token), nonce=request.nonce)


def test_strict_rp_refuses_alg_none(provider, browser, strict_rp):
    rp = strict_rp()
    request, tokens = rp.sign_in(browser)
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": "x"}).encode()).rstrip(b"=").decode()
    unsigned = f"{header}.{tokens.id_token.split('.')[1]}."
    with pytest.raises(ConformanceError, match="step 7"):
        rp.check_id_token(unsigned, nonce=request.nonce)


def test_strict_rp_refuses_a_token_signed_by_a_stranger_under_a_published_kid(provider, browser, strict_rp):
    rp = strict_rp()
    request, tokens = rp.sign_in(browser)
    kid = json.loads(base64.urlsafe_b64decode(tokens.id_token.split(".")[0] + "=="))["kid"]
    stranger = RSAKey.generate_key(2048)
    forged = jwt.encode({"alg": "RS256", "kid": kid}, dict(tokens.claims), stranger, algorithms=["RS256"])
    with pytest.raises(ConformanceError, match="signature does not verify"):
        rp.check_id_token(forged, nonce=request.nonce)


def test_strict_rp_refuses_an_unknown_kid(provider, strict_rp):
    rp = strict_rp()
    stranger = RSAKey.generate_key(2048, parameters={"kid": "unknown-kid"})
    forged = jwt.encode({"alg": "RS256", "kid": "unknown-kid"}, _good_claims(provider, rp), stranger,
                        algorithms=["RS256"])
    with pytest.raises(ConformanceError, match="matches 0 keys"):
        rp.check_id_token(forged, nonce="n-0S6_WzA2Mj")


def test_strict_rp_refuses_a_callback_without_the_issuer_or_with_another_state(provider, browser, strict_rp):
    rp = strict_rp()
    request = rp.authorization_request()
    callback = browser.sign_in(request.url, request.redirect_uri)
    params = query_of(callback)
    del params["iss"]
    without_iss = request.redirect_uri + "?" + urlencode(params)
    with pytest.raises(ConformanceError, match="RFC 9207"):
        rp.authorization_response(without_iss, request)
    with pytest.raises(ConformanceError, match="state"):
        rp.authorization_response(callback.replace(request.state, "another-state"), request)


def test_strict_rp_refuses_discovery_fetched_under_another_issuer_url(provider):
    import requests

    from tests.conformance.strict_rp import fetch_discovery

    doc_url_issuer = provider.issuer.replace("127.0.0.1", "localhost")
    with pytest.raises(ConformanceError, match=r"Discovery §4\.3"):
        fetch_discovery(doc_url_issuer, requests.Session())
