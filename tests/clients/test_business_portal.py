"""Bas and Fatima use the insurer's business portal (seed 001): business addresses only, an SMS code at every
sign-in, and a Beheer page for the organisation's admin; real HTTP to a real provider."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import time_machine

from tests.clients.conftest import (
    PASSWORD,
    Patient,
    RunningPortal,
    csrf_token,
    logout_token,
    path_of,
    portal_signed_in,
    session_of,
    sign_in,
)
from tests.conformance.live import ServerThread
from tests.helpers import query as query_of
from tests.mfa_helpers import latest_code, messages

pytestmark = pytest.mark.slow
DOMAIN = "business.example.org"
_STAGE = re.compile(r'name="stage"\s+value="([^"]+)"')
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def business(provider) -> RunningPortal:
    """The business portal, registered as `idp clients add --email-domain business.example.org --mfa required
    --mfa-factor sms --trusted-device-days 0` would, and served on a free port."""
    from clients.business import create_app
    from idp.extensions import db
    from idp.portals.registry import register

    server = ServerThread()
    url = f"http://127.0.0.1:{server.port}"
    with provider.app.app_context():
        registered = register("Zakelijk Portaal", [url + "/callback"], post_logout_redirect_uris=[url + "/"],
                              backchannel_logout_uri=url + "/backchannel-logout", first_party=True,
                              mfa="required", mfa_factors=["sms"], trusted_device_days=0,
                              email_domains=[DOMAIN])
        db.session.commit()
        client_id = registered.client.client_id
        db.session.remove()
    app = create_app({"PORTAL_ISSUER": provider.issuer, "PORTAL_CLIENT_ID": client_id,
                      "PORTAL_CLIENT_SECRET": registered.secret, "PORTAL_BASE_URL": url,
                      "PORTAL_SECRET_KEY": f"portal-test-secret-{client_id}", "TESTING": True})
    server.serve(app)
    yield RunningPortal(url, app, client_id)
    server.stop()


def _person(provider, email: str, name: str, roles: tuple[str, ...] = ()) -> Patient:
    """A new account with an SMS second factor (a number of its own: SMS caps and codes don't mix)."""
    from idp.accounts import factors
    from idp.accounts.users import create_user
    from idp.extensions import db

    phone = f"+316{50000000 + next(_numbers)}"  # apart from the numbers of tests/clients/conftest.py
    with provider.app.app_context():
        user = create_user(email, PASSWORD, name=name, phone=phone, roles=roles)
        factors.add_confirmed(user, "sms", phone_number=phone, secret=None)
        db.session.commit()
        sub = user.sub
        db.session.remove()
    return Patient(email, phone, name, sub)


@pytest.fixture
def employee(provider) -> Patient:
    return _person(provider, f"bas{next(_numbers)}@{DOMAIN}", "Bas Bakker")


@pytest.fixture
def admin(provider) -> Patient:
    return _person(provider, f"fatima{next(_numbers)}@{DOMAIN}", "Fatima Ouali", roles=("admin",))


@pytest.fixture
def outsider(provider) -> Patient:
    return _person(provider, f"bas{next(_numbers)}@example.org", "Bas Bakker")


def _walk(http: requests.Session, provider, portal: RunningPortal, person: Patient
          ) -> tuple[requests.Response, dict]:
    """Like conftest.sign_in, but keeps each provider page by its stage (to look at what the person saw)."""
    page = http.get(portal.url + "/login", timeout=10)
    seen: dict[str, str] = {}
    while not page.url.startswith(portal.url):
        assert page.status_code == 200 and page.url.startswith(provider.issuer + "/login/"), page.url
        stage = _STAGE.search(page.text).group(1)
        assert stage not in seen, f"{stage} again"
        seen[stage] = page.text
        data = {"csrf_token": csrf_token(page.text), "stage": stage}
        if stage == "password":
            data.update(username=person.email, password=PASSWORD)
        elif stage == "second_factor":
            data.update(code=latest_code(provider.app, person.phone))
        else:
            return page, seen
        page = http.post(page.url, data=data, timeout=10)
    return page, seen


def _log_out(http: requests.Session, portal: RunningPortal, page_html: str) -> requests.Response:
    response = http.post(portal.url + "/logout", data={"csrf_token": csrf_token(page_html)},
                         allow_redirects=False, timeout=10)
    assert response.status_code == 303
    return http.get(response.headers["Location"], timeout=10)


def test_signing_in_asks_password_and_sms_without_trusting_the_computer(provider, business, employee):
    http = requests.Session()
    welcome = http.get(business.url + "/", timeout=10)
    assert welcome.status_code == 200 and "Inloggen" in welcome.text and "sms-code" in welcome.text

    overview, seen = _walk(http, provider, business, employee)

    assert list(seen) == ["password", "second_factor"]
    assert 'name="trust"' not in seen["second_factor"], "no 'trust this computer' at this portal"
    assert overview.status_code == 200 and path_of(overview.url) == "/overzicht"
    assert "Bas Bakker" in overview.text and "met wachtwoord en sms-code" in overview.text
    assert "Declaraties" in overview.text and "Contracten" in overview.text
    assert "Beheer" not in overview.text and "Beheerder" not in overview.text


def test_the_sms_code_is_asked_again_at_the_next_sign_in(provider, business, employee):
    http = requests.Session()
    first, _ = _walk(http, provider, business, employee)
    landed = _log_out(http, business, first.text)
    assert landed.url == business.url + "/" and not portal_signed_in(http, business)
    sent = len(messages(provider.app, to=employee.phone))

    again, seen = _walk(http, provider, business, employee)

    assert list(seen) == ["password", "second_factor"] and 'name="trust"' not in seen["second_factor"]
    assert len(messages(provider.app, to=employee.phone)) == sent + 1, "a new SMS code for the new sign-in"
    assert path_of(again.url) == "/overzicht"


def test_a_session_from_another_portal_still_asks_password_and_a_new_sms_code(provider, business, portal,
                                                                              employee):
    http = requests.Session()
    other = sign_in(http, provider, portal, employee)
    assert other.stages == ["password", "second_factor"]
    sent = len(messages(provider.app, to=employee.phone))

    overview, seen = _walk(http, provider, business, employee)

    assert list(seen) == ["password", "second_factor"], "no single sign-on into the business portal"
    assert len(messages(provider.app, to=employee.phone)) == sent + 1, "a new SMS code for this sign-in"
    assert path_of(overview.url) == "/overzicht"
    assert parse_qs(urlsplit(_authorize_url(http, business)).query)["prompt"] == ["login"]
    assert session_of(http, business)["sid"] == session_of(http, portal)["sid"], "one provider session"


def test_dropping_prompt_login_from_the_url_does_not_get_past_the_portal(provider, business, portal, employee):
    """The provider answers a request without prompt=login from its single sign-on session; the portal sees
    an auth_time from before its request and refuses (OIDC Core 3.1.2.1: the client checks auth_time)."""
    http = requests.Session()
    sign_in(http, provider, portal, employee)
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=2), tick=True):
        location = _authorize_url(http, business)
        query = {k: v for k, v in query_of(location).items() if k != "prompt"}

        landed = http.get(location.split("?")[0] + "?" + urlencode(query), timeout=10)

    assert path_of(landed.url) == "/callback", "the provider answered at once, from its session"
    assert landed.status_code == 403 and "Opnieuw inloggen" in landed.text
    assert not portal_signed_in(http, business)


