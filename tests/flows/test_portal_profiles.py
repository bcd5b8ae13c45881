"""Per-portal sign-in profiles (issue 14 part 1): two portals with opposite profiles on one provider, one
browser; each field is the portal's own or the deployment's default."""

from __future__ import annotations

import re

import pytest

from idp.errors import InvalidInput
from idp.extensions import db
from idp.portals import profile, registry
from tests.helpers import RelyingParty, csrf_token
from tests.mfa.conftest import PHONE
from tests.mfa_helpers import SignIn, messages

PASSWORD = "correct horse battery"


@pytest.fixture
def insurer(make_portal):
    """Seed 001: SMS at sign-in, the phone number never released, the phone set again after a reset."""
    portal = make_portal("Zakelijk portaal", mfa_factors=["sms"])
    registry.update(portal, profile={"withheld_claims": "phone_number,phone_number_verified",
                                     "reset_phone": "true"})
    db.session.commit()
    return portal


@pytest.fixture
def care(make_portal):
    """Seed 002: a prefix before the SMS code, "forgot password" asks the username too."""
    portal = make_portal("Clientportaal", mfa_factors=["sms"])
    registry.update(portal, profile={"sms_prefix": "true", "reset_asks_username": "true"})
    db.session.commit()
    return portal


@pytest.fixture
def anna(user):
    """Anna with her phone as a second factor: asked for it at both portals (mfa optional)."""
    from idp.accounts import factors

    factors.add_confirmed(user, "sms", phone_number=PHONE)
    db.session.commit()
    return user


def sms_page(client, portal, user) -> str:
    """The second-factor page after the password at this portal (its first code sent)."""
    sign_in = SignIn(client, RelyingParty(client, portal).login_url(prompt="login"))
    sign_in.password(user.email)
    assert sign_in.stage == "second_factor"
    return sign_in.page()


def test_the_prefix_is_shown_at_one_portal_and_not_at_the_other(app, client, insurer, care, anna):
    at_care = sms_page(client, care, anna)
    sms = messages(app, to=PHONE)[0]["body"]
    prefix = re.search(r"(\d{4})-\d{6}", sms).group(1)
    assert f"{prefix}-" in at_care

    at_insurer = sms_page(client, insurer, anna)
    sms = messages(app, to=PHONE)[0]["body"]
    assert not re.search(r"\d{4}-\d{6}", sms)
    assert 'class="prefix"' not in at_insurer


def test_each_portal_sends_codes_of_its_own_length_and_takes_them_with_or_without_the_prefix(
        app, client, care, insurer, anna):
    registry.update(care, profile={"sms_code_length": "8"})
    db.session.commit()
    sign_in = SignIn(client, RelyingParty(client, care).login_url(prompt="login"))
    sign_in.password(anna.email)
    assert sign_in.stage == "second_factor"
    prefix, code = re.search(r"\b(\d{4})-(\d+)\b", messages(app, to=PHONE)[0]["body"]).groups()
    assert len(code) == 8
    sign_in.post(code=f"{prefix}-{code}")  # as the SMS shows it: this page's prefix is dropped
    assert sign_in.finished(care.redirect_uris[0])["code"]

    sms_page(client, insurer, anna)  # the insurer sets nothing: the deployment's six digits, no prefix
    assert re.fullmatch(r"\d{6}", re.search(r"\b(\d+) ", messages(app, to=PHONE)[0]["body"]).group(1))


@pytest.mark.parametrize("value", ["5", "11", "eight", "\u0667"])
def test_a_code_length_a_person_could_guess_or_not_type_is_refused(app, make_portal, value):
    portal = make_portal("Portaal")
    with pytest.raises(InvalidInput, match="profile sms_code_length: a number from 6 to 10"):
        registry.update(portal, profile={"sms_code_length": value})
    db.session.rollback()
    assert "sms_code_length" not in (db.session.get(type(portal), portal.id).profile or {})


