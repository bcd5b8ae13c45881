"""The ordering portal: end users reorder their supplies, professionals order for clients with a second factor."""

from __future__ import annotations

import re

import pytest
import requests

from clients.common import roles_of
from clients.ordering.roles import ACR_MFA, SignIn, decide
from tests.clients.conftest import PASSWORD, csrf_token, path_of, portal_signed_in, session_of, sign_in
from tests.helpers import query

pytestmark = pytest.mark.slow
PROFESSIONAL_PAGES = ("/bestellen", "/bestellingen")


def test_the_welcome_page_invites_end_users_to_create_an_account(ordering_portal):
    welcome = requests.get(ordering_portal.url + "/", timeout=10)
    assert welcome.status_code == 200
    assert "Inloggen" in welcome.text and "Account aanmaken" in welcome.text and "Uitloggen" not in welcome.text


def test_sign_in_asks_for_roles_and_only_professionals_for_the_second_factor_level(ordering_portal):
    http = requests.Session()
    plain = query(http.get(ordering_portal.url + "/login", allow_redirects=False, timeout=10).headers["Location"])
    assert set(plain["scope"].split()) == {"openid", "profile", "email", "roles"}
    assert "acr_values" not in plain and plain["code_challenge_method"] == "S256" and plain["nonce"]
    step_up = http.get(ordering_portal.url + "/login/zorgprofessional", allow_redirects=False, timeout=10)
    assert query(step_up.headers["Location"])["acr_values"] == ACR_MFA


def test_an_end_user_signs_in_with_a_password_and_reorders(provider, ordering_portal, make_person):
    person = make_person()
    http = requests.Session()

    home = sign_in(http, provider, ordering_portal, person)

    assert home.stages == ["password"] and path_of(home.url) == "/overzicht"
    assert "Eva Eindgebruiker" in home.text and "met wachtwoord" in home.text
    assert "Mijn bestellingen" in home.text and "Mijn gegevens" in home.text
    assert "Bestellen voor een cliënt" not in home.text
    assert session_of(http, ordering_portal)["roles"] == []

    mine = http.get(ordering_portal.url + "/mijn-bestellingen", timeout=10)
    assert mine.status_code == 200 and "Geleverd" in mine.text and "Ontvangen" not in mine.text
    number = re.search(r'action="/mijn-bestellingen/([^/"]+)/opnieuw"', mine.text).group(1)
    again = http.post(f"{ordering_portal.url}/mijn-bestellingen/{number}/opnieuw",
                      data={"csrf_token": csrf_token(mine.text)}, timeout=10)
    assert again.status_code == 200 and path_of(again.url) == "/mijn-bestellingen"
    assert f"bestelling {number} opnieuw besteld" in again.text and "Ontvangen" in again.text
    unknown = http.post(f"{ordering_portal.url}/mijn-bestellingen/B-1/opnieuw",
                        data={"csrf_token": csrf_token(mine.text)}, timeout=10)
    assert unknown.status_code == 404

    details = http.get(ordering_portal.url + "/mijn-gegevens", timeout=10)
    assert details.status_code == 200 and person.email in details.text and "Eindgebruiker" in details.text
    assert "Afleveradres" in details.text and provider.issuer + "/account/" in details.text


def test_an_end_user_cannot_open_the_professional_pages(provider, ordering_portal, make_person):
    http = requests.Session()
    home = sign_in(http, provider, ordering_portal, make_person())
    for path in PROFESSIONAL_PAGES:
        page = http.get(ordering_portal.url + path, timeout=10)
        assert page.status_code == 403 and "Alleen voor zorgprofessionals" in page.text, path
    posted = http.post(ordering_portal.url + "/bestellen", timeout=10, data={
        "csrf_token": csrf_token(home.text), "client": "Jan", "qty-HAN-610": "2", "street": "Dorpsstraat 1",
        "postcode": "1234 AB", "city": "Utrecht"})
    assert posted.status_code == 403
    assert portal_signed_in(http, ordering_portal)


def test_signed_out_the_pages_lead_to_the_welcome_page(ordering_portal):
    for path in ("/overzicht", "/mijn-bestellingen", "/mijn-gegevens", *PROFESSIONAL_PAGES):
        response = requests.get(ordering_portal.url + path, allow_redirects=False, timeout=10)
        assert response.status_code == 302 and response.headers["Location"].endswith("/"), path


def test_a_professional_signed_in_with_a_password_only_is_stepped_up(provider, ordering_portal_without_mfa,
                                                                       make_person):
    portal = ordering_portal_without_mfa  # registered with mfa off: the provider itself asks nothing more
    professional = make_person(roles=["professional"], sms=True, name="Dr. Fatima El Amrani")
    http = requests.Session()

    home = sign_in(http, provider, portal, professional)

    assert home.stages == ["password", "second_factor"], "the portal asked the second factor with acr_values"
    kept = session_of(http, portal)
    assert kept["acr"] == ACR_MFA and "sms" in kept["amr"]
    assert path_of(home.url) == "/overzicht" and "Bestellen voor een cliënt" in home.text
    assert "met wachtwoord en sms-code" in home.text and "(zorgprofessional)" in home.text