def _authorize_url(http: requests.Session, portal: RunningPortal) -> str:
    return http.get(portal.url + "/login", allow_redirects=False, timeout=10).headers["Location"]


def test_an_address_outside_the_business_domain_is_refused_by_the_provider(provider, business, outsider):
    http = requests.Session()

    page, seen = _walk(http, provider, business, outsider)

    assert list(seen) == ["password", "account_allowed"]
    assert page.url.startswith(provider.issuer + "/login/") and f"@{DOMAIN}" in page.text
    assert messages(provider.app, to=outsider.phone) == [], "no SMS code for an account refused here"
    assert not portal_signed_in(http, business)
    assert "sub" not in session_of(http, business)


def test_the_request_asks_for_roles_with_pkce_state_and_nonce(business):
    response = requests.get(business.url + "/login", allow_redirects=False, timeout=10)
    params = query_of(response.headers["Location"])
    assert set(params["scope"].split()) == {"openid", "profile", "email", "phone", "roles"}
    assert params["code_challenge_method"] == "S256" and params["state"] and params["nonce"]


def test_claims_and_contracts_show_the_organisations_demo_data(provider, business, employee):
    http = requests.Session()
    _walk(http, provider, business, employee)

    claims = http.get(business.url + "/declaraties", timeout=10)
    assert claims.status_code == 200 and claims.text.count("<tr>") >= 10
    assert "€ " in claims.text and "Uitbetaald" in claims.text and "Nummer" in claims.text
    assert http.get(business.url + "/declaraties", timeout=10).text == claims.text  # the same every visit
    refused = http.get(business.url + "/declaraties", params={"status": "Afgewezen"}, timeout=10)
    rows = re.findall(r"<tr><td>.*?</tr>", refused.text, re.S)
    assert rows and all("Afgewezen" in row for row in rows) and len(rows) < claims.text.count("<tr>") - 1
    unknown = http.get(business.url + "/declaraties", params={"status": "<script>"}, timeout=10)
    assert unknown.status_code == 200 and "<script>" not in unknown.text

    contracts = http.get(business.url + "/contracten", timeout=10)
    assert contracts.status_code == 200 and "Getekend" in contracts.text and "<table>" in contracts.text


