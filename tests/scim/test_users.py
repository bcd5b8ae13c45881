"""SCIM Users (RFC 7644 §3): each operation through the test client, checked in the database and the audit
trail (actor "scim:<client_id>"), and each error in SCIM's error schema with its status."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from idp.accounts.links import ACTIVATE
from idp.audit import EventTag
from idp.extensions import db
from idp.models import AccountLink, OutboxMessage, Token, User
from tests.helpers import audit_events
from tests.scim.conftest import ENTERPRISE, ERROR, USER


def person(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def named(address: str) -> dict:
    """userName and emails of someone whose userName is their e-mail address."""
    return {"userName": address, "emails": [{"value": address}]}


def new_user(scim, user_name: str, **extra) -> dict:
    extra.setdefault("emails", [{"value": user_name}])
    response = scim.post("/Users", {"schemas": [USER], "userName": user_name, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def assert_error(response, status: int, scim_type: str | None = None) -> dict:
    body = response.get_json()
    assert response.status_code == status, body
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    return body


# --- POST -------------------------------------------------------------------------------------------

def test_post_creates_the_person_and_sends_an_activation_link_as_an_admin_would(scim, make_org):
    org = make_org("Zorggroep Avondrood", ("avondrood.example",))
    response = scim.post("/Users", {
        "schemas": [USER, ENTERPRISE], "userName": "bert.jansen", "externalId": "HR-1001",
        "name": {"givenName": "Bert", "familyName": "Jansen"},
        "emails": [{"value": "bert@avondrood.example", "primary": True}],
        ENTERPRISE: {"organization": "zorggroep-avondrood"}})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    stored = person("bert@avondrood.example")
    assert stored is not None
    assert (stored.username, stored.given_name, stored.family_name, stored.name, stored.external_id) == (
        "bert.jansen", "Bert", "Jansen", "Bert Jansen", "HR-1001")
    assert stored.organisation_id == org.id
    assert stored.password_hash is None and stored.activation_pending and not stored.email_verified
    assert body["id"] == stored.sub
    assert body[ENTERPRISE] == {"organization": "Zorggroep Avondrood"}
    assert response.headers["Location"].endswith(f"/scim/v2/Users/{stored.sub}")
    assert response.headers["ETag"] == body["meta"]["version"]
    link = db.session.scalar(select(AccountLink).where(AccountLink.user_id == stored.id))
    assert link is not None and link.purpose == ACTIVATE
    assert db.session.scalar(select(OutboxMessage.template).where(OutboxMessage.user_id == stored.id)) == "activation"
    created = [e for e in audit_events(EventTag.USER_CREATED) if e.subject_user_id == stored.id]
    assert [e.actor for e in created] == [f"scim:{scim.client_id}"]
    assert [e.actor for e in audit_events(EventTag.ACTIVATION_SENT)] == [f"scim:{scim.client_id}"]


def test_a_user_name_that_is_the_address_is_no_username_of_its_own(scim):
    body = new_user(scim, "carla@example.org", name={"formatted": "Carla de Wit"})
    stored = person("carla@example.org")
    assert stored is not None and stored.username is None and stored.name == "Carla de Wit"
    assert body["userName"] == "carla@example.org"
    assert body["emails"] == [{"value": "carla@example.org"}]


def test_post_inactive_creates_a_disabled_person_without_a_link(scim):
    new_user(scim, "dirk@example.org", active=False)
    stored = person("dirk@example.org")
    assert stored is not None and stored.disabled_at is not None
    assert db.session.scalar(select(AccountLink).where(AccountLink.user_id == stored.id)) is None


def test_an_unknown_organisation_is_made_as_the_cli_makes_it(scim):
    new_user(scim, "eva@example.org",
             **{"schemas": [USER, ENTERPRISE], ENTERPRISE: {"organization": "Huisartsen Noord"}})
    stored = person("eva@example.org")
    assert stored is not None and stored.org is not None
    assert (stored.org.code, stored.org.name, stored.org.kind) == ("huisartsen-noord", "Huisartsen Noord", "other")
    assert [e.actor for e in audit_events(EventTag.ORGANISATION_CREATED)] == [f"scim:{scim.client_id}"]


def test_a_taken_user_name_is_409_uniqueness_and_adds_nobody(scim, make_user):
    make_user("anna@example.org", username="anna")
    body = assert_error(scim.post("/Users", {"schemas": [USER], "userName": "anna",
                                             "emails": [{"value": "other@example.org"}]}), 409, "uniqueness")
    assert "anna" in body["detail"]
    assert person("other@example.org") is None
    assert_error(scim.post("/Users", {"schemas": [USER], "userName": "ANNA@example.org",
                                      "emails": [{"value": "ANNA@example.org"}]}), 409, "uniqueness")


def test_without_an_address_or_with_a_bad_one_is_400_invalid_value(scim):
    assert_error(scim.post("/Users", {"schemas": [USER], "userName": "frank"}), 400, "invalidValue")
    assert_error(scim.post("/Users", {"schemas": [USER], "userName": "frank", "emails": [{"value": "not-an-address"}]}),
                 400, "invalidValue")
    assert db.session.scalar(select(User.id).where(User.username == "frank")) is None


def test_an_address_outside_the_organisations_domains_is_400(scim, make_org):
    make_org("Thuiszorg De Linde", ("delinde.example",))
    assert_error(scim.post("/Users", {"schemas": [USER, ENTERPRISE], "userName": "gijs@elders.example",
                                      "emails": [{"value": "gijs@elders.example"}],
                                      ENTERPRISE: {"organization": "thuiszorg-de-linde"}}), 400, "invalidValue")
    assert person("gijs@elders.example") is None


# --- GET, search --------------------------------------------------------------------------------------

def test_get_by_id_and_404_for_anyone_else(scim, make_user):
    anna = make_user("anna@example.org", name="Anna de Vries", roles=["professional"])
    response = scim.get(f"/Users/{anna.sub}")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["userName"], body["displayName"], body["active"]) == ("anna@example.org", "Anna de Vries", True)
    assert body["groups"] == [{"value": "professional", "$ref": "http://localhost/scim/v2/Groups/professional",
                               "display": "professional"}]
    assert_error(scim.get("/Users/no-such-person"), 404)


def test_filters(scim, make_user, make_org):
    org = make_org("Zorggroep Avondrood")
    make_user("anna@example.org", username="anna", given_name="Anna", family_name="de Vries", org=org)
    make_user("bram@example.org", username="bram", given_name="Bram", family_name="Dekker")
    carla = make_user("carla@zorg.example", username="carla", given_name="Carla", family_name="Bakker")
    carla.external_id = "HR-7"
    db.session.commit()
    new_user(scim, "dora@example.org", active=False, name={"familyName": "Dijk"})

    def names(scim_filter: str) -> list[str]:
        response = scim.get("/Users", filter=scim_filter, sortBy="userName")
        assert response.status_code == 200, response.get_json()
        return [r["userName"] for r in response.get_json()["Resources"]]

    assert names('userName eq "ANNA"') == ["anna"]
    assert names('userName sw "b"') == ["bram"]
    assert names('userName co "r"') == ["bram", "carla", "dora@example.org"]
    assert names('emails.value co "zorg.example"') == ["carla"]
    assert names('emails.value eq "bram@example.org"') == ["bram"]
    assert names('name.familyName sw "D"') == ["anna", "bram", "dora@example.org"]
    assert names('name.familyName eq "dekker"') == ["bram"]
    assert names('externalId eq "HR-7"') == ["carla"]
    assert names("active eq false") == ["dora@example.org"]
    assert names('name.familyName sw "D" and active eq true') == ["anna", "bram"]
    assert names(f'{ENTERPRISE}:organization eq "Zorggroep Avondrood"') == ["anna"]
    assert_error(scim.get("/Users", filter='userName eq'), 400, "invalidFilter")
    assert_error(scim.get("/Users", filter='userName xx "a"'), 400, "invalidFilter")


def test_sorting_and_paging(scim, make_user):
    for name in ("dora", "anna", "carla", "bram", "eva"):
        make_user(f"{name}@example.org", username=name)
    response = scim.get("/Users", sortBy="userName", sortOrder="descending", startIndex="2", count="2")
    body = response.get_json()
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (5, 2, 2)
    assert [r["userName"] for r in body["Resources"]] == ["dora", "carla"]
    assert [r["userName"] for r in scim.get("/Users", sortBy="userName", startIndex="5").get_json()["Resources"]] == [
        "eva"]
    assert scim.get("/Users", count="0").get_json()["totalResults"] == 5


# --- PATCH --------------------------------------------------------------------------------------------

def test_patch_replace_add_remove(scim, make_user):
    anna = make_user("anna@example.org", given_name="Anna", family_name="de Vries")
    response = scim.patch(f"/Users/{anna.sub}", [
        {"op": "replace", "path": "name.familyName", "value": "Jansen"},
        {"op": "add", "path": "externalId", "value": "HR-42"},
        {"op": "replace", "path": "userName", "value": "anna.j"}])
    assert response.status_code == 204, response.data  # RFC 7644 §3.5.2: no body unless attributes are asked
    stored = person("anna@example.org")
    assert stored is not None
    assert (stored.family_name, stored.given_name, stored.external_id, stored.username) == (
        "Jansen", "Anna", "HR-42", "anna.j")
    assert stored.name == "Anna Jansen"  # the whole name follows its parts
    response = scim.patch(f"/Users/{anna.sub}", [{"op": "remove", "path": "externalId"}], )
    assert response.status_code == 204, response.data
    assert person("anna@example.org").external_id is None
    updates = [e for e in audit_events(EventTag.USER_UPDATED) if e.subject_user_id == anna.id]
    assert [(e.actor, e.details["fields"]) for e in updates] == [
        (f"scim:{scim.client_id}", ["external_id", "family_name", "name", "username"]),
        (f"scim:{scim.client_id}", ["external_id"])]


def test_patch_active_false_disables_and_true_enables(scim, make_user, rp):
    anna = make_user("anna@example.org", "correct horse battery")
    tokens = rp.exchange(rp.sign_in(anna.email, "correct horse battery")["code"]).get_json()
    response = scim.send("PATCH", f"/Users/{anna.sub}?attributes=active", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": False}]})
    assert response.status_code == 200 and response.get_json()["active"] is False
    stored = person("anna@example.org")
    assert stored is not None and stored.disabled_at is not None
    assert db.session.scalar(select(Token.revoked_at).where(Token.user_id == anna.id)) is not None
    assert rp.client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 401
    assert [e.actor for e in audit_events(EventTag.USER_DISABLED)] == [f"scim:{scim.client_id}"]
    response = scim.patch(f"/Users/{anna.sub}", [{"op": "replace", "value": {"active": True}}])
    assert response.status_code == 204
    assert person("anna@example.org").disabled_at is None
    assert [e.actor for e in audit_events(EventTag.USER_ENABLED)] == [f"scim:{scim.client_id}"]


def test_patch_to_a_taken_address_is_409_and_changes_nothing(scim, make_user):
    make_user("anna@example.org")
    bram = make_user("bram@example.org")
    assert_error(scim.patch(f"/Users/{bram.sub}", [{"op": "replace", "path": "emails",
                                                    "value": [{"value": "anna@example.org"}]}]), 409, "uniqueness")
    assert person("bram@example.org") is not None


def test_patch_to_another_organisation_moves_the_person(scim, make_user, make_org):
    first, second = make_org("Zorggroep Avondrood"), make_org("Thuiszorg De Linde")
    anna = make_user("anna@example.org", org=first)
    response = scim.patch(f"/Users/{anna.sub}", [{"op": "replace", "path": f"{ENTERPRISE}:organization",
                                                  "value": "thuiszorg-de-linde"}])
    assert response.status_code == 204, response.data
    assert person("anna@example.org").organisation_id == second.id
    assert [e.actor for e in audit_events(EventTag.ORGANISATION_MEMBER_ADDED)] == [f"scim:{scim.client_id}"]


def test_a_bad_patch_is_400(scim, make_user):
    anna = make_user("anna@example.org")
    assert_error(scim.patch(f"/Users/{anna.sub}", [{"op": "replace", "path": "name.familyName",
                                                    "value": "x" * 101}]), 400, "invalidValue")
    assert person("anna@example.org").family_name is None
    response = scim.patch(f"/Users/{anna.sub}", [{"op": "explode", "path": "userName", "value": "x"}])
    assert response.status_code == 400


# --- PUT, ETags ---------------------------------------------------------------------------------------

def test_put_replaces_the_person(scim, make_user):
    anna = make_user("anna@example.org", given_name="Anna", family_name="de Vries", username="anna")
    body = scim.get(f"/Users/{anna.sub}").get_json()
    response = scim.put(f"/Users/{anna.sub}", {
        "schemas": [USER], "userName": "anna.dv",
        "emails": [{"value": "anna@zorg.example", "type": "work", "primary": True}],
        "name": {"formatted": "Anna de Vries-Bakker"}, "active": True},
        headers={"If-Match": body["meta"]["version"]})
    assert response.status_code == 200, response.get_json()
    # Anna has signed in: the new address is hers once she confirms it from the link sent there (as in the console).
    stored = person("anna@example.org")
    assert stored is not None
    assert (stored.username, stored.name, stored.given_name, stored.family_name, stored.email_verified) == (
        "anna.dv", "Anna de Vries-Bakker", None, None, True)
    link = db.session.scalar(select(AccountLink).where(AccountLink.user_id == stored.id))
    assert link is not None and link.purpose == "email_change"
    assert response.get_json()["emails"] == [{"value": "anna@example.org"}]
    assert response.get_json()["meta"]["version"] != body["meta"]["version"]


def test_a_stale_etag_is_412_and_changes_nothing(scim, make_user):
    anna = make_user("anna@example.org")
    old = scim.get(f"/Users/{anna.sub}").get_json()["meta"]["version"]
    assert scim.get(f"/Users/{anna.sub}", headers={"If-None-Match": old}).status_code == 304
    assert scim.patch(f"/Users/{anna.sub}", [{"op": "add", "path": "externalId", "value": "HR-1"}],
                      headers={"If-Match": old}).status_code == 204
    assert_error(scim.patch(f"/Users/{anna.sub}", [{"op": "replace", "path": "externalId", "value": "HR-2"}],
                            headers={"If-Match": old}), 412)
    assert_error(scim.put(f"/Users/{anna.sub}", {"schemas": [USER], **named("anna@example.org")},
                          headers={"If-Match": old}), 412)
    assert_error(scim.delete(f"/Users/{anna.sub}", headers={"If-Match": old}), 412)
    stored = person("anna@example.org")
    assert stored is not None and stored.external_id == "HR-1"


# --- DELETE -------------------------------------------------------------------------------------------

def test_delete_erases_the_person(scim, make_user):
    anna = make_user("anna@example.org", name="Anna de Vries", username="anna")
    response = scim.delete(f"/Users/{anna.sub}")
    assert response.status_code == 204
    db.session.expire_all()
    stored = db.session.get(User, anna.id)
    assert stored.email == f"erased-{anna.sub}@erased.invalid"
    assert (stored.name, stored.username, stored.disabled_at is not None) == (None, None, True)
    assert [e.actor for e in audit_events(EventTag.USER_ERASED)] == [f"scim:{scim.client_id}"]
    assert_error(scim.get(f"/Users/{anna.sub}"), 404)
    assert_error(scim.delete(f"/Users/{anna.sub}"), 404)
    assert scim.get("/Users").get_json()["totalResults"] == 0


def test_an_expired_token_is_refused_after_it_expires(scim, make_user, time_machine, frozen):
    make_user("anna@example.org")
    assert scim.get("/Users").status_code == 200
    time_machine.shift(timedelta(hours=2))
    response = scim.get("/Users")
    assert_error(response, 401)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
