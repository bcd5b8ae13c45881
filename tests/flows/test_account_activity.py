"""The account page "Recent activity" (issue 15 part 5): a person's sign-ins, failures and changes, and under a
delegation the same rows seen from both sides (NEN 7513: who acted, and on whose behalf).

The delegation set-up is the one of test_delegated_sign_in.py: Petra signs in at the patient portal and
chooses whom she acts for; its fixtures (Petra, Sam who is 8 and has no login, the patient portal and its
relying party) are imported from there.
"""

from __future__ import annotations

from flask_babel import force_locale
from sqlalchemy import select

from idp import clock
from idp.accounts import activity
from idp.audit import EventTag, record
from idp.delegation import grant_parental, record_child_consent, revoke
from idp.extensions import db
from idp.models import AuditEvent, Delegation
from idp.security import lockout
from tests.flows.account_helpers import Account, email_code, path, sign_in
from tests.flows.page import Page
from tests.flows.test_delegated_sign_in import ADMIN, CHECKED, PASSWORD, choose, chooser, sign_in_for, years_ago
from tests.flows.test_delegated_sign_in import child as child
from tests.flows.test_delegated_sign_in import delegating_portal as delegating_portal
from tests.flows.test_delegated_sign_in import parent as parent
from tests.flows.test_delegated_sign_in import rp as rp
from tests.helpers import RelyingParty, browser, csrf_token