def test_a_professional_orders_for_a_client(provider, ordering_portal, make_person):
    professional = make_person(roles=["professional"], sms=True, name="Dr. Fatima El Amrani")
    http = requests.Session()
    home = sign_in(http, provider, ordering_portal, professional)
    assert session_of(http, ordering_portal)["roles"] == ["professional"]
    assert home.stages == ["password", "second_factor"] and session_of(http, ordering_portal)["acr"] == ACR_MFA
    assert "Mijn bestellingen" not in home.text

    page = http.get(ordering_portal.url + "/bestellen", timeout=10)
    assert page.status_code == 200 and 'name="qty-WND-310"' in page.text
    form = {"csrf_token": csrf_token(page.text), "client": "Mevrouw J. de Vries", "qty-WND-310": "3",
            "qty-HAN-610": "1", "street": "Lindelaan 12", "postcode": "3511ab", "city": "Utrecht"}
    for wrong in ({"qty-WND-310": "", "qty-HAN-610": "0"}, {"qty-WND-310": "99"}, {"postcode": "35"},
                  {"client": " "}, {"street": ""}):
        refused = http.post(ordering_portal.url + "/bestellen", data={**form, **wrong}, timeout=10)
        assert refused.status_code == 400 and 'role="alert"' in refused.text, wrong
        assert 'value="Lindelaan 12"' in refused.text or wrong == {"street": ""}, "what was typed stays"

    placed = http.post(ordering_portal.url + "/bestellen", data=form, timeout=10)

    assert placed.status_code == 200 and path_of(placed.url) == "/bestellingen"
    assert "Mevrouw J. de Vries" in placed.text and "Ontvangen" in placed.text
    assert "3 × Schuimverband 10 x 10 cm" in placed.text and "3511 AB Utrecht" in placed.text
    assert "Geleverd" not in placed.text  # no made-up history for professionals
    details = http.get(ordering_portal.url + "/mijn-gegevens", timeout=10)
    assert "Zorgprofessional" in details.text


def test_a_professional_without_a_second_factor_must_add_one_first(provider, ordering_portal, make_person):
    professional = make_person(roles=["professional"])
    http = requests.Session()
    page = http.get(ordering_portal.url + "/login", timeout=10)
    for _ in range(2):  # the step-up asks the password again: adding a factor needs a fresh one
        assert page.url.startswith(provider.issuer + "/login/") and 'value="password"' in page.text
        page = http.post(page.url, timeout=10, data={"csrf_token": csrf_token(page.text), "stage": "password",
                                                     "username": professional.email, "password": PASSWORD})

    assert page.url.startswith(provider.issuer + "/login/") and 'value="enrol"' in page.text
    assert not portal_signed_in(http, ordering_portal), "not signed in at the portal with a password only"


@pytest.mark.parametrize(("roles", "acr", "asked", "verdict"), [
    ([], "urn:idp:acr:password", False, SignIn.ACCEPT),
    (["enduser"], "urn:idp:acr:password", True, SignIn.ACCEPT),
    (["professional"], ACR_MFA, False, SignIn.ACCEPT),
    (["professional"], "urn:idp:acr:password", False, SignIn.STEP_UP),
    (["professional"], None, False, SignIn.STEP_UP),
    (["professional"], "urn:idp:acr:password", True, SignIn.REFUSE),
    (["professional", "admin"], None, True, SignIn.REFUSE),
])
def test_professionals_need_the_second_factor_level(roles, acr, asked, verdict):
    assert decide(roles_of({"roles": roles}), acr, asked) is verdict


def test_roles_are_read_leniently_and_absent_roles_mean_an_end_user():
    assert roles_of({"sub": "x"}) is None and roles_of(None) is None
    assert roles_of({"roles": "professional admin"}) == ["admin", "professional"]
    assert roles_of({"roles": ["professional", 3, None, ""]}) == ["professional"]
    assert roles_of({"roles": {"professional": True}}) == []
    assert decide(None, None, False) is SignIn.ACCEPT


def test_logout_goes_through_the_provider_and_back_signed_out(provider, ordering_portal, make_person):
    http = requests.Session()
    home = sign_in(http, provider, ordering_portal, make_person())

    response = http.post(ordering_portal.url + "/logout", data={"csrf_token": csrf_token(home.text)},
                         allow_redirects=False, timeout=10)
    assert response.status_code == 303 and response.headers["Location"].startswith(provider.issuer + "/")
    landed = http.get(response.headers["Location"], timeout=10)

    assert landed.url == ordering_portal.url + "/" and "Inloggen" in landed.text and "Uitloggen" not in landed.text
    assert not portal_signed_in(http, ordering_portal)
    again = http.get(ordering_portal.url + "/login", timeout=10)
    assert again.url.startswith(provider.issuer + "/login/") and 'value="password"' in again.text


def test_logout_at_the_patient_portal_signs_the_ordering_portal_out(provider, ordering_portal, portal, make_person):
    person = make_person(sms=True)
    http = requests.Session()
    sign_in(http, provider, ordering_portal, person)
    sid = session_of(http, ordering_portal)["sid"]
    other = sign_in(http, provider, portal, person)
    assert other.stages == [], "single sign-on: the SMS code counts at the patient portal too"

    http.post(portal.url + "/logout", data={"csrf_token": csrf_token(other.text)}, timeout=10)

    assert ordering_portal.app.extensions["ended_sessions"].wait(sid, timeout=15), "no back-channel logout arrived"
    assert not portal_signed_in(http, ordering_portal)
