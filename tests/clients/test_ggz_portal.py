"""Mila and Sanne use Mijn Helder, the client portal of a GGZ organisation (seed 004), registered as `idp demo`
registers it: activation by a link and the date of birth, a password of at least 12 characters with a special
character (live feedback while typing), a username, a 6-letter code by e-mail after the password (its mail says
what to do when it was not you), "trust this computer" for a week, an authenticator app as the alternative.
Real HTTP to a real provider."""

from __future__ import annotations

import itertools
import re
from datetime import date

import pyotp
import pytest
import requests

from tests.clients.conftest import RunningPortal, csrf_token, session_of, start_demo_portal, walk
from tests.mfa_helpers import latest_code, messages, totp_now

pytestmark = pytest.mark.slow
PASSWORD = "Zeewind!Helder-2026"
BORN = date(1987, 4, 12)
_numbers = itertools.count(1)
_LETTER_CODE = re.compile(r"^[A-Z]{6}$")


@pytest.fixture(scope="module")
def helder(provider) -> RunningPortal:
    running, server = start_demo_portal(provider, "demo-ggz")
    yield running
    server.stop()


def _client(provider, *, factors_: tuple[str, ...] = ("email",), password: str | None = PASSWORD) -> dict:
    """A client with a username; with a password and these second factors, or (password None) waiting for
    activation with a date of birth."""
    from idp.accounts import factors
    from idp.accounts.users import create_user
    from idp.extensions import db

    n = next(_numbers)
    person = {"username": f"helder{n}", "email": f"helder{n}@example.org", "password": password,
              "name": "Sanne de Wit", "secret": None}
    with provider.app.app_context():
        user = create_user(person["email"], password, name=person["name"], username=person["username"],
                           date_of_birth=BORN, email_verified=password is not None)
        for kind in factors_ if password else ():
            if kind == "totp":
                person["secret"] = pyotp.random_base32()
            factors.add_confirmed(user, kind, secret=person["secret"] if kind == "totp" else None)
        db.session.commit()
        person["sub"] = user.sub
        db.session.remove()
    return person


def _password(person: dict):
    def answer(page: requests.Response) -> dict:
        assert 'name="username"' in page.text and "Gebruikersnaam" in page.text  # seed 004: a username
        return {"username": person["username"], "password": person["password"]}
    return answer


def _email_code(provider, person: dict, trust: bool = False, codes: list[str] | None = None):
    def answer(page: requests.Response) -> dict:
        code = latest_code(provider.app, person["email"])
        if codes is not None:
            codes.append(code)
        return {"code": code, **({"trust": "1"} if trust else {})}
    return answer


def _logout(http: requests.Session, portal: RunningPortal) -> None:
    http.post(portal.url + "/logout", data={"csrf_token": session_of(http, portal)["csrf_token"]}, timeout=10)


def test_activation_asks_the_date_of_birth_then_a_password_of_12_with_a_special_character(provider, helder):
    from idp.accounts import activation
    from idp.extensions import db
    from idp.models import User
    from idp.portals.registry import get

    person = _client(provider, password=None)
    with provider.app.app_context():
        user = db.session.query(User).filter_by(sub=person["sub"]).one()
        activation.send_link(user, client=get(helder.client_id))
        db.session.commit()
        db.session.remove()
    mail = messages(provider.app, to=person["email"], template="activation")[0]
    assert "Mijn Helder" in mail["body"]
    link = re.search(r"(http://\S+/activate/\S+)", mail["body"]).group(1)

    http = requests.Session()
    page = http.get(link, timeout=10)
    assert 'name="birth_date"' in page.text and "GGZ Helder" in page.text
    wrong = http.post(link, data={"csrf_token": csrf_token(page.text), "step": "birth_date",
                                  "birth_date": "13-04-1987"}, timeout=10)
    assert 'name="birth_date"' in wrong.text and 'aria-invalid="true"' in wrong.text
    page = http.post(link, data={"csrf_token": csrf_token(wrong.text), "step": "birth_date",
                                 "birth_date": BORN.strftime("%d-%m-%Y")}, timeout=10)
    assert 'name="new_password"' in page.text
    assert "Minstens 12 tekens" in page.text and "Minstens 1 van deze tekens: ! % &amp; @ # $ ^ * ? _ ~" in page.text
    # Live feedback as the person types (the button waits for it): long enough but no special character.
    live = http.post(link + "/rules", data={"csrf_token": csrf_token(page.text), "password": "zeewindhelder2026"},
                     timeout=10).json()
    assert live["ok"] is False
    assert {r["id"]: r["ok"] for r in live["rules"]}["special"] is False
    assert {r["id"]: r["ok"] for r in live["rules"]}["min_length"] is True
    assert http.post(link + "/rules", data={"csrf_token": csrf_token(page.text), "password": PASSWORD},
                     timeout=10).json()["ok"] is True
    short = http.post(link, data={"csrf_token": csrf_token(page.text), "step": "password",
                                  "new_password": "Kort!wacht1", "confirm_password": "Kort!wacht1"}, timeout=10)
    assert 'role="alert"' in short.text and 'name="new_password"' in short.text
    ready = http.post(link, data={"csrf_token": csrf_token(short.text), "step": "password",
                                  "new_password": PASSWORD, "confirm_password": PASSWORD}, timeout=10)
    assert ready.status_code == 200 and helder.url + "/login" in ready.text  # back to Mijn Helder
    assert 'name="phone"' not in ready.text  # seed 004 asks no mobile number

    # The first sign-in: username and password, then a code of 6 letters by e-mail (set up as the way in).
    person["password"] = PASSWORD
    codes: list[str] = []

    def enrol(page: requests.Response) -> dict:
        if 'name="code"' in page.text:
            return {"action": "confirm", "code": _email_code(provider, person, codes=codes)(page)["code"]}
        return {"action": "choose:email"}

    home = walk(http, provider, helder, http.get(helder.url + "/login", timeout=10),
                {"password": _password(person), "enrol": enrol, "recovery_codes": lambda page: {"action": "saved"}})
    assert home.url == helder.url + "/overzicht" and "Hoi Sanne de Wit" in home.text
    assert home.stages == ["password", "enrol", "enrol", "recovery_codes"]
    assert len(codes) == 1 and _LETTER_CODE.fullmatch(codes[0])