def test_the_phone_number_never_reaches_the_portal_that_withholds_it(client, insurer, make_portal, user):
    patient = make_portal("Huisartsportaal")
    released = RelyingParty(client, patient).tokens(user.email, PASSWORD)
    assert RelyingParty(client, patient).decode_id_token(released["id_token"])["phone_number"] == PHONE

    withheld = RelyingParty(client, insurer)
    # The insurer asks for the phone scope like any portal; its profile withholds the claims.
    tokens = withheld.tokens(user.email, PASSWORD, prompt="login")
    claims = withheld.decode_id_token(tokens["id_token"])
    assert "phone_number" not in claims and "phone_number_verified" not in claims
    info = withheld.userinfo(tokens["access_token"]).get_json()
    assert info["email"] == user.email
    assert "phone_number" not in info and "phone_number_verified" not in info


def test_consent_does_not_ask_for_what_the_portal_will_never_receive(client, make_portal, user):
    shop = make_portal("Thuiszorgwinkel", first_party=False)
    registry.update(shop, profile={"withheld_claims": "phone_number,phone_number_verified"})
    db.session.commit()
    sign_in = SignIn(client, RelyingParty(client, shop).login_url(ui_locales="en"))
    sign_in.password(user.email)
    page = sign_in.page()
    assert sign_in.stage == "consent"
    assert "Your e-mail address" in page and "Your mobile phone number" not in page


def test_forgot_password_asks_the_username_only_where_the_portal_does(client, insurer, care):
    for portal, asks in ((care, True), (insurer, False)):
        uid = RelyingParty(client, portal).login_url().rsplit("/", 1)[1]
        page = client.get(f"/reset?uid={uid}").get_data(as_text=True)
        assert ('name="username"' in page) is asks


def test_a_reset_from_the_insurer_sets_the_phone_again_and_one_from_the_care_portal_does_not(
        app, client, insurer, care, anna):
    from idp.accounts import links

    for portal, then in ((insurer, "/reset/phone"), (care, None)):
        _, url = links.issue(links.RESET, user=anna, client_id=portal.client_id)
        db.session.commit()
        token = url.rsplit("/", 1)[1]
        page = client.get(f"/reset/{token}").get_data(as_text=True)
        response = client.post(f"/reset/{token}", data={"csrf_token": csrf_token(page),
                                                        "new_password": f"a new password for {portal.name}",
                                                        "confirm_password": f"a new password for {portal.name}"})
        assert response.status_code == 302
        assert (response.location == then) if then else ("/reset/phone" not in response.location)


def test_every_field_is_the_default_until_the_portal_sets_it(app, make_portal, settings):
    portal = make_portal("Nieuw portaal")
    explained = profile.explain(portal)
    assert {f["from"] for f in explained.values()} == {"default"}
    assert explained["sms_prefix"]["value"] is settings.codes.sms_prefix
    registry.update(portal, profile={"sms_prefix": "yes"})
    assert profile.explain(portal)["sms_prefix"] == {"value": True, "from": "portal"}
    registry.update(portal, profile={"sms_prefix": None})  # back to the deployment's setting
    assert profile.explain(portal)["sms_prefix"]["from"] == "default"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("colour", "red", "no profile field 'colour'"),
    ("sms_prefix", "maybe", "profile sms_prefix: not true or false"),
    ("withheld_claims", "sub", "profile withheld_claims: cannot withhold sub"),
])
def test_a_bad_field_or_value_changes_nothing(app, make_portal, field, value, message):
    portal = make_portal("Portaal")
    registry.update(portal, profile={"reset_phone": "true"})
    db.session.commit()
    with pytest.raises(InvalidInput, match=message):
        registry.update(portal, profile={"sms_prefix": "true", field: value})
    db.session.rollback()
    db.session.refresh(portal)
    assert portal.profile == {"reset_phone": True}


