"""Contact persons (issue 15 part 3, seed 002): an elderly client invites her daughter from the account pages;
the daughter activates her own account and may act for her mother; the client sees and withdraws it.

The mails speak Dutch (nobody here chose another language); the pages are read in English.
Dates of birth are relative to today; the clock moves with time_machine where an invitation must expire.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from idp import clock
from idp.audit import EventTag
from idp.delegation import invitations, usable_for
from idp.errors import InvalidInput
from idp.extensions import db
from idp.models import AccountLink, Delegation, User
from idp.models import delegation as d
from tests.flows.account_helpers import Account, sign_in
from tests.flows.page import Page, text
from tests.helpers import audit_events, browser, csrf_token, english_browser
from tests.mfa_helpers import latest_code, messages

PASSWORD = "correct horse battery"
NEW_PASSWORD = "Blauwe fiets 42 lente"
LINK = re.compile(r"http://localhost(/activate/[A-Za-z0-9_-]+)")


def english(app):
    return english_browser(app)


def years_ago(years: int) -> date:
    return datetime.now(UTC).date() - timedelta(days=round(365.25 * years) + 10)


@pytest.fixture
def care_portal(make_portal):
    return make_portal("Pluriform zorg", profile={"delegation": "true"})


@pytest.fixture
def client_(make_user):
    """The elderly-care client, with her own account."""
    return make_user("truus@example.org", PASSWORD, name="Truus Jansen", date_of_birth=years_ago(86))


def invite_on_the_page(app, email: str = "dochter@example.org", name: str = "Els Jansen",
                       relation: str = "family", portal=None):
    """The client signs in at /account and sends the invitation (confirming her password); returns her
    browser's Account and the page after it."""
    account = Account(english(app))
    sign_in(account.client, "truus@example.org")
    account.open("/account/delegations")
    response = account.change("/account/delegations/invite", name=name, email=email, relation=relation,
                              portal=portal.client_id if portal is not None else "")
    assert response.status_code == 303, text(response.get_data(as_text=True))[-400:]
    return account, account.open("/account/delegations")


def the_delegation(principal_email: str = "truus@example.org") -> Delegation:
    principal = db.session.scalar(select(User).where(User.email == principal_email))
    [found] = db.session.scalars(select(Delegation).where(Delegation.principal_id == principal.id)).all()
    db.session.refresh(found)
    return found


def activate(app, url: str) -> str:
    """The invited person's own activation: her own password, then her own phone (the default profile)."""
    daughter = english(app)

    def post(step: str, **data):
        page = daughter.get(url)
        assert page.status_code == 200
        return daughter.post(url, data={"csrf_token": csrf_token(page.get_data(as_text=True)), "step": step,
                                        **data})

    post("password", new_password=NEW_PASSWORD, confirm_password=NEW_PASSWORD)
    post("phone", action="send", phone="06 87654321")
    return post("phone", action="confirm", code=latest_code(app, "+31687654321")).get_data(as_text=True)


def test_the_daughter_activates_her_own_account_and_the_delegation_is_active(app, client_, care_portal):
    _, page = invite_on_the_page(app, portal=care_portal)
    html = text(page.get_data(as_text=True))
    assert "We have sent an invitation to dochter@example.org" in html
    assert "Els Jansen" in html and "Invited, not accepted yet" in html and "Pluriform zorg" in html

    invited = the_delegation()
    assert (invited.status, invited.basis, invited.granted_how) == (d.PENDING, d.INVITATION, d.ACCOUNT_PAGE)
    assert invited.granted_by_user_id == client_.id and invited.portals == [care_portal.client_id]
    assert invited.delegate.email == "dochter@example.org" and invited.delegate.password_hash is None
    [mail] = messages(app, to="dochter@example.org", template="activation")
    assert "Truus Jansen heeft u uitgenodigd om namens hem of haar te handelen" in mail["body"]
    assert "Pluriform zorg" in mail["body"]
    assert usable_for(invited.delegate, client_, care_portal.client_id, ["openid"], clock.now()) is None

    ready = activate(app, LINK.search(mail["body"]).group(1))
    assert "ready" in text(ready).lower()
    active = the_delegation()
    assert (active.status, active.basis, active.granted_by_user_id) == (d.ACTIVE, d.INVITATION, client_.id)
    daughter = active.delegate
    assert daughter.password_hash is not None and not daughter.activation_pending
    assert usable_for(daughter, client_, care_portal.client_id, ["openid"], clock.now()) == active
    [accepted] = audit_events(EventTag.DELEGATION_ACCEPTED)
    assert (accepted.details["delegate_id"], accepted.details["principal_id"]) == (daughter.id, client_.id)


