"""SCIM Groups are the portal roles people hold (the `roles` claim): each operation checked on the people's
roles in the database and in the audit trail."""

from __future__ import annotations

from idp.audit import EventTag
from idp.extensions import db
from idp.models import User
from tests.helpers import audit_events
from tests.scim.conftest import GROUP
from tests.scim.test_users import assert_error


def roles_of(*people: User) -> list[list[str]]:
    db.session.expire_all()
    return [list(db.session.get(User, p.id).roles or []) for p in people]


def test_groups_are_the_roles_people_hold(scim, make_user):
    anna = make_user("anna@example.org", name="Anna de Vries", roles=["professional", "planner"])
    bram = make_user("bram@example.org", roles=["professional"])
    make_user("carla@example.org")
    listed = scim.get("/Groups", sortBy="displayName").get_json()
    assert [(g["displayName"], sorted(m["value"] for m in g["members"])) for g in listed["Resources"]] == [
        ("planner", [anna.sub]), ("professional", sorted([anna.sub, bram.sub]))]
    one = scim.get("/Groups/planner").get_json()
    assert one["id"] == "planner"
    assert one["members"] == [{"value": anna.sub, "$ref": f"http://localhost/scim/v2/Users/{anna.sub}",
                               "type": "User", "display": "Anna de Vries"}]
    assert [g["id"] for g in scim.get("/Groups", filter='displayName sw "plan"').get_json()["Resources"]] == [
        "planner"]
    assert_error(scim.get("/Groups/nobody-holds-this"), 404)


def test_post_gives_the_role_to_its_first_members(scim, make_user):
    anna, bram = make_user("anna@example.org"), make_user("bram@example.org")
    response = scim.post("/Groups", {"schemas": [GROUP], "displayName": "wijk_verpleging",
                                     "members": [{"value": anna.sub}, {"value": bram.sub}]})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["id"] == "wijk_verpleging"
    assert roles_of(anna, bram) == [["wijk_verpleging"], ["wijk_verpleging"]]
    assert len(scim.get("/Groups/wijk_verpleging").get_json()["members"]) == 2
    assert_error(scim.get("/Groups/wijkXverpleging"), 404)
    updates = audit_events(EventTag.USER_UPDATED)
    assert [(e.actor, e.details["fields"]) for e in updates] == [(f"scim:{scim.client_id}", ["roles"])] * 2


def test_post_errors(scim, make_user):
    anna = make_user("anna@example.org", roles=["professional"])
    assert_error(scim.post("/Groups", {"schemas": [GROUP], "displayName": "professional",
                                       "members": [{"value": anna.sub}]}), 409, "uniqueness")
    assert_error(scim.post("/Groups", {"schemas": [GROUP], "displayName": "leeg"}), 400, "invalidValue")
    assert_error(scim.post("/Groups", {"schemas": [GROUP], "displayName": "Not A Role",
                                       "members": [{"value": anna.sub}]}), 400, "invalidValue")
    assert_error(scim.post("/Groups", {"schemas": [GROUP], "displayName": "planner",
                                       "members": [{"value": "no-such-person"}]}), 400, "invalidValue")
    assert roles_of(anna) == [["professional"]]


def test_patch_adds_and_removes_members(scim, make_user):
    anna = make_user("anna@example.org", roles=["professional"])
    bram = make_user("bram@example.org", roles=["planner"])
    response = scim.patch("/Groups/professional", [{"op": "add", "path": "members", "value": [{"value": bram.sub}]}])
    assert response.status_code == 204, response.data
    assert roles_of(anna, bram) == [["professional"], ["planner", "professional"]]
    response = scim.patch("/Groups/professional", [{"op": "remove", "path": f'members[value eq "{anna.sub}"]'}])
    assert response.status_code == 204, response.data
    assert roles_of(anna, bram) == [[], ["planner", "professional"]]


def test_put_renames_the_role_and_sets_its_members(scim, make_user):
    anna = make_user("anna@example.org", roles=["professional"])
    bram = make_user("bram@example.org", roles=["professional"])
    carla = make_user("carla@example.org")
    response = scim.put("/Groups/professional", {"schemas": [GROUP], "displayName": "zorgverlener",
                                                 "members": [{"value": anna.sub}, {"value": carla.sub}]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["id"] == "zorgverlener"
    assert roles_of(anna, bram, carla) == [["zorgverlener"], [], ["zorgverlener"]]
    assert_error(scim.get("/Groups/professional"), 404)


def test_delete_takes_the_role_from_everyone(scim, make_user):
    anna = make_user("anna@example.org", roles=["professional", "planner"])
    bram = make_user("bram@example.org", roles=["professional"])
    assert scim.delete("/Groups/professional").status_code == 204
    assert roles_of(anna, bram) == [["planner"], []]
    assert_error(scim.delete("/Groups/professional"), 404)
