"""Petra uses the GP practice's patient portal: real HTTP to a real provider, password and SMS code, logout."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from clients.backchannel import EVENT as BACKCHANNEL_EVENT
from tests.clients.conftest import (
    csrf_token,
    logout_token,
    path_of,
    portal_signed_in,
    session_of,
    sign_in,
    sign_in_choosing,
)
from tests.conformance.forge import tamper_payload
from tests.helpers import query as query_of

pytestmark = pytest.mark.slow


def test_signing_in_with_password_and_sms_shows_who_and_how(provider, portal, patient):
    http = requests.Session()
    welcome = http.get(portal.url + "/", timeout=10)
    assert welcome.status_code == 200 and "Inloggen" in welcome.text

    dashboard = sign_in(http, provider, portal, patient)

    assert dashboard.stages == ["password", "second_factor"]
    assert dashboard.status_code == 200 and path_of(dashboard.url) == "/overzicht"
    assert "Petra Patiënt" in dashboard.text
    assert "met wachtwoord en sms-code" in dashboard.text and "sinds" in dashboard.text
    assert "Uitloggen" in dashboard.text
    kept = session_of(http, portal)
    assert kept["sub"] == patient.sub and kept["acr"] == "urn:idp:acr:mfa"
    assert kept["amr"] == ["mfa", "pwd", "sms"] and kept["sid"] and kept["email"] == patient.email
    assert "script-src" not in dashboard.headers["Content-Security-Policy"]  # default-src 'self': no inline


def test_the_sign_in_request_uses_pkce_state_and_nonce(portal):
    http = requests.Session()
    response = http.get(portal.url + "/login", allow_redirects=False, timeout=10)
    params = query_of(response.headers["Location"])
    assert params["code_challenge_method"] == "S256" and params["code_challenge"]
    assert params["state"] and params["nonce"] and params["redirect_uri"] == portal.url + "/callback"
    assert set(params["scope"].split()) == {"openid", "profile", "email", "phone"}


def test_every_page_answers_and_its_form_works(provider, portal, patient):
    http = requests.Session()
    sign_in(http, provider, portal, patient)
    for path in ("/afspraken", "/vraag", "/herhaalrecepten", "/uitslagen"):
        assert http.get(portal.url + path, timeout=10).status_code == 200, path

    page = http.get(portal.url + "/afspraken", timeout=10)
    slot = re.search(r'name="slot" value="([^"]+)"', page.text).group(1)
    booked = http.post(portal.url + "/afspraken", timeout=10,
                       data={"csrf_token": csrf_token(page.text), "slot": slot, "reason": "Pijnlijke knie"})
    assert booked.status_code == 200 and "Uw afspraak is gemaakt" in booked.text
    assert "Pijnlijke knie" in booked.text and f'value="{slot}"' not in booked.text  # no longer free
    refused = http.post(portal.url + "/afspraken", data={"csrf_token": csrf_token(page.text), "slot": slot},
                        timeout=10)
    assert refused.status_code == 400 and 'role="alert"' in refused.text

    page = http.get(portal.url + "/vraag", timeout=10)
    asked = http.post(portal.url + "/vraag", timeout=10, data={
        "csrf_token": csrf_token(page.text), "subject": "Bloeddruk", "text": "Moet ik mijn pillen 's ochtends nemen?"})
    assert asked.status_code == 200 and "In behandeling" in asked.text
    assert "Moet ik mijn pillen 's ochtends nemen?" in asked.text or "Moet ik mijn pillen &#39;s ochtends" in asked.text
    empty = http.post(portal.url + "/vraag", data={"csrf_token": csrf_token(page.text), "text": " "}, timeout=10)
    assert empty.status_code == 400 and 'role="alert"' in empty.text

    page = http.get(portal.url + "/herhaalrecepten", timeout=10)
    medicine = re.search(r'name="medicine" value="([^"]+)"', page.text).group(1)
    assert "Aangevraagd op" not in page.text
    requested = http.post(portal.url + "/herhaalrecepten", timeout=10,
                          data={"csrf_token": csrf_token(page.text), "medicine": [medicine]})
    assert requested.status_code == 200 and "Aangevraagd op" in requested.text

    results = http.get(portal.url + "/uitslagen", timeout=10)
    assert "<table>" in results.text and results.text.count("<tr>") >= 5
    assert http.get(portal.url + "/uitslagen", timeout=10).text == results.text  # the same data every visit


def test_a_form_without_its_token_changes_nothing(provider, portal, patient):
    http = requests.Session()
    sign_in(http, provider, portal, patient)
    forged = http.post(portal.url + "/vraag", data={"text": "Van een andere site"}, timeout=10)
    assert forged.status_code == 400
    assert "Van een andere site" not in http.get(portal.url + "/vraag", timeout=10).text
    assert http.post(portal.url + "/logout", data={}, allow_redirects=False, timeout=10).status_code == 400
    assert portal_signed_in(http, portal)


def test_signed_out_the_pages_lead_to_the_welcome_page(portal):
    http = requests.Session()
    for path in ("/overzicht", "/afspraken", "/vraag", "/herhaalrecepten", "/uitslagen"):
        response = http.get(portal.url + path, allow_redirects=False, timeout=10)
        assert response.status_code == 302 and response.headers["Location"].endswith("/"), path


def test_logout_goes_through_the_provider_and_back_to_the_portal_signed_out(provider, portal, patient):
    http = requests.Session()
    dashboard = sign_in(http, provider, portal, patient)

    response = http.post(portal.url + "/logout", data={"csrf_token": csrf_token(dashboard.text)},
                         allow_redirects=False, timeout=10)
    assert response.status_code == 303
    end_session = response.headers["Location"]
    assert end_session.startswith(provider.issuer + "/")
    assert parse_qs(urlsplit(end_session).query)["post_logout_redirect_uri"] == [portal.url + "/"]
    landed = http.get(end_session, timeout=10)

    assert landed.url == portal.url + "/" and "Inloggen" in landed.text and "Uitloggen" not in landed.text
    assert not portal_signed_in(http, portal)
    again = http.get(portal.url + "/login", timeout=10)  # the provider's session ended too
    assert again.url.startswith(provider.issuer + "/login/") and 'value="password"' in again.text


def test_logout_at_another_portal_signs_this_one_out_by_back_channel(provider, portal, second_portal, patient):
    http = requests.Session()
    sign_in(http, provider, portal, patient)
    sid = session_of(http, portal)["sid"]
    other = sign_in(http, provider, second_portal, patient)
    assert other.stages == [], "single sign-on: no password or code at the second portal"
    assert session_of(http, second_portal)["sid"] == sid

    http.post(second_portal.url + "/logout", data={"csrf_token": csrf_token(other.text)}, timeout=10)

    assert portal.app.extensions["ended_sessions"].wait(sid, timeout=15), "no back-channel logout arrived"
    assert not portal_signed_in(http, portal)
    assert http.get(portal.url + "/", timeout=10).text.count("Uitloggen") == 0


def test_forged_logout_tokens_are_refused_and_change_nothing(provider, portal, patient):
    http = requests.Session()
    sign_in(http, provider, portal, patient)
    sid = session_of(http, portal)["sid"]
    genuine = logout_token(provider, aud=portal.client_id, sub=patient.sub, sid=sid)
    stranger = RSAKey.generate_key(2048, parameters={"kid": "attacker"})
    now = int(time.time())
    forged = {
        "wrong signature": tamper_payload(genuine, jti="again"),
        "wrong key": jwt.encode({"alg": "RS256", "kid": "attacker", "typ": "logout+jwt"},
                                {"iss": provider.issuer, "aud": portal.client_id, "iat": now, "sid": sid,
                                 "events": {BACKCHANNEL_EVENT: {}}}, stranger),
        "wrong audience": logout_token(provider, aud="another-portal", sid=sid),
        "wrong issuer": tamper_payload(logout_token(provider, aud=portal.client_id, sid=sid), iss="https://x"),
        "with a nonce": logout_token(provider, aud=portal.client_id, sid=sid, nonce="n-0S6_WzA2Mj"),
        "without the event": logout_token(provider, aud=portal.client_id, sid=sid, events={}),
        "without sid or sub": logout_token(provider, aud=portal.client_id),
        "without exp": logout_token(provider, aud=portal.client_id, sid=sid, exp=None),
        "without jti": logout_token(provider, aud=portal.client_id, sid=sid, jti=None),
        "issued an hour ago": logout_token(provider, aud=portal.client_id, sid=sid, iat=now - 3600),
        "typed as another kind of JWT": logout_token(provider, typ="JWT", aud=portal.client_id, sid=sid),
        "not a token": "abc.def.ghi",
        "missing": "",
    }
    for what, token in forged.items():
        response = requests.post(portal.url + "/backchannel-logout", data={"logout_token": token}, timeout=10)
        assert response.status_code == 400, what
        assert response.json() == {"error": "invalid_request"}, what
    assert portal_signed_in(http, portal)

    response = requests.post(portal.url + "/backchannel-logout", data={"logout_token": genuine}, timeout=10)
    assert response.status_code == 200
    assert not portal_signed_in(http, portal)
    again = requests.post(portal.url + "/backchannel-logout", data={"logout_token": genuine}, timeout=10)
    assert again.status_code == 400, "a logout token is used once (its jti is remembered until it expires)"


def test_the_portal_refuses_a_callback_with_a_wrong_state(provider, portal, patient):
    http = requests.Session()
    http.get(portal.url + "/login", allow_redirects=False, timeout=10)
    refused = http.get(portal.url + "/callback", params={"code": "made-up", "state": "not-the-one-we-sent"},
                       timeout=10)
    assert refused.status_code == 400 and "Inloggen is niet gelukt" in refused.text
    assert not portal_signed_in(http, portal)
    assert requests.get(portal.url + "/callback", params={"code": "x", "state": "y"}, timeout=10).status_code == 400


# --- acting for someone else (issue 15): the banner, the child's record, "Wissel van persoon" -------------------

BANNER = "U bekijkt het dossier van"


def text_of(html: str) -> str:
    """The page's words as a person reads them (tags gone, spaces folded)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_a_parent_acting_for_her_child_sees_his_record_under_a_banner_never_her_own(
        provider, delegating_portal, family):
    http = requests.Session()
    home = sign_in_choosing(http, provider, delegating_portal, family.parent, str(family.child_delegation))

    assert home.stages == ["password", "second_factor", "choose_person"]
    assert path_of(home.url) == "/overzicht"
    shown = text_of(home.text)
    assert "U bekijkt het dossier van Sem (8) — ingelogd als Anna de Vries" in shown
    assert "Dossier van Sem de Vries" in shown and "Goedendag" not in shown
    assert "Ingelogd als Anna de Vries" in shown and "Wissel van persoon" in shown
    kept = session_of(http, delegating_portal)
    assert kept["sub"] == family.child_sub and kept["act"]["sub"] == family.parent.sub
    assert kept["email"] is None  # Sem has no address of his own, and Anna's is not his

    store = delegating_portal.app.extensions["patient_store"]
    child, parent = store.get(family.child_sub), store.get(family.parent.sub)
    repeats = text_of(http.get(delegating_portal.url + "/herhaalrecepten", timeout=10).text)
    assert "Cetirizine drank 1 mg/ml" in repeats and BANNER in repeats
    assert not {name for name, _ in child.medicines} & {name for name, _ in parent.medicines}  # (the test can tell)
    assert not any(name in repeats for name, _ in parent.medicines)  # the parent's own record is never shown
    results = text_of(http.get(delegating_portal.url + "/uitslagen", timeout=10).text)
    assert all(r.test in results for r in child.results) and "Ferritine" in results