def test_an_existing_account_accepts_after_signing_in(app, client_, care_portal, make_user):
    daughter = make_user("dochter@example.org", PASSWORD, name="Els de Boer")
    invite_on_the_page(app, name="Els", portal=care_portal)
    assert messages(app, to="dochter@example.org", template="activation") == []
    [mail] = messages(app, to="dochter@example.org", template="delegation_invited")
    assert "Truus Jansen heeft u uitgenodigd om namens hem of haar te handelen bij Pluriform zorg" in mail["body"]
    assert "http://localhost/account/delegations" in mail["body"]
    assert the_delegation().status == d.PENDING

    account = Account(english(app))
    sign_in(account.client, "dochter@example.org")
    page = text(account.open("/account/delegations").get_data(as_text=True))
    assert "Accept the invitation of Truus Jansen" in page
    response = account.post(f"/account/delegations/{the_delegation().id}/accept")
    assert response.status_code == 303
    accepted = the_delegation()
    assert (accepted.status, accepted.delegate_id) == (d.ACTIVE, daughter.id)
    assert "You can now act for Truus Jansen" in text(account.open("/account/delegations").get_data(as_text=True))


def test_the_page_says_the_same_whether_or_not_the_address_has_an_account(app, client_, care_portal, make_user):
    make_user("bekend@example.org", PASSWORD, name="Iemand Anders")
    _, known = invite_on_the_page(app, email="bekend@example.org", name="Kees", portal=care_portal)
    _, unknown = invite_on_the_page(app, email="onbekend@example.org", name="Kees", portal=care_portal)

    def notice(page) -> str:
        return re.search(r"We have sent an invitation to \S+", text(page.get_data(as_text=True))).group(0)

    assert notice(known).replace("bekend", "X") == notice(unknown).replace("onbekend", "X")
    assert "Iemand Anders" not in known.get_data(as_text=True)  # the account's own name is never shown


def test_the_client_revokes_it_on_her_page(app, client_, care_portal, make_user):
    daughter = make_user("dochter@example.org", PASSWORD, name="Els Jansen")
    account, _ = invite_on_the_page(app, portal=care_portal)
    invitations.accept(the_delegation(), daughter, clock.now())
    db.session.commit()
    page = text(account.open("/account/delegations").get_data(as_text=True))
    assert "Active" in page and "Withdraw access of Els Jansen" in page

    delegation_id = the_delegation().id
    asked = account.change(f"/account/delegations/{delegation_id}/revoke")
    assert "Do you want to withdraw the access of Els Jansen?" in text(asked.get_data(as_text=True))
    assert the_delegation().status == d.ACTIVE  # only asked, nothing changed yet
    done = account.post(f"/account/delegations/{delegation_id}/revoke", confirmed="yes")
    assert done.status_code == 303
    revoked = the_delegation()
    assert (revoked.status, revoked.revoked_by_user_id) == (d.REVOKED, client_.id)
    assert usable_for(daughter, client_, care_portal.client_id, ["openid"], clock.now()) is None
    [audit] = audit_events(EventTag.DELEGATION_REVOKED)
    assert (audit.details["delegate_id"], audit.details["principal_id"]) == (daughter.id, client_.id)
    assert audit.details["by_user"] == client_.sub
    [mail] = messages(app, to="dochter@example.org", template="delegation_revoked")
    assert "Truus Jansen heeft uw toegang ingetrokken" in mail["body"]
    assert "Withdrawn" in text(account.open("/account/delegations").get_data(as_text=True))