def test_the_e_mail_code_is_six_letters_and_says_what_to_do_when_it_was_not_you(provider, helder):
    person = _client(provider)
    http = requests.Session()
    codes: list[str] = []
    home = walk(http, provider, helder, http.get(helder.url + "/login", timeout=10),
                {"password": _password(person), "second_factor": _email_code(provider, person, codes=codes)})
    assert home.stages == ["password", "second_factor"] and home.url == helder.url + "/overzicht"
    assert _LETTER_CODE.fullmatch(codes[0])
    mail = messages(provider.app, to=person["email"], template="login_code")[0]
    assert codes[0] in mail["body"] and "GGZ Helder" in mail["body"]
    assert "Heb je niet geprobeerd in te loggen? Wijzig dan je wachtwoord." in mail["body"]
    assert f"{provider.issuer}/account" in mail["body"]


def test_a_trusted_computer_skips_the_code_for_a_week(provider, helder):
    person = _client(provider)
    http = requests.Session()
    first = http.get(helder.url + "/login", timeout=10)
    page = http.post(first.url, data={"csrf_token": csrf_token(first.text), "stage": "password",
                                      "username": person["username"], "password": PASSWORD}, timeout=10)
    assert "Deze computer 7 dagen vertrouwen" in page.text  # seed 004: "Vertrouw deze computer voor een week"
    home = walk(http, provider, helder, page, {"second_factor": _email_code(provider, person, trust=True)})
    assert home.url == helder.url + "/overzicht"
    _logout(http, helder)
    sent = len(messages(provider.app, to=person["email"], template="login_code"))

    again = walk(http, provider, helder, http.get(helder.url + "/login", timeout=10),
                 {"password": _password(person)})
    assert again.stages == ["password"] and again.url == helder.url + "/overzicht"
    assert "vertrouwde computer" in again.text
    assert len(messages(provider.app, to=person["email"], template="login_code")) == sent  # no new code

    elsewhere = requests.Session()  # another computer is not trusted: the code is asked there
    other = walk(elsewhere, provider, helder, elsewhere.get(helder.url + "/login", timeout=10),
                 {"password": _password(person), "second_factor": _email_code(provider, person)})
    assert other.stages == ["password", "second_factor"]


def test_the_authenticator_app_and_the_e_mail_code_are_each_others_alternative(provider, helder):
    person = _client(provider, factors_=("email", "totp"))
    for way in ("totp", "email"):
        http = requests.Session()
        shown = []

        def second_factor(page: requests.Response, way=way, shown=shown) -> dict:
            offered = set(re.findall(r'value="use:(\w+)"', page.text))
            shown.append(offered)
            if way in offered:  # this page is for the other way: switch
                return {"action": f"use:{way}"}
            code = totp_now(person["secret"]) if way == "totp" else latest_code(provider.app, person["email"])
            return {"code": code}

        home = walk(http, provider, helder, http.get(helder.url + "/login", timeout=10),
                    {"password": _password(person), "second_factor": second_factor})
        assert home.url == helder.url + "/overzicht" and "met wachtwoord en code uit app of e-mail" in home.text
        other = "email" if way == "totp" else "totp"
        assert way not in shown[-1] and other in shown[-1]  # the page of the code typed offers the other way


def test_a_questionnaire_and_a_message_to_the_practitioner(provider, helder):
    person = _client(provider)
    http = requests.Session()
    walk(http, provider, helder, http.get(helder.url + "/login", timeout=10),
         {"password": _password(person), "second_factor": _email_code(provider, person)})
    token = session_of(http, helder)["csrf_token"]
    missing = http.post(helder.url + "/vragenlijsten", data={"csrf_token": token, "q0": "3"}, timeout=10)
    assert missing.status_code == 400 and "Kies bij elke vraag een antwoord" in missing.text
    done = http.post(helder.url + "/vragenlijsten", data={"csrf_token": token, "q0": "3", "q1": "2", "q2": "4"},
                     timeout=10)
    assert "Dank je wel" in done.text and "score 9 van 12" in done.text
    sent = http.post(helder.url + "/berichten", data={"csrf_token": token, "text": "Kan de afspraak een uur later?"},
                     timeout=10)
    assert "Je bericht is verstuurd" in sent.text and "Kan de afspraak een uur later?" in sent.text
