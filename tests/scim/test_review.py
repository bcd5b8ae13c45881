"""The SCIM door attacked (security review): tokens that must not open it, a provisioning client that must not
reach an admin's sign-in or another organisation's people, input that must not cost the server or get stored,
and every refusal in SCIM's error schema. Each asserts what is in the database (or what the list shows), not
only the status."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from idp import clock
from idp.accounts import admins
from idp.accounts.links import ACTIVATE, EMAIL_CHANGE
from idp.extensions import db
from idp.models import AccountLink, Client, Organisation, OutboxMessage, User
from idp.oidc.lookup import find_token
from idp.portals import registry
from idp.runtime import crypto
from idp.scim import resources
from tests.scim.conftest import ENTERPRISE, GROUP, SCIM, USER
from tests.scim.test_groups import roles_of
from tests.scim.test_users import assert_error, named, new_user, person


def mails(*templates: str) -> list[tuple[str, str]]:
    """(template, recipient) of the messages queued with these templates, in order."""
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.template.in_(templates))
                              .order_by(OutboxMessage.id))
    return [(m.template, crypto().decrypt(m.recipient_encrypted)) for m in rows]


def live_links(user: User, purpose: str) -> list[AccountLink]:
    db.session.expire_all()
    return list(db.session.scalars(select(AccountLink).where(
        AccountLink.user_id == user.id, AccountLink.purpose == purpose, AccountLink.used_at.is_(None),
        AccountLink.invalidated_at.is_(None))))


# --- tokens -------------------------------------------------------------------------------------------------

def test_a_disabled_clients_token_is_401_invalid_token(scim):
    stored = db.session.scalar(select(Client).where(Client.client_id == scim.client_id))
    registry.disable(stored, clock.now())
    db.session.commit()
    response = scim.post("/Users", {"schemas": [USER], **named("anna@example.org")})
    body = assert_error(response, 401)
    assert body["detail"] == "The client is disabled."
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="idp", error="invalid_token"')
    assert person("anna@example.org") is None


def test_a_refresh_token_revoked_token_or_token_in_the_query_is_refused(client, scim, make_user, make_portal):
    anna = make_user("anna@example.org")
    response = client.get("/scim/v2/Users", query_string={"access_token": scim.token})
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="idp"'
    token = find_token(scim.token, "access_token")
    token.revoked_at = clock.now()
    db.session.commit()
    response = scim.delete(f"/Users/{anna.sub}")
    assert_error(response, 401)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert person("anna@example.org") is not None


# --- an admin's account -----------------------------------------------------------------------------------

def test_a_provisioning_client_does_not_take_over_an_admins_account(scim, make_user, make_org):
    boss = make_user("boss@example.org", name="Boss")
    admins.grant(admins.operator("test"), boss, admins.DEPLOYMENT, clock.now())
    db.session.commit()
    for operations in ([{"op": "replace", "path": "userName", "value": "bossy"}],
                       [{"op": "replace", "path": "userName", "value": "evil@attacker.example"},
                        {"op": "replace", "path": "emails", "value": [{"value": "evil@attacker.example"}]}],
                       [{"op": "replace", "path": "name.formatted", "value": "Mallory"}]):
        assert_error(scim.patch(f"/Users/{boss.sub}", operations), 403)
    assert_error(scim.put(f"/Users/{boss.sub}", {"schemas": [USER], **named("evil@attacker.example")}), 403)
    assert_error(scim.post("/Groups", {"schemas": [GROUP], "displayName": "admin",
                                       "members": [{"value": boss.sub}]}), 403)
    assert_error(scim.delete(f"/Users/{boss.sub}"), 403)
    stored = person("boss@example.org")
    assert (stored.username, stored.email, stored.name, stored.roles) == (None, "boss@example.org", "Boss", [])
    assert db.session.scalar(select(AccountLink.id).where(AccountLink.user_id == boss.id)) is None
    assert mails("email_change_link", "email_change_requested") == []

    # A leaver is disabled; enabling the account again is the console's.
    assert scim.patch(f"/Users/{boss.sub}", [{"op": "replace", "path": "active", "value": False}]).status_code == 204
    assert person("boss@example.org").disabled_at is not None
    assert_error(scim.patch(f"/Users/{boss.sub}", [{"op": "replace", "path": "active", "value": True}]), 403)
    assert person("boss@example.org").disabled_at is not None


# --- e-mail changes -------------------------------------------------------------------------------------

def test_a_new_address_for_someone_who_signed_in_is_confirmed_by_them(scim, make_user):
    anna = make_user("anna@example.org")
    response = scim.patch(f"/Users/{anna.sub}", [
        {"op": "replace", "path": "emails", "value": [{"value": "mallory@attacker.example"}]},
        {"op": "replace", "path": "userName", "value": "mallory@attacker.example"}])
    assert response.status_code == 204, response.data
    stored = person("anna@example.org")
    assert stored is not None and stored.email_verified is True
    assert person("mallory@attacker.example") is None
    assert len(live_links(anna, EMAIL_CHANGE)) == 1
    assert mails("email_change_link", "email_change_requested") == [
        ("email_change_link", "mallory@attacker.example"), ("email_change_requested", "anna@example.org")]
    assert scim.get(f"/Users/{anna.sub}").get_json()["emails"] == [{"value": "anna@example.org"}]
    # The next sync sends the same again: no second pair of mails, the link sent stays the one.
    sent = live_links(anna, EMAIL_CHANGE)[0].id
    assert scim.put(f"/Users/{anna.sub}", {"schemas": [USER], **named("mallory@attacker.example")}).status_code == 200
    assert [link.id for link in live_links(anna, EMAIL_CHANGE)] == [sent]
    assert len(mails("email_change_link", "email_change_requested")) == 2


def test_a_corrected_address_before_activation_moves_the_activation_link(scim):
    created = new_user(scim, "anna@exmaple.org")  # mistyped: a stranger may read that mailbox
    first = live_links(person("anna@exmaple.org"), ACTIVATE)
    assert len(first) == 1
    response = scim.patch(f"/Users/{created['id']}", [
        {"op": "replace", "path": "emails", "value": [{"value": "anna@example.org"}]},
        {"op": "replace", "path": "userName", "value": "anna@example.org"}])
    assert response.status_code == 204, response.data
    stored = person("anna@example.org")
    assert stored is not None and stored.email_verified is False
    links = live_links(stored, ACTIVATE)
    assert [link.id for link in links] != [first[0].id] and len(links) == 1
    assert db.session.get(AccountLink, first[0].id).invalidated_at is not None
    assert mails("activation") == [("activation", "anna@exmaple.org"), ("activation", "anna@example.org")]


# --- another organisation's people --------------------------------------------------------------------------

def test_a_limited_client_never_touches_another_organisations_role_holders(make_scim, make_user, make_org):
    ours, theirs = make_org("Zorggroep Avondrood"), make_org("Thuiszorg De Linde")
    anna = make_user("anna@example.org", org=ours, roles=["professional"])
    bram = make_user("bram@example.org", org=theirs, roles=["professional"])
    scim = make_scim(organisation=ours)
    listed = scim.get("/Groups").get_json()
    assert [(g["id"], [m["value"] for m in g["members"]]) for g in listed["Resources"]] == [
        ("professional", [anna.sub])]
    assert scim.get("/Users", filter='emails.value eq "bram@example.org"').get_json()["totalResults"] == 0
    assert scim.get("/Users", filter='userName co "example"').get_json()["totalResults"] == 1
    assert_error(scim.patch("/Groups/professional", [{"op": "add", "path": "members",
                                                      "value": [{"value": bram.sub}]}]), 400, "invalidValue")
    assert_error(scim.put("/Groups/professional", {"schemas": [GROUP], "displayName": "professional",
                                                    "members": [{"value": bram.sub}]}), 400, "invalidValue")
    assert scim.put("/Groups/professional", {"schemas": [GROUP], "displayName": "professional",
                                             "members": []}).status_code == 200
    assert roles_of(anna, bram) == [[], ["professional"]]
    make_user("carla@example.org", org=ours, roles=["planner"])
    bram_planner = db.session.get(User, bram.id)
    bram_planner.roles = ["planner", "professional"]
    db.session.commit()
    assert scim.delete("/Groups/planner").status_code == 204
    assert roles_of(bram) == [["planner", "professional"]]
    for value in ("Thuiszorg De Linde", "Nieuwe Organisatie"):
        assert_error(scim.patch(f"/Users/{anna.sub}", [{"op": "replace", "path": f"{ENTERPRISE}:organization",
                                                        "value": value}]), 403)
    assert person("anna@example.org").organisation_id == ours.id
    assert db.session.scalar(select(Organisation.id).where(Organisation.name == "Nieuwe Organisatie")) is None


# --- input --------------------------------------------------------------------------------------------------

def test_control_characters_are_refused_and_nothing_is_stored(scim, make_user):
    for extra in ({"name": {"formatted": "Anna\x00de Vries"}}, {"name": {"givenName": "An\x1b[31mna"}},
                  {"externalId": "HR\x07-1"},
                  {"schemas": [USER, ENTERPRISE], ENTERPRISE: {"organization": "Zorg\x00"}}):
        body = {"schemas": [USER], **named("anna@example.org"), **extra}
        assert_error(scim.post("/Users", body), 400, "invalidValue")
    assert person("anna@example.org") is None
    bram = make_user("bram@example.org", name="Bram")
    assert_error(scim.patch(f"/Users/{bram.sub}", [{"op": "replace", "path": "name.formatted",
                                                    "value": "Bram\u0085Bakker"}]), 400, "invalidValue")
    assert person("bram@example.org").name == "Bram"
    # Nor do they reach a query (PostgreSQL refuses a NUL: that was a 500).
    assert_error(scim.patch(f"/Users/{bram.sub}", [{"op": "replace", "path": "emails",
                                                    "value": [{"value": "b\x00@example.org"}]}]), 400, "invalidValue")
    assert_error(scim.get("/Users/a\x00b"), 404)
    assert_error(scim.get("/Groups/a\x00b"), 404)
    assert_error(scim.post("/Groups", {"schemas": [GROUP], "displayName": "a\x00b", "members": [{"value": bram.sub}]}),
                 400, "invalidValue")
    assert_error(scim.post("/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                        "filter": 'userName eq "a\x00"'}), 400, "invalidFilter")
    stored = person("bram@example.org")
    assert (stored.email, stored.roles) == ("bram@example.org", [])


def test_a_page_holds_at_most_max_results(scim, make_user, monkeypatch):
    monkeypatch.setattr(resources, "MAX_RESULTS", 2)
    for n in range(3):
        make_user(f"user{n}@example.org")
    for params in ({}, {"count": 10**9}, {"count": 3}):
        listed = scim.get("/Users", **params).get_json()
        assert (listed["totalResults"], len(listed["Resources"])) == (3, 2)
    searched = scim.post("/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                      "count": 1_000_000}).get_json()
    assert (searched["totalResults"], len(searched["Resources"])) == (3, 2)
    listed = scim.get("/Users", count=-1, startIndex=-5).get_json()
    assert (listed["totalResults"], listed["Resources"]) == (3, [])


def test_a_long_filter_is_400_invalid_filter(scim, make_user):
    make_user("anna@example.org")
    long_filter = " or ".join(['userName eq "x"'] * 100)
    body = assert_error(scim.get("/Users", filter=long_filter), 400, "invalidFilter")
    assert "1000" in body["detail"]
    assert_error(scim.post("/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                        "filter": long_filter}), 400, "invalidFilter")
    assert scim.get("/Users", filter=" or ".join(['userName eq "x"'] * 10)).get_json()["totalResults"] == 0


def test_what_the_edge_refuses_is_a_scim_error(client, scim, make_user):
    anna = make_user("anna@example.org")
    response = scim.get("/Users", filter='userName eq "a\x01"')
    assert response.headers["Content-Type"] == SCIM
    assert_error(response, 400)
    huge = json.dumps({"schemas": [USER], **named("bram@example.org"), "name": {"formatted": "x" * 70_000}})
    response = client.put(f"/scim/v2/Users/{anna.sub}", data=huge, content_type=SCIM,
                          headers={"Authorization": f"Bearer {scim.token}"})
    assert response.headers["Content-Type"] == SCIM
    assert_error(response, 413)
    assert person("anna@example.org").name is None
    nested = client.post("/scim/v2/Users", data="[" * 5000 + "]" * 5000, content_type=SCIM,
                         headers={"Authorization": f"Bearer {scim.token}"})
    assert_error(nested, 400, "invalidSyntax")
    plain = client.post("/scim/v2/Users", data=json.dumps({"schemas": [USER], **named("bram@example.org")}),
                        content_type="text/plain", headers={"Authorization": f"Bearer {scim.token}"})
    assert_error(plain, 415)
    assert person("bram@example.org") is None


def test_a_path_no_route_takes_is_a_scim_404(scim, make_user):
    """Flask's path converter takes no newline, so such an id (and /scim/v2/) matched no route: that 404 came
    from the app's handler in OAuth's error shape, not SCIM's (found by tests/api/test_schemathesis.py)."""
    anna = make_user("anna@example.org")
    for response in (scim.get(f"/Users/{anna.sub}\nx"), scim.get("/Groups/x\ny"), scim.get("/"),
                     scim.delete(f"/Users/{anna.sub}\nx")):
        assert response.headers["Content-Type"] == SCIM
        assert_error(response, 404)
    refused = scim.get("/Users/\n", filter="a\x01")  # refused before routing, by the control character
    assert refused.headers["Content-Type"] == SCIM
    assert_error(refused, 400)
    assert person("anna@example.org") is not None


def test_a_user_name_that_is_someone_elses_address_is_refused(scim, make_user):
    make_user("anna@example.org")
    assert_error(scim.post("/Users", {"schemas": [USER], "userName": "anna@example.org",
                                      "emails": [{"value": "mallory@example.org"}]}), 400, "invalidValue")
    assert_error(scim.post("/Users", {"schemas": [USER], "userName": "ANNA@example.org",
                                      "emails": [{"value": "anna@example.org"}]}), 409, "uniqueness")
    assert person("mallory@example.org") is None
    assert db.session.scalar(select(User.id).where(User.username.ilike("anna@example.org"))) is None



def test_an_organisation_with_a_scim_client_is_not_removed(make_scim, make_org):
    from idp.accounts import organisations
    from idp.errors import InvalidInput

    ours = make_org("Zorggroep Avondrood")
    scim = make_scim(organisation=ours)
    with pytest.raises(InvalidInput, match="still has a SCIM client limited to it"):
        organisations.remove(admins.operator("test"), ours)
    db.session.rollback()
    assert db.session.get(Organisation, ours.id) is not None
    stored = db.session.scalar(select(Client).where(Client.client_id == scim.client_id))
    assert stored.organisation_id == ours.id