def test_what_a_parent_does_for_her_child_lands_in_his_record(provider, delegating_portal, family):
    http = requests.Session()
    sign_in_choosing(http, provider, delegating_portal, family.parent, str(family.child_delegation))
    page = http.get(delegating_portal.url + "/vraag", timeout=10)
    sent = http.post(delegating_portal.url + "/vraag", timeout=10, data={
        "csrf_token": csrf_token(page.text), "subject": "Oorpijn", "text": "Sem heeft weer oorpijn."})
    assert sent.status_code == 200 and "Sem heeft weer oorpijn." in sent.text

    store = delegating_portal.app.extensions["patient_store"]
    assert [q.text for q in store.get(family.child_sub).questions] == ["Sem heeft weer oorpijn."]
    assert store.get(family.parent.sub).questions == []


def test_switching_back_to_herself_shows_her_own_record_and_no_banner(provider, delegating_portal, family):
    http = requests.Session()
    home = sign_in_choosing(http, provider, delegating_portal, family.parent, str(family.child_delegation))

    switch = http.post(delegating_portal.url + "/wissel-van-persoon", data={"csrf_token": csrf_token(home.text)},
                       allow_redirects=False, timeout=10)
    assert switch.status_code == 302
    asked = query_of(switch.headers["Location"])
    assert switch.headers["Location"].startswith(provider.issuer) and asked["prompt"] == "select_account"
    chooser = http.get(switch.headers["Location"], timeout=10)
    own = sign_in_choosing(http, provider, delegating_portal, family.parent, "self", page=chooser)

    assert own.stages == ["choose_person"]  # no password again: the provider's session stands
    shown = text_of(own.text)
    assert "Goedendag, Anna de Vries" in shown and BANNER not in shown and "Sem" not in shown
    assert "Wissel van persoon" in shown  # she can go back to Sem without signing out
    kept = session_of(http, delegating_portal)
    assert kept["sub"] == family.parent.sub and kept["act"] is None and kept["email"] == family.parent.email
    repeats = text_of(http.get(delegating_portal.url + "/herhaalrecepten", timeout=10).text)
    parent = delegating_portal.app.extensions["patient_store"].get(family.parent.sub)
    assert all(name in repeats for name, _ in parent.medicines) and "Cetirizine" not in repeats


