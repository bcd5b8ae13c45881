"""Issue 16 part 2: making a person at /admin/people/new (seed 001's "Beheer → nieuwe gebruiker"), through the
test client: the rows made, the mail or SMS in the outbox, the organisation's rules and errors beside fields."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from idp import clock
from idp.accounts import admins, organisations
from idp.accounts.users import create_user, find_by_login, phone_of
from idp.audit import EventTag
from idp.extensions import db
from idp.models import AccountLink, AuditEvent, User
from tests.flows import test_admin_console as console
from tests.flows.account_helpers import path
from tests.flows.test_activation import Activation, link_of
from tests.flows.test_admin_console import rows, session_for, token_of, words
from tests.helpers import audit_events, browser, csrf_token
from tests.mfa_helpers import messages

NEW = "/admin/people/new"
client, world = console.client, console.world  # the console's fixtures


@pytest.fixture
def business(world):
    """The insurer's business customer (seed 001) with its domain, its beheerder (organisation admin)."""
    operator = admins.operator("test")
    now = clock.now()
    bedrijf = organisations.create(operator, "Bouwbedrijf De Vries", "business_customer", now, code="devries",
                                   email_domains=["devries.example"])
    from idp.accounts import factors

    beheerder = create_user("beheer@devries.example", "correct horse battery", name="Bea Beheer", org=bedrijf,
                            phone="+31612000010")
    factors.add_confirmed(beheerder, "sms", phone_number="+31612000010")
    admins.grant(operator, beheerder, admins.ORGANISATION, now)
    db.session.commit()
    return beheerder


def form(client, **fields) -> dict:
    data = {"csrf_token": token_of(client, NEW), "name": "", "email": "", "username": "", "date_of_birth": "",
            "phone": "", "roles": "", "portal": ""}
    data.update(fields)
    return data


def test_a_beheerder_makes_a_business_user_who_gets_an_activation_link(app, client, business, make_portal):
    portal = make_portal("Zakelijk portaal")
    session_for(client, business)
    page = client.get(NEW)
    assert page.status_code == 200 and "Bouwbedrijf De Vries" in words(page)
    assert 'name="organisation" value="devries"' in page.get_data(as_text=True)  # fixed: their own

    response = client.post(NEW, data=form(client, name="Karel Klant", email="karel@devries.example",
                                          roles="employee", portal=portal.client_id, organisation="devries"))
    assert response.status_code == 302
    made = find_by_login("karel@devries.example")
    assert path(response.location) == f"/admin/people/{made.sub}"
    assert made.name == "Karel Klant" and made.roles == ["employee"] and made.org.code == "devries"
    assert made.password_hash is None and made.activation_pending and not made.email_verified
    [mail] = messages(app, to="karel@devries.example")
    assert mail["template"] == "activation" and "Zakelijk portaal" in mail["body"] and "/activate/" in mail["body"]
    [link] = db.session.scalars(select(AccountLink).where(AccountLink.user_id == made.id)).all()
    assert link.client_id == portal.client_id
    [created] = [e for e in audit_events(EventTag.USER_CREATED) if e.subject_user_id == made.id]
    assert created.subject_user_id == made.id and created.actor == f"user:{business.sub}"
    assert "An activation link has been sent to karel@devries.example" in words(client.get(path(response.location)))


def test_a_portal_with_temporary_passwords_sends_one_and_needs_a_username(app, client, world, make_portal):
    """Seed 002: the EVV'er makes the account; a username and a temporary password arrive by e-mail."""
    portal = make_portal("Cliëntportaal", profile={"new_accounts": "temporary_password", "sign_in_with": "username"})
    session_for(client, world["deployment"])
    typed = {"name": "Gerda de Wit", "email": "gerda@example.org", "portal": portal.client_id}
    refused = client.post(NEW, data=form(client, **typed))
    assert refused.status_code == 200 and "signs people in with a username" in words(refused)
    assert 'value="gerda@example.org"' in refused.get_data(as_text=True)  # nothing typed is lost
    assert 'value="Gerda de Wit"' in refused.get_data(as_text=True)
    assert find_by_login("gerda@example.org") is None and messages(app) == []

    client.post(NEW, data=form(client, username="gdewit", **typed))
    made = find_by_login("gdewit")
    assert made.email == "gerda@example.org" and made.must_change_password and made.password_hash is not None
    [mail] = messages(app, to="gerda@example.org")
    assert mail["template"] == "temporary_password" and "gdewit" in mail["body"]


def test_the_practice_assistant_enters_the_number_the_activation_code_goes_to(app, client, world, make_portal):
    """Seed 003: a link by mail, then an SMS to the number the practice entered."""
    portal = make_portal("Huisartsportaal", profile={"activation_order": "phone_first", "activation_phone": "true"})
    session_for(client, world["deployment"])
    client.post(NEW, data=form(client, name="Jan Jansen", email="jan@example.org", phone="06 12345678",
                               portal=portal.client_id))
    made = find_by_login("jan@example.org")
    assert phone_of(made) == "+31612345678" and not made.phone_verified
    assert [m["template"] for m in messages(app, to="jan@example.org")] == ["activation"]


