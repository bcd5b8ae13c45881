"""Acting for someone else (issue 15) as a portal on idpyoidc (not Authlib) sees it: the ID token's `sub` is the
child, `act` names the parent, on the first and on a refreshed ID token; when the delegation is revoked, the
portal's back channel receives a logout token that idpyoidc itself maps to that sign-in (it looks the session
up by `sub`), and that the strict RP accepts as naming the session of its ID token.

The portal and the people are made in the live provider's database by each test; the child's date of birth is
today N years back.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass

import pytest
from idpyoidc.client.oauth2.stand_alone_client import backchannel_logout
from joserfc import jws

from tests.conformance.browser import Browser, query_of
from tests.conformance.idpy_rp import IdpyPortal
from tests.conformance.live import PASSWORD, LiveProvider, LogoutReceiver, Portal
from tests.conformance.strict_rp import StrictRP

ADMIN = "helpdesk-anna"


@dataclass
class Family:
    portal: Portal
    delegation_id: int
    parent_email: str
    parent_sub: str
    child_sub: str


@pytest.fixture
def family(provider: LiveProvider, logout_receiver: LogoutReceiver) -> Family:
    """A portal that offers delegation (listening on the suite's back channel), Petra, and Sam (8, no login of
    his own) for whom she may act there."""
    from idp import clock
    from idp.accounts.users import create_user
    from idp.delegation import AgeRules, birthday, create_principal, grant_parental
    from idp.extensions import db
    from idp.portals.registry import register

    tag = secrets.token_hex(4)
    redirect_uri = "http://127.0.0.1:9150/callback"
    logged_out = "http://127.0.0.1:9150/logged-out"
    with provider.app.app_context():
        registered = register(f"Patient portal {tag}", [redirect_uri], post_logout_redirect_uris=[logged_out],
                              first_party=True, backchannel_logout_uri=logout_receiver.url,
                              profile={"delegation": "true"})
        parent = create_user(f"petra-{tag}@example.org", PASSWORD, name="Petra Ouder")
        born = birthday(AgeRules.from_settings().today(clock.now()), -8)
        sam = create_principal("Sam Ouder", born, ADMIN, clock.now())
        delegation = grant_parental(ADMIN, parent, sam, [registered.client.client_id],
                                    ["profile", "email", "offline_access"], "passport seen at the desk", clock.now())
        db.session.commit()
        found = Family(Portal(registered.client.client_id, registered.secret, redirect_uri, logged_out,
                              backchannel_logout_uri=logout_receiver.url),
                       delegation.id, parent.email, parent.sub, sam.sub)
        db.session.remove()
    return found


def sign_in_for_sam(browser: Browser, url: str, family: Family) -> str:
    """Petra's password, then "for whom?": Sam. Returns the callback URL."""
    page = browser.visit(url, family.portal.redirect_uri)
    assert not isinstance(page, str), "signed in without a password"
    chooser = browser.submit(page, family.portal.redirect_uri, stage="password", username=family.parent_email,
                             password=PASSWORD)
    assert not isinstance(chooser, str), "no \"for whom?\" page"
    assert 'name="stage" value="choose_person"' in chooser.text
    sam = re.search(r'name="person" value="([0-9]+)"[^>]*>\s*Sam Ouder', chooser.text)
    assert sam, chooser.text[-800:]
    callback = browser.submit(chooser, family.portal.redirect_uri, stage="choose_person", person=sam.group(1))
    assert isinstance(callback, str), f"no callback: {callback.status_code}"
    return callback


def test_idpyoidc_validates_the_id_token_with_act_and_the_refreshed_one(provider, browser, family):
    portal = IdpyPortal(provider.issuer, family.portal)
    url = portal.begin()
    result = portal.finalize(query_of(sign_in_for_sam(browser, url, family)))

    assert "error" not in result, result
    id_token = result["id_token"]  # verified by idpyoidc: signature, iss, aud, exp, nonce, at_hash
    assert id_token["sub"] == family.child_sub
    assert id_token["act"] == {"sub": family.parent_sub, "name": "Petra Ouder"}
    assert id_token["nonce"] == query_of(url)["nonce"]
    assert result["userinfo"]["sub"] == family.child_sub
    assert result["userinfo"]["act"] == {"sub": family.parent_sub, "name": "Petra Ouder"}

    refreshed = portal.refresh(result["state"])
    assert "error" not in refreshed.to_dict(), refreshed.to_dict()
    again = refreshed["__verified_id_token"]
    assert again["sub"] == family.child_sub
    assert again["act"] == {"sub": family.parent_sub, "name": "Petra Ouder"}
    assert again["sid"] == id_token["sid"]


def test_a_revocation_logs_the_portal_out_about_the_child_it_saw(provider, browser, family, logout_receiver):
    from idp import clock
    from idp.delegation import get, revoke
    from idp.extensions import db

    portal = IdpyPortal(provider.issuer, family.portal)
    result = portal.finalize(query_of(sign_in_for_sam(browser, portal.begin(), family)))
    assert "error" not in result, result
    id_token = result["id_token"].to_dict()

    with provider.app.app_context():
        revoke(get(family.delegation_id), "admin-bert", "court order", clock.now())
        db.session.commit()
        db.session.remove()

    token = _logout_token_to(family.portal, logout_receiver)
    strict = StrictRP(provider.issuer, family.portal)
    # The strict RP: a valid logout token (§2.6) naming the session of its ID token: the child's sub, the sid.
    claims = strict.check_logout_token(token, id_token=id_token)
    assert (claims["sub"], claims["sid"]) == (family.child_sub, id_token["sid"])
    # idpyoidc finds its own sign-in for Sam from the token (it looks it up by sub).
    client = portal.handler.issuer2rp[provider.issuer]
    assert backchannel_logout(client, request_args={"logout_token": token}) == result["state"]
    # And the refresh token is refused.
    refused = strict.refresh(portal.handler.get_session_information(result["state"])["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def _logout_token_to(portal: Portal, receiver: LogoutReceiver) -> str:
    """The next logout token addressed to this portal (the receiver is shared by the suite's portals)."""
    for _ in range(20):
        token = receiver.next_token()
        if json.loads(jws.extract_compact(token.encode()).payload).get("aud") == portal.client_id:
            return token
    raise AssertionError(f"no logout token for {portal.client_id}")
