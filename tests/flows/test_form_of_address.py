"""The form of address per portal (issue 14): u (formal) or je (informal) on every page of its sign-in and in
every mail and SMS sent for it, each mail and SMS signed by the portal's organisation. One provider, one
browser, a je-portal and a u-portal side by side; Dutch throughout (the default language)."""

from __future__ import annotations

import re

import pytest

from idp.extensions import db
from idp.portals import registry
from tests.flows.page import text
from tests.helpers import RelyingParty, csrf_token
from tests.mfa.conftest import PHONE
from tests.mfa_helpers import SignIn, messages

RESET_LINK = re.compile(r"http://localhost(/reset/[A-Za-z0-9_-]+)")
ACTIVATION_LINK = re.compile(r"http://localhost(/activate/[A-Za-z0-9_-]+)")


@pytest.fixture
def informal(make_portal):
    """A young people's portal of an insurer that says je."""
    portal = make_portal("Jongerenportaal", mfa_factors=["sms", "email"])
    registry.update(portal, profile={"form_of_address": "je", "organisation": "Zorgverzekeraar Zuid"})
    db.session.commit()
    return portal


@pytest.fixture
def formal(make_portal):
    """A GP portal that says u (the default)."""
    portal = make_portal("Huisartsportaal", mfa_factors=["sms", "email"])
    registry.update(portal, profile={"organisation": "Huisartsen Oost"})
    db.session.commit()
    return portal


@pytest.fixture
def anna(user):
    """Anna, with her phone as her second factor."""
    from idp.accounts import factors

    factors.add_confirmed(user, "sms", phone_number=PHONE)
    db.session.commit()
    return user


def second_factor_page(client, portal, user) -> str:
    """The words of the second-factor page after the password at this portal (its first code is sent)."""
    sign_in = SignIn(client, RelyingParty(client, portal).login_url(prompt="login"))
    sign_in.password(user.email)
    assert sign_in.stage == "second_factor"
    return text(sign_in.page())


def test_the_pages_and_the_sms_code_speak_as_each_portal_does(app, client, informal, formal, anna):
    at_informal = second_factor_page(client, informal, anna)
    sms = messages(app, to=PHONE)[0]["body"]
    assert "Bevestig dat jij het bent" in at_informal  # the <title> and the heading
    assert "Zorgverzekeraar Zuid" in at_informal
    assert " u " not in f" {at_informal} " and "uw " not in at_informal
    assert re.fullmatch(r"\d{6} is je inlogcode voor Zorgverzekeraar Zuid, \d+ minuten geldig\. Deel hem nooit\.",
                        sms), sms

    at_formal = second_factor_page(client, formal, anna)
    sms = messages(app, to=PHONE)[0]["body"]
    assert "Bevestig dat u het bent" in at_formal
    assert "jij" not in at_formal and " je " not in at_formal
    assert re.fullmatch(r"\d{6} is uw inlogcode voor Huisartsen Oost, \d+ minuten geldig\. Deel hem nooit\.",
                        sms), sms


def test_the_sms_code_keeps_the_portals_prefix_beside_the_organisation(app, client, informal, anna):
    registry.update(informal, profile={"sms_prefix": "true"})
    db.session.commit()
    page = second_factor_page(client, informal, anna)
    sms = messages(app, to=PHONE)[0]["body"]
    prefix = re.fullmatch(r"(\d{4})-\d{6} is je inlogcode voor Zorgverzekeraar Zuid, .*", sms).group(1)
    assert f"{prefix}-" in page


def test_an_error_on_a_page_of_a_je_portal_says_je(client, informal, formal):
    for portal, expected in ((informal, "Vul je e-mailadres en je wachtwoord in."),
                             (formal, "Vul uw e-mailadres en uw wachtwoord in.")):
        sign_in = SignIn(client, RelyingParty(client, portal).login_url())
        sign_in.password("", "")
        assert expected in text(sign_in.html)


def test_the_e_mail_code_is_signed_by_the_organisation_in_its_form_of_address(app, client, informal, formal, user):
    from idp.accounts import factors

    factors.add_confirmed(user, "email")
    db.session.commit()
    second_factor_page(client, informal, user)
    mail = messages(app, to=user.email, template="login_code")[0]
    assert mail["subject"] == "Je inlogcode voor Zorgverzekeraar Zuid"
    assert "Je code is " in mail["body"]
    assert "Heb je niet geprobeerd in te loggen? Wijzig dan je wachtwoord." in mail["body"]
    assert mail["body"].rstrip().endswith("\nZorgverzekeraar Zuid")
    assert "Inlogdienst" not in mail["body"]

    second_factor_page(client, formal, user)
    mail = messages(app, to=user.email, template="login_code")[0]
    assert mail["subject"] == "Uw inlogcode voor Huisartsen Oost"
    assert "Uw code is " in mail["body"]
    assert "Heeft u niet geprobeerd in te loggen? Wijzig dan uw wachtwoord." in mail["body"]
    assert mail["body"].rstrip().endswith("\nHuisartsen Oost")