def test_someone_elses_delegation_id_in_the_revoke_post_changes_nothing(app, client_, care_portal, make_user):
    daughter = make_user("dochter@example.org", PASSWORD, name="Els Jansen")
    other = make_user("ander@example.org", PASSWORD, name="Piet Ander", date_of_birth=years_ago(70))
    theirs = invitations.invite(other, "dochter@example.org", "Els", [care_portal.client_id], [], "family",
                                clock.now())
    invitations.accept(theirs, daughter, clock.now())
    db.session.commit()
    theirs_id = theirs.id

    account = Account(english(app))
    sign_in(account.client, "truus@example.org")
    account.open("/account/delegations")
    response = account.change(f"/account/delegations/{theirs_id}/revoke", confirmed="yes")
    assert response.status_code == 303
    assert "Nothing has been changed" in text(account.open("/account/delegations").get_data(as_text=True))
    row = db.session.get(Delegation, theirs_id)
    db.session.refresh(row)
    assert (row.status, row.revoked_at, row.revoked_by_user_id) == (d.ACTIVE, None, None)
    assert audit_events(EventTag.DELEGATION_REVOKED) == []


def test_a_child_cannot_invite(app, make_user, care_portal):
    child = make_user("kind@example.org", PASSWORD, name="Kim Kind", date_of_birth=years_ago(14))
    with pytest.raises(InvalidInput, match="only an adult"):
        invitations.invite(child, "oma@example.org", "Oma", [care_portal.client_id], [], "family", clock.now())
    db.session.rollback()
    assert db.session.scalars(select(Delegation)).all() == []

    account = Account(english(app))
    sign_in(account.client, "kind@example.org")
    page = text(account.client.get("/account/delegations").get_data(as_text=True))
    assert "Only someone of 16 or older" in page and "Send the invitation" not in page
    account.open("/account")  # a page with a form: the POST below is no CSRF failure
    account.change("/account/delegations/invite", name="Oma", email="oma@example.org", relation="family",
                   portal=care_portal.client_id)
    assert db.session.scalars(select(Delegation)).all() == []
    assert messages(app, to="oma@example.org") == []


def test_a_bad_address_or_relation_sends_nothing(app, client_, care_portal):
    for email, relation in (("not an address", "family"), ("x@no-login.invalid", "family"),
                            ("els@example.org", "neighbour")):
        with pytest.raises(InvalidInput):
            invitations.invite(client_, email, "Els", [care_portal.client_id], [], relation, clock.now())
        db.session.rollback()
    assert db.session.scalars(select(Delegation)).all() == []


def test_an_expired_invitation_cannot_be_accepted(app, client_, care_portal, make_user, frozen, time_machine):
    daughter = make_user("dochter@example.org", PASSWORD, name="Els Jansen")
    invited = invitations.invite(client_, "dochter@example.org", "Els", [care_portal.client_id], [], "family",
                                 clock.now())
    db.session.commit()
    time_machine.shift(timedelta(days=14, seconds=1))
    with pytest.raises(InvalidInput, match="expired"):
        invitations.accept(invited, daughter, clock.now())
    db.session.rollback()

    account = Account(english(app))
    sign_in(account.client, "dochter@example.org")
    page = text(account.open("/account/delegations").get_data(as_text=True))
    assert "Accept the invitation" not in page
    account.post(f"/account/delegations/{invited.id}/accept")
    db.session.refresh(invited)
    assert invited.status == d.PENDING
    assert usable_for(daughter, client_, care_portal.client_id, ["openid"], clock.now()) is None


def test_an_expired_invitation_is_not_accepted_by_activating(app, client_, care_portal, frozen, time_machine):
    invitations.invite(client_, "dochter@example.org", "Els", [care_portal.client_id], [], "family", clock.now())
    db.session.commit()
    url = LINK.search(messages(app, to="dochter@example.org", template="activation")[0]["body"]).group(1)
    time_machine.shift(timedelta(days=14, seconds=1))
    # The activation link itself lasted 72 hours; a new one, but the invitation is over.
    from idp.accounts import activation

    activation.send_link(the_delegation().delegate, resend=True)
    db.session.commit()
    newer = LINK.search(messages(app, to="dochter@example.org", template="activation")[0]["body"]).group(1)
    assert newer != url
    activate(app, newer)
    assert the_delegation().status == d.PENDING