def test_every_page_of_a_portals_sign_in_shows_whose_it_is(client, make_portal):
    """Issue 14: the organisation's name (header and <title>), its accent colour and help page; a portal that
    sets no organisation is named by its own name, with our colours."""
    linde = make_portal("Clientportaal")
    registry.update(linde, profile={"organisation": "Thuiszorg De Linde", "accent_colour": "#7A1F5C",
                                    "support_url": "https://linde.example.org/hulp"})
    plain = make_portal("Huisartsportaal")
    db.session.commit()

    login = RelyingParty(client, linde).login_url(ui_locales="en")
    page = client.get(login).get_data(as_text=True)
    assert re.search(r"<title>[^<]* · Thuiszorg De Linde</title>", page)
    assert '<span class="brand">Thuiszorg De Linde' in page
    assert 'href="https://linde.example.org/hulp">Help from Thuiszorg De Linde</a>' in page
    style = re.search(r'<link rel="stylesheet" href="(/portal-style/[^"]+\.css)">', page).group(1)
    css = client.get(style)
    assert css.mimetype == "text/css" and "--accent: #7a1f5c;" in css.get_data(as_text=True)
    uid = login.rsplit("/", 1)[1]
    assert "· Thuiszorg De Linde</title>" in client.get(f"/reset?uid={uid}").get_data(as_text=True)

    other = client.get(RelyingParty(client, plain).login_url(ui_locales="en")).get_data(as_text=True)
    assert re.search(r"<title>[^<]* · Huisartsportaal</title>", other)
    assert "/portal-style/" not in other and "Thuiszorg" not in other and 'class="help"' not in other
    home = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "· Sign-in service</title>" in home  # a page of no portal's sign-in
    assert client.get(f"/portal-style/{plain.client_id}.css").status_code == 404


def test_the_logo_shows_on_its_portals_pages_and_only_its_origin_is_let_in(client, make_portal):
    linde = make_portal("Clientportaal")
    registry.update(linde, profile={"logo_url": "https://linde.example.org/static/logo.png"})
    plain = make_portal("Huisartsportaal")
    db.session.commit()

    response = client.get(RelyingParty(client, linde).login_url())
    assert '<img class="logo" src="https://linde.example.org/static/logo.png" alt=""' in response.get_data(as_text=True)
    policy = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://linde.example.org;" in policy and "script-src 'self';" in policy

    other = client.get(RelyingParty(client, plain).login_url())
    assert 'class="logo"' not in other.get_data(as_text=True)
    assert "linde.example.org" not in other.headers["Content-Security-Policy"]


@pytest.mark.parametrize(("value", "message"), [
    ("javascript:alert(1)", "not an http"),
    ("data:image/png;base64,AAAA", "not an http"),
    ("http://linde.example.org/logo.png", "over https outside dev mode"),
])
@pytest.mark.parametrize("settings_overrides", [{"server": {"dev_mode": False}}])
def test_a_logo_that_is_not_an_https_address_is_refused(app, make_portal, value, message):
    portal = make_portal("Portaal", redirect_uris=["https://portaal.example.org/callback"],
                         post_logout_redirect_uris=[])
    with pytest.raises(InvalidInput, match=message):
        registry.update(portal, profile={"logo_url": value})
    db.session.rollback()
    assert "logo_url" not in (db.session.get(type(portal), portal.id).profile or {})


def test_a_colour_too_light_to_read_is_refused(app, make_portal):
    portal = make_portal("Portaal")
    with pytest.raises(InvalidInput, match="too light on white"):
        registry.update(portal, profile={"accent_colour": "#ffcc00"})
    assert profile.contrast_on_white("#0b5cad") > 4.5  # ours


def test_help_by_role_in_the_mails_but_never_on_a_page_before_the_password(app, client, make_portal, make_user):
    """Seed 000: professionals write to one address, end users to another. The locked page is the same for
    everyone (it must not tell who is a professional); the mail to the owner names their own contact."""
    shop = make_portal("Bestelportaal", help_contact="de servicedesk, 088 000 00 00")
    registry.update(shop, profile={"help_by_role": "professional=bestellingen@zorg.example.org;"
                                                   "end_user=klantenservice@zorg.example.org"})
    db.session.commit()
    nurse = make_user("nurse@example.org", roles=["professional"], locale="en")
    patient = make_user("patient@example.org", roles=["end_user"], locale="en")
    pages = []
    for person in (nurse, patient):
        sign_in = SignIn(client, RelyingParty(client, shop).login_url(ui_locales="en", prompt="login"))
        for _ in range(5):
            page = sign_in.password(person.email, "not the password").get_data(as_text=True)
        pages.append(re.search(r'role="alert"[^>]*>([^<]+)<', page).group(1))
    assert pages[0] == pages[1] and "088 000 00 00" in pages[0]  # the portal's contact, for everyone
    [to_nurse] = messages(app, to=nurse.email, template="account_locked")
    [to_patient] = messages(app, to=patient.email, template="account_locked")
    assert "bestellingen@zorg.example.org" in to_nurse["body"] and "klantenservice" not in to_nurse["body"]
    assert "klantenservice@zorg.example.org" in to_patient["body"]