def test_the_reset_page_and_mail_of_a_je_portal_say_je_and_name_the_organisation(app, client, informal, user):
    sign_in_url = RelyingParty(client, informal).login_url()
    start = re.search(r'href="(/reset[^"]*)"', client.get(sign_in_url).get_data(as_text=True)).group(1)
    page = client.get(start.replace("&amp;", "&")).get_data(as_text=True)
    assert "Vul het e-mailadres van je account in. We sturen je een link" in text(page)
    data = {"csrf_token": csrf_token(page), "email": user.email}
    data.update(re.findall(r'name="(uid)" value="([^"]+)"', page))
    asked = client.post("/reset", data=data)
    assert asked.status_code in (200, 302)

    mail = messages(app, to=user.email, template="reset_link")[0]
    assert mail["subject"] == "Zorgverzekeraar Zuid: Kies een nieuw wachtwoord"
    said = " ".join(mail["body"].split())
    assert "Iemand, waarschijnlijk jij, heeft een link aangevraagd om een nieuw wachtwoord voor je account" in said
    assert "Heb je hier niet om gevraagd?" in mail["body"]
    assert mail["body"].rstrip().endswith("\nZorgverzekeraar Zuid")

    link = client.get(RESET_LINK.search(mail["body"]).group(1)).get_data(as_text=True)
    assert "Zorgverzekeraar Zuid" in text(link)
    assert " uw " not in text(link)


def test_the_activation_mail_and_pages_of_a_je_portal_say_je(app, client, informal):
    from idp.accounts import activation
    from idp.accounts.users import create_user

    person = create_user("sam@example.org", None, email_verified=False)
    activation.send_link(person, client=informal)
    db.session.commit()

    mail = messages(app, to="sam@example.org", template="activation")[0]
    assert mail["subject"] == "Activeer je account voor Zorgverzekeraar Zuid"
    assert "Er is een account voor je aangemaakt met het adres sam@example.org." in mail["body"]
    assert "Open deze link om het account te activeren en je wachtwoord te kiezen:" in mail["body"]
    assert "Had je deze e-mail niet verwacht?" in mail["body"]
    assert mail["body"].rstrip().endswith("\nZorgverzekeraar Zuid")
    assert "Inlogdienst" not in mail["body"]

    page = text(client.get(ACTIVATION_LINK.search(mail["body"]).group(1)).get_data(as_text=True))
    assert "Kies je wachtwoord" in page
    assert "Kies uw wachtwoord" not in page


def test_a_mail_for_no_portal_keeps_the_formal_form_and_the_generic_signature(app, client, informal):
    from idp.accounts import activation
    from idp.accounts.users import create_user

    person = create_user("kees@example.org", None, email_verified=False)
    activation.send_link(person)  # made by an administrator for no portal in particular
    db.session.commit()

    mail = messages(app, to="kees@example.org", template="activation")[0]
    assert mail["subject"] == "Activeer uw account voor de inlogdienst"
    assert "Er is een account voor u aangemaakt met het adres kees@example.org." in mail["body"]
    assert mail["body"].rstrip().endswith("\nInlogdienst")
    assert "Zorgverzekeraar Zuid" not in mail["body"]


def test_the_enrolment_sms_of_a_je_portal_names_it_and_says_je(app, client, make_portal, user):
    portal = make_portal("Jongerenportaal", mfa="required", mfa_factors=["sms"])
    registry.update(portal, profile={"form_of_address": "je", "organisation": "Zorgverzekeraar Zuid"})
    db.session.commit()
    sign_in = SignIn(client, RelyingParty(client, portal).login_url())
    sign_in.password(user.email)
    assert sign_in.stage == "enrol"
    sign_in.post(action="choose:sms")
    assert "Jongerenportaal vraagt om een tweede stap na je wachtwoord" in text(sign_in.page())
    sign_in.post(action="send", phone="06 12345678")
    sms = messages(app, to=PHONE)[0]["body"]
    assert re.fullmatch(r"\d{6} is je code voor Zorgverzekeraar Zuid om dit nummer te bevestigen voor inloggen, "
                        r"\d+ minuten geldig\.", sms), sms


def test_the_phone_step_after_a_reset_at_a_je_portal_says_je(app, client, informal, anna):
    registry.update(informal, profile={"reset_phone": "true"})
    db.session.commit()
    sign_in_url = RelyingParty(client, informal).login_url()
    start = re.search(r'href="(/reset[^"]*)"', client.get(sign_in_url).get_data(as_text=True)).group(1)
    page = client.get(start.replace("&amp;", "&")).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "email": anna.email}
    data.update(re.findall(r'name="(uid)" value="([^"]+)"', page))
    client.post("/reset", data=data)
    url = RESET_LINK.search(messages(app, to=anna.email, template="reset_link")[0]["body"]).group(1)
    form = client.get(url).get_data(as_text=True)
    saved = client.post(url, data={"csrf_token": csrf_token(form), "new_password": "Blauwe fiets 42 lente",
                                   "confirm_password": "Blauwe fiets 42 lente"})
    assert saved.status_code == 302 and saved.location.endswith("/reset/phone")

    phone = text(client.get("/reset/phone").get_data(as_text=True))
    assert "Je nieuwe wachtwoord is opgeslagen. Vul nu het nummer van je mobiele telefoon in." in phone
    assert "Zorgverzekeraar Zuid" in phone
    mail = messages(app, to=anna.email, template="password_reset")[0]
    assert mail["subject"] == "Zorgverzekeraar Zuid: Je wachtwoord is opnieuw ingesteld"
    assert mail["body"].rstrip().endswith("\nZorgverzekeraar Zuid")