def test_an_invitation_link_works_once(app, client_, care_portal):
    invitations.invite(client_, "dochter@example.org", "Els", [care_portal.client_id], [], "family", clock.now())
    db.session.commit()
    url = LINK.search(messages(app, to="dochter@example.org", template="activation")[0]["body"]).group(1)
    activate(app, url)
    assert the_delegation().status == d.ACTIVE
    again = english(app).get(url)
    assert again.status_code == 400
    link = db.session.scalar(select(AccountLink).order_by(AccountLink.id.desc()))
    assert link.used_at is not None


def test_the_daughter_stops_acting_for_her_mother(app, client_, care_portal, make_user):
    daughter = make_user("dochter@example.org", PASSWORD, name="Els Jansen")
    invited = invitations.invite(client_, "dochter@example.org", "Els", [care_portal.client_id], [], "family",
                                 clock.now())
    invitations.accept(invited, daughter, clock.now())
    db.session.commit()
    account = Account(english(app))
    sign_in(account.client, "dochter@example.org")
    account.open("/account/delegations")
    account.change(f"/account/delegations/{invited.id}/stop", confirmed="yes")
    row = the_delegation()
    assert (row.status, row.revoked_by_user_id) == (d.REVOKED, daughter.id)
    [mail] = messages(app, to="truus@example.org", template="delegation_revoked")
    assert "Els Jansen is gestopt met handelen namens u" in mail["body"]


