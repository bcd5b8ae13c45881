"""Who may use /scim/v2: a bearer token of a client_credentials client with the scim scope (401 without a live
one, 403 without the scope), and a client limited to an organisation sees and changes only its members (anyone
else is 404, as if they did not exist; what an organisation admin may not do is 403)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.models import Client, User
from tests.scim.conftest import ENTERPRISE, USER, ScimClient, token_for
from tests.scim.test_users import assert_error, named, person


def test_without_a_token_is_401_with_a_bearer_challenge(client, make_user):
    anna = make_user("anna@example.org")
    response = client.get("/scim/v2/Users")
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="idp"'
    response = client.delete(f"/scim/v2/Users/{anna.sub}", headers={"Authorization": "Bearer not-a-token"})
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="idp", error="invalid_token"')
    assert person("anna@example.org") is not None


def test_the_service_provider_config_needs_no_token(client):
    response = client.get("/scim/v2/ServiceProviderConfig")
    assert response.status_code == 200
    assert response.get_json()["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_a_token_without_the_scim_scope_is_403_insufficient_scope(client, make_portal):
    service = make_portal("Rapportage", service=True, redirect_uris=[], post_logout_redirect_uris=[])
    scim = ScimClient(client, token_for(client, service, scope=""), service.client_id)
    response = scim.post("/Users", {"schemas": [USER], **named("anna@example.org")})
    assert_error(response, 403)
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert 'scope="scim"' in response.headers["WWW-Authenticate"]
    assert person("anna@example.org") is None


def test_a_persons_token_is_not_a_scim_token(client, rp, make_user):
    anna = make_user("anna@example.org", "correct horse battery")
    tokens = rp.exchange(rp.sign_in(anna.email, "correct horse battery")["code"]).get_json()
    assert_error(client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {tokens['access_token']}"}), 401)


def test_a_client_of_one_organisation_sees_and_changes_only_its_members(make_scim, make_user, make_org):
    ours, theirs = make_org("Zorggroep Avondrood"), make_org("Thuiszorg De Linde")
    anna = make_user("anna@example.org", org=ours, name="Anna")
    bram = make_user("bram@example.org", org=theirs, name="Bram", roles=["professional"])
    loose = make_user("carla@example.org", name="Carla")
    scim = make_scim(organisation=ours)

    assert [r["id"] for r in scim.get("/Users").get_json()["Resources"]] == [anna.sub]
    assert scim.get("/Groups").get_json()["totalResults"] == 0
    for other in (bram, loose):
        assert_error(scim.get(f"/Users/{other.sub}"), 404)
        assert_error(scim.patch(f"/Users/{other.sub}", [{"op": "replace", "path": "active", "value": False}]), 404)
        assert_error(scim.put(f"/Users/{other.sub}", {"schemas": [USER], **named("x@example.org")}), 404)
        assert_error(scim.delete(f"/Users/{other.sub}"), 404)
    assert_error(scim.get("/Groups/professional"), 404)
    assert_error(scim.post("/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                       "displayName": "planner", "members": [{"value": bram.sub}]}),
                 400, "invalidValue")
    db.session.expire_all()
    others = (db.session.get(User, bram.id), db.session.get(User, loose.id))
    assert [(p.disabled_at, p.email, p.roles) for p in others] == [
        (None, "bram@example.org", ["professional"]), (None, "carla@example.org", [])]

    # Its own members it manages as their organisation's admin would: created in the organisation, not erased.
    response = scim.post("/Users", {"schemas": [USER], **named("dora@example.org")})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()[ENTERPRISE] == {"organization": "Zorggroep Avondrood"}
    assert person("dora@example.org").organisation_id == ours.id
    assert_error(scim.post("/Users", {"schemas": [USER, ENTERPRISE], **named("eva@example.org"),
                                      ENTERPRISE: {"organization": "thuiszorg-de-linde"}}), 403)
    assert person("eva@example.org") is None
    assert scim.patch(f"/Users/{anna.sub}", [{"op": "replace", "path": "active", "value": False}]).status_code == 204
    assert person("anna@example.org").disabled_at is not None
    assert_error(scim.delete(f"/Users/{anna.sub}"), 403)
    assert person("anna@example.org") is not None

    # A client for everyone sees them all.
    everyone = make_scim()
    assert everyone.get("/Users").get_json()["totalResults"] == 4


def test_registering_a_scim_client(app, make_org):
    from idp.errors import InvalidInput
    from idp.portals.registry import register

    org = make_org("Zorggroep Avondrood")
    registered = register("HR", [], service=True, scopes=["scim"], organisation=org)
    db.session.commit()
    stored = db.session.scalar(select(Client).where(Client.client_id == registered.client.client_id))
    assert (stored.scope, stored.organisation_id, stored.grant_types) == ("scim", org.id, ["client_credentials"])
    for kwargs in ({"scopes": ["openid"]}, {"organisation": org}, {"scopes": ["scim"], "service": False}):
        with pytest.raises(InvalidInput):
            register("Bad", ["https://portal.example/cb"], **{"service": True, **kwargs})
    db.session.rollback()
    assert db.session.scalar(select(Client.id).where(Client.name == "Bad")) is None