def test_a_portal_that_checks_the_date_of_birth_needs_one(app, client, world, make_portal):
    """Seed 004: the activation asks the date of birth."""
    portal = make_portal("Clientportal", profile={"activation_birth_date": "true"})
    session_for(client, world["deployment"])
    typed = {"name": "Mo", "email": "mo@example.org", "portal": portal.client_id}
    refused = client.post(NEW, data=form(client, **typed))
    assert "checks the date of birth at activation" in words(refused) and find_by_login("mo@example.org") is None
    future = (clock.now() + timedelta(days=3)).date().isoformat()
    refused = client.post(NEW, data=form(client, date_of_birth=future, **typed))
    assert "Enter a real date of birth in the past" in words(refused)
    born = (clock.now() - timedelta(days=365 * 30)).date()
    client.post(NEW, data=form(client, date_of_birth=born.strftime("%d-%m-%Y"), **typed))
    assert find_by_login("mo@example.org").date_of_birth == born


def test_an_address_outside_the_domains_and_a_duplicate_are_errors_beside_the_field(app, client, business,
                                                                                    make_portal):
    portal = make_portal("Zakelijk portaal")
    session_for(client, business)
    before = rows(User)
    outside = client.post(NEW, data=form(client, name="Piet", email="piet@gmail.example", portal=portal.client_id))
    html = outside.get_data(as_text=True)
    assert "not at one of the organisation's e-mail domains (@devries.example)" in words(outside)
    assert 'id="email-error"' in html and 'aria-describedby="email-error"' in html
    assert 'value="piet@gmail.example"' in html
    taken = client.post(NEW, data=form(client, name="Bea", email="beheer@devries.example", portal=portal.client_id))
    assert "Another account already has this e-mail address" in words(taken)
    assert rows(User) == before and messages(app) == []


def test_an_organisation_admin_cannot_make_a_person_in_another_organisation(app, client, world, make_portal):
    portal = make_portal("Zakelijk portaal")
    session_for(client, world["org_admin"])
    before = rows(AuditEvent, tag=str(EventTag.USER_CREATED))
    response = client.post(NEW, data=form(client, name="Zoe", email="zoe@zuid.example", organisation="zuid",
                                          portal=portal.client_id))
    assert response.status_code == 403
    assert find_by_login("zoe@zuid.example") is None and messages(app) == []
    assert rows(AuditEvent, tag=str(EventTag.USER_CREATED)) == before


def test_the_helpdesk_may_not_make_people(app, client, world, make_portal):
    make_portal("Zakelijk portaal")
    session_for(client, world["helpdesk"])
    assert client.get(NEW).status_code == 403
    token = csrf_token(client.get("/account/profile").get_data(as_text=True))
    response = client.post(NEW, data={"csrf_token": token, "name": "X", "email": "x@example.org"})
    assert response.status_code == 403 and find_by_login("x@example.org") is None


def test_a_portal_must_be_chosen(app, client, world, make_portal):
    make_portal("Een")
    make_portal("Twee")
    session_for(client, world["deployment"])
    refused = client.post(NEW, data=form(client, name="Ida", email="ida@example.org"))
    assert "Choose the portal the account is for" in words(refused) and find_by_login("ida@example.org") is None


def test_the_cli_makes_accounts_through_the_same_service(app, make_portal):

    portal = make_portal("Cliëntportaal", profile={"new_accounts": "temporary_password"})
    result = app.test_cli_runner().invoke(args=["users", "add", "--email", "cli@example.org", "--name", "Cli",
                                                "--temporary", "--portal", portal.client_id, "--as", "beheer"])
    assert result.exit_code == 0, result.output
    made = find_by_login("cli@example.org")
    assert made.must_change_password and made.password_hash is not None
    [mail] = messages(app, to="cli@example.org")
    assert mail["template"] == "temporary_password" and "Cliëntportaal" in mail["body"]
    [created] = [e for e in audit_events(EventTag.USER_CREATED) if e.subject_user_id == made.id]
    assert created.actor == "beheer"  # the operator, as `--as` names them


def test_a_person_made_by_the_console_activates_and_signs_in(app, client, world, make_portal):
    portal = make_portal("Zakelijk portaal", profile={"activation_phone": "false"})
    session_for(client, world["deployment"])
    client.post(NEW, data=form(client, name="Lot", email="lot@example.org", portal=portal.client_id))
    walk = Activation(browser(app), link_of(app, "lot@example.org"))
    walk.password()
    db.session.expire_all()
    made = db.session.scalar(select(User).where(User.email == "lot@example.org"))
    assert made.password_hash is not None and not made.activation_pending and made.email_verified


def test_the_profile_fields_refuse_what_they_do_not_know(app, make_portal):
    from idp.errors import InvalidInput
    from idp.portals import profile

    portal = make_portal("Portaal")
    with pytest.raises(InvalidInput, match="activation_link or temporary_password"):
        profile.change(portal, {"new_accounts": "by pigeon"})
    with pytest.raises(InvalidInput, match="activation_birth_date"):
        profile.change(portal, {"activation_birth_date": "sometimes"})
    assert (profile.of(portal).new_accounts, profile.of(portal).activation_birth_date) == ("activation_link", False)