def test_beheer_is_only_for_the_organisations_admin(provider, business, employee, admin):
    http = requests.Session()
    _walk(http, provider, business, employee)
    refused = http.get(business.url + "/beheer", timeout=10)
    assert refused.status_code == 403 and "Geen toegang" in refused.text
    assert "idp users add" not in refused.text

    http = requests.Session()
    overview, _ = _walk(http, provider, business, admin)
    assert 'href="/beheer"' in overview.text and "Beheerder" in overview.text
    page = http.get(business.url + "/beheer", timeout=10)
    assert page.status_code == 200 and admin.email in page.text and f"@{DOMAIN}" in page.text
    assert page.text.count("<tr>") >= 5 and "activatiemail" in page.text and "idp users add" in page.text


def test_signed_out_the_pages_lead_to_the_welcome_page(business):
    for path in ("/overzicht", "/declaraties", "/contracten", "/beheer"):
        response = requests.get(business.url + path, allow_redirects=False, timeout=10)
        assert response.status_code == 302 and response.headers["Location"].endswith("/"), path


def test_logout_goes_through_the_provider_and_back_signed_out(provider, business, employee):
    http = requests.Session()
    overview, _ = _walk(http, provider, business, employee)

    landed = _log_out(http, business, overview.text)

    assert landed.url == business.url + "/" and "Uitloggen" not in landed.text
    assert not portal_signed_in(http, business)
    again = http.get(business.url + "/login", timeout=10)  # the provider's session ended too
    assert again.url.startswith(provider.issuer + "/login/") and 'value="password"' in again.text


def test_logout_at_another_portal_signs_this_one_out_by_back_channel(provider, business, portal, employee):
    http = requests.Session()
    _walk(http, provider, business, employee)
    sid = session_of(http, business)["sid"]
    other = sign_in(http, provider, portal, employee)
    assert other.stages == [], "single sign-on at the patient portal"

    http.post(portal.url + "/logout", data={"csrf_token": csrf_token(other.text)}, timeout=10)

    assert business.app.extensions["ended_sessions"].wait(sid, timeout=15), "no back-channel logout arrived"
    assert not portal_signed_in(http, business)


def test_a_logout_token_for_another_portal_changes_nothing(provider, business, employee):
    http = requests.Session()
    _walk(http, provider, business, employee)
    sid = session_of(http, business)["sid"]

    wrong = requests.post(business.url + "/backchannel-logout", timeout=10,
                          data={"logout_token": logout_token(provider, aud="another-portal", sid=sid)})
    assert wrong.status_code == 400 and portal_signed_in(http, business)
    right = requests.post(business.url + "/backchannel-logout", timeout=10,
                          data={"logout_token": logout_token(provider, aud=business.client_id, sid=sid)})
    assert right.status_code == 200 and not portal_signed_in(http, business)