def test_the_code_page_says_whom_to_ask_when_no_code_comes(client, make_portal, make_user):
    """Seed 002: no SMS? Call your EVV'er. After the password the person is known, so the contact for their role
    is named; a portal without a contact still says what to try."""
    from idp.accounts import factors

    care = make_portal("Clientportaal", mfa="every", mfa_factors=["sms"],
                       help_contact="uw EVV'er of de teamleider")
    plain = make_portal("Winkel", mfa="every", mfa_factors=["sms"])
    registry.update(care, profile={"help_by_role": "professional=planning@avondrood.example"})
    db.session.commit()
    client_person = make_user("wilma@example.org", locale="nl")
    nurse = make_user("nurse@example.org", roles=["professional"], locale="nl")
    for person in (client_person, nurse):
        factors.add_confirmed(person, "sms", phone_number=PHONE)
    db.session.commit()

    at_care = sms_page(client, care, client_person)
    assert "Geen code ontvangen?" in at_care and "Neem contact op met uw EVV&#39;er of de teamleider." in at_care
    for_nurse = sms_page(client, care, nurse)
    assert "Neem contact op met planning@avondrood.example." in for_nurse and "EVV" not in for_nurse
    at_plain = sms_page(client, plain, client_person)
    assert "Geen code ontvangen? Wacht een minuut en vraag dan een nieuwe code aan.</p>" in at_plain
    assert "Neem contact op" not in at_plain


