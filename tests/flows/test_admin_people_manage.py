"""Issue 16 part 2: editing a person (name, e-mail address by link, portal roles), erasing them, the organisations
pages and the admin roles, through the test client, with the rows they leave."""

from __future__ import annotations

import pytest
from sqlalchemy import JSON, String, Text, func, select

from idp.accounts.users import find_by_login, phone_of
from idp.audit import EventTag
from idp.extensions import db
from idp.models import AdminRole, AuditEvent, Organisation, User
from tests.flows import test_admin_console as console
from tests.flows.account_helpers import path
from tests.flows.test_admin_console import fresh, rows, session_for, token_of, words
from tests.helpers import audit_events, browser, csrf_token
from tests.mfa_helpers import messages

client, world = console.client, console.world  # the console's fixtures

# --- edit ---------------------------------------------------------------------------------------


def test_an_organisation_admin_edits_name_and_roles_and_the_new_address_waits_for_the_person(app, client, world):
    admin, pro = world["org_admin"], world["pro"]
    session_for(client, admin)
    url = f"/admin/people/{pro.sub}/edit"
    page = client.get(url)
    assert 'value="piet@noord.example"' in page.get_data(as_text=True) and "Portal roles" in words(page)
    assert "Mobile number" not in words(page)  # only the person changes it
    response = client.post(url, data={"csrf_token": token_of(client, url), "name": "Piet Pieters",
                                      "email": "p.pieters@noord.example", "roles": "professional, planner",
                                      "phone": "+31699999999"})
    assert response.status_code == 302 and path(response.location) == f"/admin/people/{pro.sub}"
    changed = fresh(User, pro.id)
    assert changed.name == "Piet Pieters" and changed.roles == ["planner", "professional"]
    assert changed.email == "piet@noord.example"  # until the person opens the link
    assert phone_of(changed) == "+31612000004"
    [link_mail] = messages(app, to="p.pieters@noord.example")
    assert link_mail["template"] == "email_change_link"
    assert [m["template"] for m in messages(app, to="piet@noord.example")] == ["email_change_requested"]
    [updated] = audit_events(EventTag.USER_UPDATED)
    assert updated.actor == f"user:{admin.sub}" and updated.details["fields"] == ["name", "roles"]

    # The person opens the link: then it is their address.
    link = path(next(w for w in link_mail["body"].split() if "/account/email/" in w))
    theirs = browser(app)
    confirm = theirs.get(link)
    theirs.post(link, data={"csrf_token": csrf_token(confirm.get_data(as_text=True))})
    assert fresh(User, pro.id).email == "p.pieters@noord.example"


def test_edit_errors_stand_beside_the_field_and_change_nothing(app, client, world):
    admin, pro = world["org_admin"], world["pro"]
    pro.org.email_domains = ["noord.example"]
    db.session.commit()
    session_for(client, admin)
    url = f"/admin/people/{pro.sub}/edit"
    for email, said in (("piet@zuid.example", "not at one of the organisation's e-mail domains"),
                        ("olga@noord.example", "Another account already has this e-mail address"),
                        ("no address", "Enter a valid e-mail address")):
        response = client.post(url, data={"csrf_token": token_of(client, url), "name": "Nieuwe Naam",
                                          "email": email, "roles": ""})
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and said in words(response)
        assert 'id="email-error"' in html and f'value="{email}"' in html and 'value="Nieuwe Naam"' in html
    assert fresh(User, pro.id).name == "Piet" and messages(app) == []


def test_the_helpdesk_may_not_edit_and_no_one_else_sets_roles_where_the_rule_forbids(app, client, world):
    helpdesk, pro = world["helpdesk"], world["pro"]
    session_for(client, helpdesk)
    token = token_of(client, "/account/profile")
    url = f"/admin/people/{pro.sub}/edit"
    assert client.get(url).status_code == 403
    assert client.post(url, data={"csrf_token": token, "name": "X", "email": pro.email}).status_code == 403
    assert fresh(User, pro.id).name == "Piet"


# --- erase --------------------------------------------------------------------------------------


def _personal_strings(person: User) -> list[str]:
    return [s for s in (person.name, person.email, person.username, phone_of(person)) if s]


def _tables_holding(strings: list[str]) -> list[str]:
    """Every table and column of db.metadata where one of the strings occurs (text and JSON columns)."""
    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, (String, Text, JSON)):
                continue
            for value in strings:
                pattern = f"%{value.lower()}%"
                hits = db.session.execute(select(func.count()).select_from(table).where(
                    func.lower(column.cast(Text) if isinstance(column.type, JSON) else column).like(pattern))).scalar()
                if hits:
                    found.append(f"{table.name}.{column.name}: {value}")
    return found