def test_the_evv_er_invites_from_the_cli_and_the_round_trip_holds(app, client_, care_portal, frozen,
                                                                    time_machine):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["delegations", "invite", "--principal", "truus@example.org", "--email",
                                 "dochter@example.org", "--name", "Els Jansen", "--relation", "family",
                                 "--portal", care_portal.client_id, "--as", "evv-marieke", "--json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.output)
    assert (row["basis"], row["status"], row["granted_how"], row["granted_by"]) == (
        "invitation", "pending", "admin_consent", "evv-marieke")
    assert row["invitation_until"] == (frozen + timedelta(days=14)).isoformat()
    [mail] = messages(app, to="dochter@example.org", template="activation")
    assert "Truus Jansen heeft u uitgenodigd" in mail["body"]

    activate(app, LINK.search(mail["body"]).group(1))
    shown = json.loads(runner.invoke(args=["delegations", "show", str(row["id"]), "--json"]).output)
    assert (shown["status"], shown["usable_now"]) == ("active", True)

    child = runner.invoke(args=["delegations", "invite", "--principal", "dochter@example.org", "--email",
                                "x@example.org", "--name", "X"])
    assert child.exit_code == 2 and "cannot invite anyone" in child.output  # no date of birth: not known adult

    late = runner.invoke(args=["delegations", "invite", "--principal", "truus@example.org", "--email",
                               "buurman@example.org", "--name", "Henk", "--relation", "contact person"])
    assert late.exit_code == 0, late.output
    time_machine.shift(timedelta(days=14, seconds=1))
    expired = json.loads(runner.invoke(args=["delegations", "expire", "--json"]).output)
    assert expired["expired"] == 1
    rows = json.loads(runner.invoke(args=["delegations", "list", "--person", "truus@example.org",
                                          "--json"]).output)
    assert sorted((r["delegate_name"], r["status"]) for r in rows) == [("Els Jansen", "active"),
                                                                        ("Henk", "expired")]


@pytest.mark.parametrize("settings_overrides", [{"limits": {"links_per_account": "2 per hour"}}])
def test_invitations_are_limited_per_person(app, client_, care_portal):
    account, _ = invite_on_the_page(app, email="een@example.org", name="Een", portal=care_portal)
    account.open("/account/delegations")
    second = account.change("/account/delegations/invite", name="Twee", email="twee@example.org",
                            relation="family", portal=care_portal.client_id)
    assert second.status_code == 303
    account.open("/account/delegations")
    third = account.change("/account/delegations/invite", name="Drie", email="drie@example.org",
                           relation="family", portal=care_portal.client_id)
    assert third.status_code == 429
    assert sorted(x.evidence for x in db.session.scalars(select(Delegation))) == ["Een", "Twee"]
    assert messages(app, to="drie@example.org") == []


def test_the_page_is_dutch_by_default_with_one_heading_labels_and_real_buttons(app, client_, care_portal,
                                                                               make_user):
    daughter = make_user("dochter@example.org", PASSWORD, name="Els Jansen")
    invited = invitations.invite(client_, "dochter@example.org", "Els Jansen", [care_portal.client_id], [],
                                 "family", clock.now())
    invitations.accept(invited, daughter, clock.now())
    db.session.commit()
    dutch = browser(app)
    sign_in(dutch, "truus@example.org")
    html = dutch.get("/account/delegations").get_data(as_text=True)
    page = Page(html)
    assert [h.text.strip() for h in page.all("h1")] == ["Wie mag namens u handelen"]
    for element in page.visible_inputs() + page.all("select"):
        assert page.label_for(element.attrs["id"]), element.attrs
    assert "Toegang van Els Jansen intrekken" in [b.text.strip() for b in page.all("button")]
    assert "Uitnodiging versturen" in [b.text.strip() for b in page.all("button")]
    assert "onsubmit" not in html and "<a href" in html  # no script needed; a way back
    assert "Familielid" in text(html) and "Actief" in text(html)


# An invitation withdrawn before the invited person activated: the account it made for them can no longer be
# activated through the link in their mail, unless another client's invitation still waits.

def link_in_the_mail(app) -> str:
    [mail] = messages(app, to="dochter@example.org", template="activation")
    return LINK.search(mail["body"]).group(1)


def daughter() -> User:
    return db.session.scalar(select(User).where(User.email == "dochter@example.org"))


def test_the_link_of_a_withdrawn_invitation_no_longer_activates(app, client_, care_portal):
    account, _ = invite_on_the_page(app, portal=care_portal)
    url = link_in_the_mail(app)
    invited = the_delegation()
    done = account.post(f"/account/delegations/{invited.id}/revoke", confirmed="yes")
    assert done.status_code == 303
    assert the_delegation().status == d.REVOKED

    opened = english(app).get(url)
    assert opened.status_code == 400
    assert "This link no longer works" in text(opened.get_data(as_text=True))
    person = daughter()
    db.session.refresh(person)
    assert person.password_hash is None and person.activation_pending
    link = db.session.scalar(select(AccountLink).where(AccountLink.user_id == person.id))
    assert link.invalidated_at is not None and link.used_at is None
    [withdrawn] = audit_events(EventTag.ACTIVATION_WITHDRAWN)
    assert withdrawn.subject_user_id == person.id
    # Nothing was sent to the address about a revocation of something it never accepted.
    assert messages(app, to="dochter@example.org", template="delegation_revoked") == []


def test_another_clients_open_invitation_keeps_the_link_working(app, client_, care_portal, make_user):
    father = make_user("kees@example.org", PASSWORD, name="Kees Jansen", date_of_birth=years_ago(88))
    account, _ = invite_on_the_page(app, portal=care_portal)
    invitations.invite(father, "dochter@example.org", "Els", [care_portal.client_id], [], "family", clock.now())
    db.session.commit()
    newest = LINK.search(messages(app, to="dochter@example.org", template="activation")[-1]["body"]).group(1)
    mine = the_delegation()
    account.post(f"/account/delegations/{mine.id}/revoke", confirmed="yes")
    assert the_delegation().status == d.REVOKED
    assert audit_events(EventTag.ACTIVATION_WITHDRAWN) == []

    activate(app, newest)
    person = daughter()
    db.session.refresh(person)
    assert person.password_hash is not None and not person.activation_pending
    assert the_delegation("kees@example.org").status == d.ACTIVE
    assert the_delegation().status == d.REVOKED  # the withdrawn one stays withdrawn