def events(client, url: str = "/account/activity") -> list[str]:
    """The lines of the activity page, newest first, each as one line of text."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return [" ".join(li.text.split()) for li in Page(response.get_data(as_text=True)).all("li", **{"class": "event"})]


def sentences(client, url: str = "/account/activity") -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    page = Page(response.get_data(as_text=True))
    return [" ".join(s.text.split()) for s in page.all("strong")]


def kim_with_consent(make_user, parent, portal):
    """Kim, 14, with a login of her own, who consented that her parent Petra acts for her at the portal."""
    kim = make_user("kim@example.org", PASSWORD, name="Kim Ouder", date_of_birth=years_ago(14))
    delegation = grant_parental(ADMIN, parent, kim, [portal.client_id], ["profile", "email"], CHECKED, clock.now())
    record_child_consent(delegation, clock.now(), by_child=kim)
    db.session.commit()
    return kim, delegation


def test_the_page_asks_to_sign_in_first(client):
    response = client.get("/account/activity")
    assert response.status_code == 302 and "/authorize?" in response.location
    assert "Petra" not in response.get_data(as_text=True)


def test_the_parent_sees_signing_in_for_the_child_and_the_child_without_a_login_cannot_open_the_page(
        client, app, rp, parent, child, delegating_portal):
    sign_in_for(rp, "Sam Ouder")
    # Petra's browser still has her session: her own page shows what she did for Sam, newest first.
    assert sentences(client)[:3] == [
        "Patiëntenportaal heeft de gegevens van Sam Ouder ontvangen: u heeft voor Sam Ouder ingelogd",
        "U heeft voor Sam Ouder ingelogd bij Patiëntenportaal",
        "U bent ingelogd bij Patiëntenportaal",
    ]
    lines = events(client)
    assert "Vanaf 127.0.0.1" in lines[1]  # she was at that browser: she sees where from
    assert "Vanaf" not in lines[0]  # the portal's server asked for the token, not her browser

    # Sam has no login of his own: signing in as him to reach the page fails; the rows are his all the same.
    sams = browser(app)
    login = path(sams.get(path(sams.get("/account/activity").location)).location)
    form = sams.get(login).get_data(as_text=True)
    refused = sams.post(login, data={"csrf_token": csrf_token(form), "stage": "password", "username": child.email,
                                     "password": PASSWORD})
    assert refused.status_code == 200 and "/account/callback" not in (refused.location or "")
    assert sams.get("/account/activity").status_code == 302
    seen_by_sam = [e.sentence for e in activity.page(child).entries]
    assert "Petra Ouder heeft voor u ingelogd bij Patiëntenportaal" in seen_by_sam
    assert all(e.origin is None for e in activity.page(child).entries if e.for_someone)


def test_both_see_the_sign_in_for_the_child_and_the_withdrawal(client, app, rp, make_user, parent,
                                                              delegating_portal):
    kim, delegation = kim_with_consent(make_user, parent, delegating_portal)
    sign_in_for(rp, "Kim Ouder")
    kims = browser(app)
    sign_in(kims, "kim@example.org")
    seen = sentences(kims)
    assert seen[0] == "U bent ingelogd bij Mijn account"  # Kim herself, to see this page
    assert seen[1:3] == ["Patiëntenportaal heeft uw gegevens ontvangen: Petra Ouder heeft voor u ingelogd",
                        "Petra Ouder heeft voor u ingelogd bij Patiëntenportaal"]
    assert "Toestemming gegeven: Petra Ouder mag namens u handelen" in seen
    # Petra's address and browser are hers: Kim sees that Petra signed in, not where from.
    kim_lines = events(kims)
    assert all("127.0.0.1" not in line for line in kim_lines if "Petra" in line)
    # Petra's own sign-in (as herself, before choosing Kim) is not Kim's business.
    assert not any(s.startswith("U bent ingelogd bij Patiëntenportaal") for s in seen)

    revoke(delegation, kim, "no longer needed", clock.now())
    db.session.commit()
    assert sentences(kims)[0] == "U heeft de toegang van Petra Ouder om namens u te handelen beëindigd"
    assert sentences(client)[0] == "Kim Ouder heeft uw toegang beëindigd; u kunt niet meer namens Kim Ouder handelen"


def test_the_delegate_stopping_is_told_from_both_sides(client, rp, make_user, parent, delegating_portal):
    kim, delegation = kim_with_consent(make_user, parent, delegating_portal)
    sign_in_for(rp, "self")
    revoke(delegation, parent, None, clock.now())
    db.session.commit()
    assert sentences(client)[0] == "U handelt niet meer namens Kim Ouder"
    assert activity.page(kim).entries[0].sentence == "Petra Ouder handelt niet meer namens u"


def test_another_persons_events_never_appear(client, app, rp, make_user, parent, child, delegating_portal):
    # Bob, a stranger: his own sign-in, a wrong password and a new factor.
    bob = make_user("bob@example.org", PASSWORD, name="Bob Ander")
    sign_in(browser(app), "bob@example.org")
    record(EventTag.LOGIN_PASSWORD_FAILURE, outcome="failure", user_id=bob.id, client_id=rp.portal.client_id)
    record(EventTag.MFA_ENROLLED, user_id=bob.id, factor="totp")
    # Paul, Sam's other parent, signs in for Sam too: that is Sam's business and Paul's, not Petra's.
    paul = make_user("paul@example.org", PASSWORD, name="Paul Ouder")
    grant_parental(ADMIN, paul, child, [delegating_portal.client_id], ["profile"], CHECKED, clock.now())
    db.session.commit()
    pauls = RelyingParty(browser(app), delegating_portal)
    page, html, url = chooser(pauls, pauls.submit_password(pauls.login_url(), "paul@example.org", PASSWORD))
    choose(pauls, html, url, next(b.attrs["value"] for b in page.all("button") if "Sam Ouder" in b.text))
    sign_in_for(rp, "Sam Ouder")

    assert sentences(client) == [
        "Patiëntenportaal heeft de gegevens van Sam Ouder ontvangen: u heeft voor Sam Ouder ingelogd",
        "U heeft voor Sam Ouder ingelogd bij Patiëntenportaal",
        "U bent ingelogd bij Patiëntenportaal",
        "U heeft toegang gekregen om namens Sam Ouder te handelen",
        "Uw account is aangemaakt",
    ]
    text = " ".join(events(client))
    assert "Bob" not in text and "Paul" not in text and "verkeerd wachtwoord" not in text
    # Sam, the principal, has both parents' sign-ins for him.
    for_sam = [e.sentence for e in activity.page(child).entries]
    assert "Paul Ouder heeft voor u ingelogd bij Patiëntenportaal" in for_sam
    assert "Petra Ouder heeft voor u ingelogd bij Patiëntenportaal" in for_sam
    assert all(e.origin is None for e in activity.page(child).entries)  # neither parent's browser
    # Every row on Petra's page is about her, or done by her for Sam.
    rows = db.session.scalars(select(AuditEvent).where(
        (AuditEvent.subject_user_id == parent.id) | (AuditEvent.actor_user_id == parent.id))).all()
    assert {r.subject_user_id for r in rows} == {parent.id, child.id}
    assert all(r.actor_user_id == parent.id for r in rows if r.subject_user_id == child.id)


def test_wrong_passwords_the_lockout_and_the_unlock_are_listed_with_the_browser(client, rp, make_user):
    anna = make_user("anna@example.org", PASSWORD, name="Anna de Vries")
    for _ in range(5):
        rp.submit_password(rp.login_url(), "anna@example.org", "wrong password")
    lockout.unlock(anna)
    db.session.commit()
    sign_in(client, "anna@example.org")
    lines = events(client)
    assert lines[0].startswith("U bent ingelogd bij Mijn account")
    assert "Met alleen uw wachtwoord, zonder tweede stap" in lines[0]
    assert "Vanaf 127.0.0.1" in lines[0]
    assert sentences(client)[1:3] == ["Uw account is weer vrijgegeven",
                                      "Uw account is geblokkeerd na te veel mislukte pogingen"]
    failed = [line for line in lines if "verkeerd wachtwoord" in line]
    assert len(failed) == 5
    assert all("(geweigerd)" in line and f"Bij: {rp.portal.display_name}" in line for line in failed)


def test_a_new_factor_and_a_new_password_are_listed_and_no_code_is_shown(client, make_user):
    make_user("anna@example.org", PASSWORD, name="Anna de Vries")
    sign_in(client, "anna@example.org")
    account = Account(client)
    account.open()
    account.change("/account/factors/email")
    code = email_code()
    account.post("/account/factors/email", action="confirm", code=code)
    new = "Lente-bloem!2026"
    changed = account.post("/account/password", current_password=PASSWORD, new_password=new, confirm_password=new)
    assert changed.status_code == 302

    assert sentences(client)[:3] == ["Uw wachtwoord is gewijzigd", "Tweede stap toegevoegd: codes per e-mail",
                                     "U bent ingelogd bij Mijn account"]
    html = client.get("/account/activity").get_data(as_text=True)
    assert code not in html and new not in html and PASSWORD not in html


def test_the_page_goes_back_fifty_at_a_time(client, make_user):
    anna = make_user("anna@example.org", PASSWORD, name="Anna de Vries")
    for days in range(1, 61):
        record(EventTag.DEVICE_TRUSTED, user_id=anna.id, days=days)
    db.session.commit()
    sign_in(client, "anna@example.org")
    first = client.get("/account/activity")
    html = first.get_data(as_text=True)
    shown = sentences(client)
    assert len(shown) == 50
    assert shown[0].startswith("U bent ingelogd")  # the newest on top
    assert shown[1] == "Een browser wordt 60 dagen vertrouwd: daar geen tweede stap"
    older = next(a.attrs["href"] for a in Page(html).all("a") if a.text.strip() == "Oudere activiteit")
    rest = sentences(client, older)
    assert rest[0] == "Een browser wordt 11 dagen vertrouwd: daar geen tweede stap"
    assert rest[-2:] == ["Een browser wordt 1 dag vertrouwd: daar geen tweede stap", "Uw account is aangemaakt"]
    assert not set(rest) & set(shown)
    assert "before=" not in "".join(a.attrs.get("href", "") for a in Page(client.get(older).get_data(
        as_text=True)).all("a"))
    assert client.get("/account/activity?before=x1").status_code == 404
    assert client.get("/account/activity?before=-5").status_code == 404


def test_english_and_informal_dutch(client, rp, parent, child, delegating_portal):
    sign_in_for(rp, "Sam Ouder")
    client.get("/lang/en?next=/account/activity")
    assert "You signed in for Sam Ouder at Patiëntenportaal" in sentences(client)
    with force_locale("en"):
        assert activity.page(child).entries[1].sentence == "Petra Ouder signed in for you at Patiëntenportaal"


def test_a_row_without_its_own_sentence_still_reads(client, make_user):
    anna = make_user("anna@example.org", PASSWORD, name="Anna de Vries")
    record(EventTag.DELEGATION_INVITED, outcome="failure", user_id=anna.id)
    db.session.commit()
    sign_in(client, "anna@example.org")
    line = next(s for s in sentences(client) if "delegation:invited" in s)
    assert line == "Een andere gebeurtenis op uw account (delegation:invited)"


def test_the_delegation_rows_name_the_delegate_as_the_one_who_acts(rp, parent, child):
    sign_in_for(rp, "Sam Ouder")
    delegation = db.session.scalar(select(Delegation))
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.details.is_not(None))).all()
    under = [r for r in rows if (r.details or {}).get("delegation_id") == delegation.id]
    assert {r.tag for r in under} >= {"delegation:granted", "delegation:sign-in", "token:issued"}
    assert all((r.subject_user_id, r.actor_user_id) == (child.id, parent.id) for r in under)
    own = [r for r in rows if r.tag == "login:session:started"]
    assert own and all(r.actor_user_id == r.subject_user_id == parent.id for r in own)
    failure = AuditEvent(tag="x", at=clock.now(), outcome="failure")
    assert failure.actor_user_id is None


def test_what_an_administrator_did_reads_as_a_sentence(client, make_user):
    """Issue 16: the CLI's (and later the console's) changes to an account show on the person's own page."""
    from idp.accounts import admins, organisations, people

    anna = make_user("anna@zorg.example", PASSWORD, name="Anna de Vries")
    beheer = admins.operator("beheer-jan")
    now = clock.now()
    organisation = organisations.create(beheer, "Zorggroep Noord", "care_provider", now)
    organisations.set_membership(beheer, anna, organisation, now)
    admins.grant(beheer, anna, "helpdesk", now)
    people.reset_factors(anna, admin="beheer-jan", now=now)
    db.session.commit()
    sign_in(client, "anna@zorg.example")
    shown = sentences(client)
    assert "U heeft een beheerdersrol gekregen" in shown
    assert "U bent aan een organisatie toegevoegd" in shown
    assert ("Uw tweede stappen zijn door de helpdesk verwijderd: u stelt er een in bij uw volgende keer inloggen"
            in shown)
    assert not [s for s in shown if s.startswith("Een andere gebeurtenis")]