def test_erase_leaves_no_personal_data_anywhere_and_pseudonymises_the_audit(app, client, world):
    admin, pro = world["deployment"], world["pro"]
    # Long enough that no random value (a ciphertext, a token) holds one of them by chance: "Piet" once matched
    # a signing key's ciphertext (case-insensitive LIKE).
    pro.name, pro.username = "Pieter van Noordhuizen", "pieter.noordhuizen"
    db.session.commit()
    # Some history: a session, audit rows about the person.
    session_for(browser(app), pro, mfa=False)
    personal = _personal_strings(fresh(User, pro.id))
    assert len(personal) == 4 and _tables_holding(personal)  # the walk does find them before
    session_for(client, admin)
    url = f"/admin/people/{pro.sub}/erase"
    page = client.get(url)
    assert "Type the person's e-mail address to confirm" in words(page)
    wrong = client.post(url, data={"csrf_token": token_of(client, url), "email": "piet@noord"})
    assert "Type the person's e-mail address exactly" in words(wrong) and 'value="piet@noord"' in wrong.get_data(
        as_text=True)
    assert fresh(User, pro.id).email == "piet@noord.example"
    kept = set(db.session.scalars(select(AuditEvent.id).where(AuditEvent.subject_user_id == pro.id)))

    done = client.post(url, data={"csrf_token": token_of(client, url), "email": "PIET@noord.example"})
    assert done.status_code == 302 and path(done.location) == "/admin/people"
    db.session.expire_all()
    assert _tables_holding(personal) == []
    after = set(db.session.scalars(select(AuditEvent.id).where(AuditEvent.subject_user_id == pro.id)))
    assert kept and kept < after  # every row kept, about the pseudonym; the erasure added its own
    [erased] = audit_events(EventTag.USER_ERASED)
    assert erased.subject_user_id == pro.id and erased.actor == f"user:{admin.sub}"
    assert client.get(f"/admin/people/{pro.sub}").status_code == 404
    assert find_by_login("piet@noord.example") is None


def test_only_a_deployment_admin_erases(app, client, world):
    pro = world["pro"]
    for who in ("org_admin", "helpdesk"):
        session_for(client, world[who])
        token = token_of(client, "/account/profile")
        url = f"/admin/people/{pro.sub}/erase"
        assert client.get(url).status_code == 403
        assert client.post(url, data={"csrf_token": token, "email": pro.email}).status_code == 403
    assert fresh(User, pro.id).email == "piet@noord.example"


# --- organisations ------------------------------------------------------------------------------


def test_a_deployment_admin_makes_and_changes_an_organisation(app, client, world):
    session_for(client, world["deployment"])
    listed = words(client.get("/admin/organisations"))
    assert "Zorggroep Noord" in listed and "noord" in listed
    url = "/admin/organisations/new"
    refused = client.post(url, data={"csrf_token": token_of(client, url), "name": "Bouwbedrijf De Vries",
                                     "code": "", "kind": "business_customer", "email_domains": "devries, x"})
    assert "Enter domains like example.org" in words(refused)
    assert 'value="Bouwbedrijf De Vries"' in refused.get_data(as_text=True)
    assert db.session.scalar(select(Organisation).where(Organisation.name == "Bouwbedrijf De Vries")) is None
    client.post(url, data={"csrf_token": token_of(client, url), "name": "Bouwbedrijf De Vries", "code": "",
                           "kind": "business_customer", "email_domains": "devries.example, @DeVries.example.org"})
    db.session.expire_all()
    made = db.session.scalar(select(Organisation).where(Organisation.name == "Bouwbedrijf De Vries"))
    assert made.code == "bouwbedrijf-de-vries" and made.kind == "business_customer"
    assert made.email_domains == ["devries.example", "devries.example.org"]

    edit = "/admin/organisations/noord/edit"
    refused = client.post(edit, data={"csrf_token": token_of(client, edit), "name": "Zorggroep Noord",
                                      "code": "noord", "kind": "care_provider", "email_domains": "elders.example"})
    assert "Some members have an address outside these domains" in words(refused)
    client.post(edit, data={"csrf_token": token_of(client, edit), "name": "Zorggroep Noord-Holland",
                            "code": "noord", "kind": "care_provider", "email_domains": "noord.example"})
    db.session.expire_all()
    noord = db.session.scalar(select(Organisation).where(Organisation.code == "noord"))
    assert noord.name == "Zorggroep Noord-Holland" and noord.email_domains == ["noord.example"]
    listed = words(client.get("/admin/organisations"))
    assert "Zorggroep Noord-Holland" in listed
    [changed] = [e for e in audit_events(EventTag.ORGANISATION_UPDATED) if e.details["organisation"] == "noord"]
    assert changed.actor == f"user:{world['deployment'].sub}"


def test_the_members_count_is_shown(app, client, world):
    session_for(client, world["deployment"])
    page = client.get("/admin/organisations").get_data(as_text=True)
    row = next(r for r in page.split("<tr>") if "Zorggroep Noord" in r)
    assert "<td>2</td>" in row  # olga (its admin) and piet


