"""The `org` scope (issue 16 part 1): the organisation a person is a member of, as {"id": code, "name": name},
in the ID token and at userinfo when the portal asks it; never without the scope, nor to a portal whose
profile withholds it, nor for someone who belongs to no organisation."""

from __future__ import annotations

from idp import clock
from idp.accounts import admins, organisations
from idp.extensions import db
from idp.portals import registry
from tests.helpers import RelyingParty
from tests.mfa_helpers import SignIn

PASSWORD = "correct horse battery"
ORG = {"id": "avondrood", "name": "Zorggroep Avondrood"}


def member(make_user, email: str = "evv@avondrood.example"):
    org = organisations.create(admins.operator("beheer"), "Zorggroep Avondrood", "care_provider", clock.now(),
                               code="avondrood", email_domains=["avondrood.example"])
    return make_user(email, PASSWORD, org=org)


def test_org_comes_with_the_org_scope(client, rp, make_user):
    person = member(make_user)
    tokens = rp.tokens(person.email, PASSWORD, scope="openid org")
    assert rp.decode_id_token(tokens["id_token"])["org"] == ORG
    assert rp.userinfo(tokens["access_token"]).get_json()["org"] == ORG


def test_without_the_scope_no_org(client, rp, make_user):
    person = member(make_user)
    tokens = rp.tokens(person.email, PASSWORD, scope="openid profile roles")
    assert "org" not in rp.decode_id_token(tokens["id_token"])
    assert "org" not in rp.userinfo(tokens["access_token"]).get_json()


def test_no_organisation_no_org_claim(client, rp, user):
    tokens = rp.tokens(user.email, PASSWORD, scope="openid org")
    assert "org" not in rp.decode_id_token(tokens["id_token"])
    assert "org" not in rp.userinfo(tokens["access_token"]).get_json()


def test_a_portal_that_withholds_it_never_gets_it(client, make_portal, make_user):
    person = member(make_user)
    portal = make_portal("Webwinkel")
    registry.update(portal, profile={"withheld_claims": "org"})
    db.session.commit()
    withheld = RelyingParty(client, portal)
    tokens = withheld.tokens(person.email, PASSWORD, scope="openid email org")
    claims = withheld.decode_id_token(tokens["id_token"])
    assert "org" not in claims and claims["email"] == person.email
    assert "org" not in withheld.userinfo(tokens["access_token"]).get_json()


def test_the_consent_page_names_it_unless_withheld(client, make_portal, make_user):
    person = member(make_user)
    for withhold, shown in (("", True), ("org", False)):
        shop = make_portal("Thuiszorgwinkel", first_party=False)
        registry.update(shop, profile={"withheld_claims": withhold})
        db.session.commit()
        client.delete_cookie("idp_sso")
        sign_in = SignIn(client, RelyingParty(client, shop).login_url(ui_locales="en", scope="openid org"))
        sign_in.password(person.email)
        page = sign_in.page()
        assert sign_in.stage == "consent"
        assert ("The organisation you belong to" in page) is shown


def test_discovery_names_the_scope_and_the_claim(client):
    doc = client.get("/.well-known/openid-configuration").get_json()
    assert "org" in doc["scopes_supported"] and "org" in doc["claims_supported"]


def test_a_portal_whose_scope_lacks_org_does_not_get_it(client, make_portal, make_user):
    """What a portal may ask is its registered scope (the migration adds org where roles is); asked beyond
    it, the scope is narrowed and the claim stays out."""
    person = member(make_user)
    old = make_portal("Oud portaal")
    old.scope = "openid profile email phone roles offline_access"
    db.session.commit()
    narrow = RelyingParty(client, old)
    tokens = narrow.tokens(person.email, PASSWORD, scope="openid roles org")
    claims = narrow.decode_id_token(tokens["id_token"])
    assert claims["roles"] == [] and "org" not in claims
    assert "org" not in narrow.userinfo(tokens["access_token"]).get_json()