def test_a_patient_for_herself_sees_no_banner_and_no_switch(provider, portal, patient):
    http = requests.Session()
    home = sign_in(http, provider, portal, patient)
    shown = text_of(home.text)
    assert "Goedendag, Petra Patiënt" in shown
    assert BANNER not in shown and "Wissel van persoon" not in shown
    assert session_of(http, portal)["act"] is None


def test_switching_needs_the_form_token_and_a_signed_in_person(provider, delegating_portal, family):
    anonymous = requests.Session()
    out = anonymous.post(delegating_portal.url + "/wissel-van-persoon", data={"csrf_token": ""},
                         allow_redirects=False, timeout=10)
    assert out.status_code == 400 and "location" not in out.headers  # no sign-in started for nobody

    http = requests.Session()
    sign_in_choosing(http, provider, delegating_portal, family.parent, str(family.child_delegation))
    forged = http.post(delegating_portal.url + "/wissel-van-persoon", data={"csrf_token": "forged"},
                       allow_redirects=False, timeout=10)
    assert forged.status_code == 400 and "location" not in forged.headers
    assert session_of(http, delegating_portal)["sub"] == family.child_sub  # nothing changed


def test_the_practice_knows_the_demo_children_at_the_ages_idp_demo_gives_them():
    from clients.patient.demo import KNOWN, MEDICINES, age_of, generate
    from idp.demo import DEMO_PRINCIPALS, DEMO_USERS

    ages = {p.name: p.age for p in DEMO_USERS if p.age is not None} | {p.name: p.age for p in DEMO_PRINCIPALS}
    assert set(KNOWN) == {"Sem de Vries", "Lotte de Vries", "Daan de Vries"}
    for name, known in KNOWN.items():
        assert ages[name] == known.age == age_of(generate("some-sub", name))
        assert not {m for m, _ in known.medicines} & {m for m, _ in MEDICINES}  # never an adult's generated record