def test_a_reset_done_in_another_browser_leads_back_to_its_portal(client, app, make_portal, user):
    from idp.accounts import links

    portal = make_portal("Clientportaal")
    registry.update(portal, profile={"sign_in_url": "https://client.example.org/login",
                                     "organisation": "Thuiszorg De Linde"})
    _, url = links.issue(links.RESET, user=user, client_id=portal.client_id)
    db.session.commit()
    token = url.rsplit("/", 1)[1]
    page = client.get(f"/reset/{token}").get_data(as_text=True)
    assert "Thuiszorg De Linde" in page
    done = client.post(f"/reset/{token}", data={"csrf_token": csrf_token(page), "new_password": "een nieuw wachtwoord",
                                                "confirm_password": "een nieuw wachtwoord"})
    landing = client.get(done.location, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'href="https://client.example.org/login"' in landing and "Go to Clientportaal" in landing
    assert "· Thuiszorg De Linde</title>" in landing


@pytest.mark.parametrize(("sign_in_with", "label", "works", "refused"), [
    ("username", "Username", "anna.devries", "anna@example.org"),  # seeds 002 and 004: an inlognaam
    ("email", "E-mail address", "anna@example.org", "anna.devries"),
])
def test_a_portal_signs_people_in_by_the_name_it_chose(client, make_portal, make_user, sign_in_with, label, works,
                                                        refused):
    make_user("anna@example.org", username="anna.devries")
    portal = make_portal("Portaal")
    registry.update(portal, profile={"sign_in_with": sign_in_with})
    db.session.commit()
    rp = RelyingParty(client, portal)
    page = client.get(rp.login_url(ui_locales="en")).get_data(as_text=True)
    assert f'<label for="username">{label}</label>' in page
    wrong = SignIn(client, rp.login_url(ui_locales="en", prompt="login"))
    assert "is not correct" in wrong.password(refused, PASSWORD).get_data(as_text=True)
    assert "code" in rp.sign_in(works, PASSWORD, prompt="login")


def test_someone_without_a_username_signs_in_by_e_mail_at_a_portal_of_usernames(client, make_portal, make_user):
    """A contact person invited by e-mail has no username (issue 15, seed 002): at the elderly-care portal, which
    signs its clients in by username, she types her e-mail address, as login_name tells her. Someone with a
    username still uses it there."""
    make_user("dochter@example.org", name="Els Jansen")
    make_user("anna@example.org", username="anna.devries")
    portal = make_portal("Mijn Avondrood")
    registry.update(portal, profile={"sign_in_with": "username"})
    db.session.commit()
    rp = RelyingParty(client, portal)
    assert "code" in rp.sign_in("dochter@example.org", PASSWORD, prompt="login")
    wrong = SignIn(client, rp.login_url(ui_locales="en", prompt="login"))
    assert "is not correct" in wrong.password("anna@example.org", PASSWORD).get_data(as_text=True)


@pytest.mark.parametrize("settings_overrides", [{"password_policies": {"ggz": {"min_length": 12, "min_special": 1}}}])
def test_every_link_page_is_in_its_portals_look_with_its_policy(client, app, make_portal, make_user):
    """Activation, reset and registration links each open in the look of the portal they were sent for, with
    that portal's password rules; a link for another portal looks like that one."""
    from idp.accounts import activation, links, registration
    from idp.accounts.users import create_user

    ggz = make_portal("Mijn Helder", password_policy="ggz", registration=True)
    registry.update(ggz, profile={"organisation": "GGZ Helder", "accent_colour": "#1f4e79"})
    other = make_portal("Huisartsportaal")
    newcomer = create_user("nieuw@example.org", None, email_verified=False, locale="en")
    registration.request_link(ggz, "later@example.org", flow_uid=None, locale="en")
    sent = [
        activation.send_link(newcomer, client=ggz),
        links.issue(links.RESET, user=make_user("anna@example.org"), client_id=ggz.client_id)[1],
        re.search(r"http://localhost/register/\S+", messages(app, to="later@example.org")[0]["body"]).group(0),
    ]
    for_the_other = links.issue(links.RESET, user=make_user("bob@example.org"), client_id=other.client_id)[1]
    db.session.commit()

    def page(url: str) -> str:
        return client.get(url.replace("http://localhost", ""), headers={"Accept-Language": "en"}).get_data(
            as_text=True)

    pages = [page(url) for url in sent]
    assert all("· GGZ Helder</title>" in html and "/portal-style/" in html for html in pages)
    assert all("At least 12 characters" in html for html in pages)
    elsewhere = page(for_the_other)
    assert "· Huisartsportaal</title>" in elsewhere and "GGZ Helder" not in elsewhere
    assert "At least 12 characters" not in elsewhere


def test_mails_from_the_account_pages_are_signed_by_the_sign_in_service_not_by_a_portal(app, make_portal):
    """The provider's own account pages are a client of itself, named "My account" in the reader's language:
    not an organisation to sign a mail or to put before its subject."""
    from idp.accounts.entry import ensure_account_client

    account_pages = ensure_account_client()
    portal = make_portal("Huisartsportaal")
    assert profile.sender(account_pages) is None
    assert profile.sender(portal).name == "Huisartsportaal"


@pytest.mark.parametrize("name", ["Zorg\nBcc: x@example.org", "Zorg\rportaal", "Zorg\x00", "x" * 201])
def test_a_portal_name_that_would_break_a_page_or_a_mail_subject_is_refused(app, make_portal, name):
    portal = make_portal("Huisartsportaal")
    with pytest.raises(InvalidInput, match=r"^a portal's name is (one line|at most 200)"):
        registry.update(portal, name=name)
    db.session.rollback()
    assert db.session.get(type(portal), portal.id).name == "Huisartsportaal"
    with pytest.raises(InvalidInput, match=r"^a portal's name is (one line|at most 200)"):
        registry.register(name, ["http://127.0.0.1:9100/callback"])