def test_organisation_admins_and_the_helpdesk_get_403_on_organisations_and_admin_roles(app, client, world):
    pro = world["pro"]
    for who in ("org_admin", "helpdesk"):
        session_for(client, world[who])
        token = token_of(client, "/account/profile")
        for url in ("/admin/organisations", "/admin/organisations/new", "/admin/organisations/noord/edit",
                    f"/admin/people/{pro.sub}/admin-role", f"/admin/people/{pro.sub}/remove-admin"):
            assert client.get(url).status_code == 403, (who, url)
            if url != "/admin/organisations":
                assert client.post(url, data={"csrf_token": token, "name": "X", "kind": "other", "code": "x",
                                              "role": "deployment"}).status_code == 403, (who, url)
    assert rows(AdminRole, user_id=pro.id) == 0
    assert db.session.scalar(select(Organisation).where(Organisation.code == "x")) is None


# --- admin roles --------------------------------------------------------------------------------


def test_a_deployment_admin_makes_someone_admin_and_takes_it_away(app, client, world):
    admin, pro = world["deployment"], world["pro"]
    session_for(client, admin)
    person = words(client.get(f"/admin/people/{pro.sub}"))
    assert "Make admin or change the admin role" in person and "Remove the admin role" not in person
    url = f"/admin/people/{pro.sub}/admin-role"
    client.post(url, data={"csrf_token": token_of(client, url), "role": "organisation"})
    held = db.session.scalar(select(AdminRole).where(AdminRole.user_id == pro.id))
    assert held.role == "organisation" and held.organisation.code == "noord"
    assert held.granted_by == f"user:{admin.sub}"

    nobody = world["nobody"]  # no organisation: cannot be an organisation admin
    url = f"/admin/people/{nobody.sub}/admin-role"
    refused = client.post(url, data={"csrf_token": token_of(client, url), "role": "organisation"})
    assert "Only a member of an organisation can be its admin" in words(refused)
    assert rows(AdminRole, user_id=nobody.id) == 0

    assert "Remove the admin role" in words(client.get(f"/admin/people/{pro.sub}"))
    url = f"/admin/people/{pro.sub}/remove-admin"
    client.post(url, data={"csrf_token": token_of(client, url)})
    assert rows(AdminRole, user_id=pro.id) == 0
    [revoked] = audit_events(EventTag.ADMIN_ROLE_REVOKED)
    assert revoked.subject_user_id == pro.id and revoked.actor == f"user:{admin.sub}"


def test_an_admin_does_not_take_their_own_role_or_erase_themselves(app, client, world):
    admin = world["deployment"]
    session_for(client, admin)
    page = words(client.get(f"/admin/people/{admin.sub}"))
    assert "Remove the admin role" not in page and "Erase the person" not in page
    url = f"/admin/people/{admin.sub}/remove-admin"
    client.post(url, data={"csrf_token": token_of(client, url)})
    assert rows(AdminRole, user_id=admin.id) == 1
    url = f"/admin/people/{admin.sub}/erase"
    client.post(url, data={"csrf_token": token_of(client, "/account/profile"), "email": admin.email})
    assert fresh(User, admin.id).email == "dora@example.org"


@pytest.mark.parametrize("settings_overrides", [{"mfa": {"required_roles": ["professional"]}}])
def test_only_a_deployment_admin_takes_away_a_role_that_asks_a_second_step(app, client, world):
    """`professional` makes its holders sign in with a second step (mfa.required_roles): an organisation admin
    who took it away would lower how the person must sign in. Adding it, and other roles, stays theirs."""
    admin, pro = world["org_admin"], world["pro"]
    pro.roles = ["planner", "professional"]
    db.session.commit()
    session_for(client, admin)
    url = f"/admin/people/{pro.sub}/edit"
    refused = client.post(url, data={"csrf_token": token_of(client, url), "name": "Piet", "email": pro.email,
                                     "roles": "planner"})
    assert refused.status_code == 200 and "Only a deployment admin takes away a role" in words(refused)
    assert 'id="roles-error"' in refused.get_data(as_text=True) and 'value="planner"' in refused.get_data(as_text=True)
    assert fresh(User, pro.id).roles == ["planner", "professional"]
    done = client.post(url, data={"csrf_token": token_of(client, url), "name": "Piet", "email": pro.email,
                                  "roles": "professional"})  # another role may go
    assert done.status_code == 302 and fresh(User, pro.id).roles == ["professional"]

    deployment = console.browser(app)
    session_for(deployment, world["deployment"])
    allowed = deployment.post(url, data={"csrf_token": token_of(deployment, url), "name": "Piet",
                                         "email": pro.email, "roles": ""})
    assert allowed.status_code == 302 and fresh(User, pro.id).roles == []
