"""The provider and the patient portal, each on a real loopback port; a person's browser is a requests.Session.

The provider is the conformance suite's live server (tests/conformance/live.py) on a database of its own;
the patient portal is registered with it (second factor required, back-channel logout to the portal).
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import requests

from clients.backchannel import EVENT as BACKCHANNEL_EVENT
from tests.conformance.live import LiveProvider, LogoutReceiver, ServerThread, provider_on_backend
from tests.conftest import BACKENDS
from tests.helpers import csrf_token
from tests.mfa_helpers import latest_code

PASSWORD = "Lindeboom-2024"
_STAGE = re.compile(r'name="stage"\s+value="([^"]+)"')
_numbers = itertools.count(1)


@dataclass
class RunningPortal:
    url: str
    app: object
    client_id: str


@dataclass
class Patient:
    email: str
    phone: str
    name: str
    sub: str


@pytest.fixture(scope="session", params=BACKENDS)
def provider(request, tmp_path_factory):
    """The live provider with the password policies the demo adds (the seed portals name them)."""
    from idp.demo import DEMO_POLICIES

    receiver = LogoutReceiver().start()
    with provider_on_backend(request.param, tmp_path_factory.mktemp(f"clients-{request.param}"), "clients",
                             receiver, password_policies=DEMO_POLICIES) as live:
        yield live
    receiver.stop()


def _start_portal(provider: LiveProvider, name: str, cookie: str | None = None) -> tuple[RunningPortal, ServerThread]:
    """Register a patient portal with the provider (second factor required) and serve it on a free port."""
    from clients.patient import create_app
    from idp.extensions import db
    from idp.portals.registry import register

    server = ServerThread()
    url = f"http://127.0.0.1:{server.port}"
    with provider.app.app_context():
        registered = register(name, [url + "/callback"], post_logout_redirect_uris=[url + "/"],
                              backchannel_logout_uri=url + "/backchannel-logout", first_party=True, mfa="required")
        db.session.commit()
        client_id = registered.client.client_id
        db.session.remove()
    config = {"PORTAL_ISSUER": provider.issuer, "PORTAL_CLIENT_ID": client_id,
              "PORTAL_CLIENT_SECRET": registered.secret, "PORTAL_BASE_URL": url,
              "PORTAL_SECRET_KEY": f"portal-test-secret-{client_id}", "TESTING": True}
    if cookie:
        config["SESSION_COOKIE_NAME"] = cookie
    app = create_app(config)
    server.serve(app)
    return RunningPortal(url, app, client_id), server


@pytest.fixture(scope="session")
def portal(provider) -> RunningPortal:
    running, server = _start_portal(provider, "Huisartsenpraktijk De Linde")
    yield running
    server.stop()


@pytest.fixture(scope="session")
def second_portal(provider) -> RunningPortal:
    """Another portal of the same practice group, with a cookie of its own: SSO and logout across portals."""
    running, server = _start_portal(provider, "Huisartsenpraktijk De Linde (tweede portaal)", cookie="portal_b")
    yield running
    server.stop()


@pytest.fixture
def patient(provider) -> Patient:
    """A new patient with an SMS second factor (a number of their own: SMS caps and codes don't mix)."""
    from idp.accounts import factors
    from idp.accounts.users import create_user
    from idp.extensions import db

    n = next(_numbers)
    email, phone = f"petra{n}@example.org", f"+316{20000000 + n}"
    with provider.app.app_context():
        user = create_user(email, PASSWORD, name="Petra Patiënt", phone=phone)
        factors.add_confirmed(user, "sms", phone_number=phone, secret=None)
        db.session.commit()
        sub = user.sub
        db.session.remove()
    return Patient(email, phone, "Petra Patiënt", sub)


def sign_in(http: requests.Session, provider: LiveProvider, portal: RunningPortal, patient: Patient
            ) -> requests.Response:
    """Click "Inloggen" at the portal and walk the provider's pages: password, then the SMS code."""
    page = http.get(portal.url + "/login", timeout=10)
    seen = []
    while not page.url.startswith(portal.url):
        assert page.status_code == 200, f"{page.status_code} at {page.url}: {page.text[:400]}"
        assert page.url.startswith(provider.issuer + "/login/"), page.url
        stage = _STAGE.search(page.text)
        assert stage, f"no sign-in stage on {page.url}"
        seen.append(stage.group(1))
        assert len(seen) < 6, seen
        data = {"csrf_token": csrf_token(page.text), "stage": stage.group(1)}
        if stage.group(1) == "password":
            data.update(username=patient.email, password=PASSWORD)
        elif stage.group(1) == "second_factor":
            data.update(code=latest_code(provider.app, patient.phone))
        else:
            raise AssertionError(f"unexpected stage {stage.group(1)}")
        page = http.post(page.url, data=data, timeout=10)
    page.stages = seen
    return page


def session_of(http: requests.Session, portal: RunningPortal) -> dict:
    """The portal's own session cookie, read with the portal's key (what the portal itself sees)."""
    cookie = http.cookies.get(portal.app.config["SESSION_COOKIE_NAME"])
    serializer = portal.app.session_interface.get_signing_serializer(portal.app)
    return serializer.loads(cookie) if cookie else {}


def portal_signed_in(http: requests.Session, portal: RunningPortal) -> bool:
    """Does the portal let this browser into its home page (/overzicht), or send it to the welcome page?"""
    response = http.get(portal.url + "/overzicht", allow_redirects=False, timeout=10)
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def logout_token(provider: LiveProvider, typ: str = "logout+jwt", **claims) -> str:
    """A logout token signed with the provider's own key (what only the provider can make); a claim given as
    None is left out."""
    from idp.runtime import keyring

    now = int(time.time())
    body = {"iss": provider.issuer, "iat": now, "exp": now + 120, "jti": secrets.token_urlsafe(8),
            "events": {BACKCHANNEL_EVENT: {}}, **claims}
    with provider.app.app_context():
        return keyring().sign({k: v for k, v in body.items() if v is not None}, "RS256", typ=typ)


def path_of(url: str) -> str:
    return urlsplit(url).path


def start_demo_portal(provider: LiveProvider, client_id: str) -> tuple[RunningPortal, ServerThread]:
    """A portal of clients/ registered with its options and profile exactly as `idp demo` registers it (under a
    client id of its own), served on a free port."""
    import importlib

    from idp import demo
    from idp.extensions import db
    from idp.portals.registry import register

    spec = demo.spec(client_id)
    server = ServerThread()
    url = f"http://127.0.0.1:{server.port}"
    with provider.app.app_context():
        registered = register(spec.name, [url + "/callback"], post_logout_redirect_uris=[url + "/"],
                              backchannel_logout_uri=url + "/backchannel-logout", first_party=True,
                              profile={**spec.options["profile"], "sign_in_url": url + "/login"},
                              **demo.registration_options(spec))
        db.session.commit()
        registered_id = registered.client.client_id
        db.session.remove()
    app = importlib.import_module(spec.package).create_app({
        "PORTAL_ISSUER": provider.issuer, "PORTAL_CLIENT_ID": registered_id, "PORTAL_CLIENT_SECRET": registered.secret,
        "PORTAL_BASE_URL": url, "PORTAL_SECRET_KEY": f"portal-test-secret-{registered_id}", "TESTING": True})
    server.serve(app)
    return RunningPortal(url, app, registered_id), server


def walk(http: requests.Session, provider: LiveProvider, portal: RunningPortal, page: requests.Response,
         answers: dict) -> requests.Response:
    """Walk the provider's sign-in pages until back at the portal: `answers[stage](page)` gives the form data of
    each stage (beyond csrf_token and stage); the stages seen are in `.stages` of the page returned."""
    seen = []
    while not page.url.startswith(portal.url):
        assert page.status_code == 200, f"{page.status_code} at {page.url}: {page.text[:400]}"
        assert page.url.startswith(provider.issuer + "/login/"), page.url
        stage = _STAGE.search(page.text)
        assert stage, f"no sign-in stage on {page.url}"
        seen.append(stage.group(1))
        assert len(seen) < 8, seen
        assert stage.group(1) in answers, f"unexpected stage {stage.group(1)} after {seen[:-1]}"
        data = {"csrf_token": csrf_token(page.text), "stage": stage.group(1), **answers[stage.group(1)](page)}
        page = http.post(page.url, data=data, timeout=10)
    page.stages = seen
    return page


# --- the ordering portal (clients/ordering) ---------------------------------------------------------------

def _start_ordering(provider: LiveProvider, name: str, mfa: str, cookie: str) -> tuple[RunningPortal, ServerThread]:
    """Register an ordering portal (self-registration on, the given second-factor policy) and serve it."""
    from clients.ordering import create_app
    from idp.extensions import db
    from idp.portals.registry import register

    server = ServerThread()
    url = f"http://127.0.0.1:{server.port}"
    with provider.app.app_context():
        registered = register(name, [url + "/callback"], post_logout_redirect_uris=[url + "/"],
                              backchannel_logout_uri=url + "/backchannel-logout", first_party=True, mfa=mfa,
                              registration=True)
        db.session.commit()
        client_id = registered.client.client_id
        db.session.remove()
    app = create_app({"PORTAL_ISSUER": provider.issuer, "PORTAL_CLIENT_ID": client_id,
                      "PORTAL_CLIENT_SECRET": registered.secret, "PORTAL_BASE_URL": url,
                      "PORTAL_SECRET_KEY": f"portal-test-secret-{client_id}", "TESTING": True,
                      "SESSION_COOKIE_NAME": cookie})
    server.serve(app)
    return RunningPortal(url, app, client_id), server


@pytest.fixture(scope="session")
def ordering_portal(provider) -> RunningPortal:
    """The ordering portal as `make demo` registers it: mfa optional (asked of those who have a factor)."""
    running, server = _start_ordering(provider, "Samen zorgen bestellen", "optional", "portal_ordering")
    yield running
    server.stop()


@pytest.fixture(scope="session")
def ordering_portal_without_mfa(provider) -> RunningPortal:
    """The ordering portal registered with mfa off: only the portal's own step-up asks a second factor."""
    running, server = _start_ordering(provider, "Samen zorgen bestellen (zonder mfa)", "off", "portal_ordering_b")
    yield running
    server.stop()


@pytest.fixture
def make_person(provider):
    """make_person(roles=[...], sms=True): a new account (password PASSWORD), with an SMS factor when asked."""
    from idp.accounts import factors
    from idp.accounts.users import create_user
    from idp.extensions import db

    def make(roles: list[str] | tuple[str, ...] = (), sms: bool = False, name: str = "Eva Eindgebruiker") -> Patient:
        n = next(_numbers)
        email, phone = f"person{n}@example.org", f"+316{30000000 + n}"
        with provider.app.app_context():
            user = create_user(email, PASSWORD, name=name, phone=phone, roles=list(roles))
            if sms:
                factors.add_confirmed(user, "sms", phone_number=phone, secret=None)
            db.session.commit()
            sub = user.sub
            db.session.remove()
        return Patient(email, phone, name, sub)

    return make


# --- acting for someone else at the patient portal (issue 15) -----------------------------------------------

@dataclass
class Family:
    parent: Patient
    child_sub: str
    child_delegation: int  # the chooser's value for the child


@pytest.fixture(scope="session")
def delegating_portal(provider) -> RunningPortal:
    """The patient portal as `idp demo` registers it: its profile offers delegation (seed 003's children)."""
    running, server = start_demo_portal(provider, "demo-patient")
    yield running
    server.stop()


@pytest.fixture
def family(provider, delegating_portal, make_person) -> Family:
    """Anna de Vries (an SMS factor) and her son Sem, 8 today, without a login of his own: she may act for him at
    the delegating patient portal (the parental rule, active at once under 12)."""
    from idp import clock
    from idp.accounts.users import find_by_login
    from idp.delegation import AgeRules, create_principal, grant_parental
    from idp.demo import born
    from idp.extensions import db

    parent = make_person(sms=True, name="Anna de Vries")
    with provider.app.app_context():
        now = clock.now()
        sem = create_principal("Sem de Vries", born(8, AgeRules.from_settings().today(now)), "test-assistant", now,
                               given_name="Sem", family_name="de Vries")
        granted = grant_parental("test-assistant", find_by_login(parent.email), sem, [delegating_portal.client_id],
                                 [], "passport and birth certificate seen at the desk", now)
        db.session.commit()
        child_sub, delegation_id = sem.sub, granted.id
        db.session.remove()
    return Family(parent, child_sub, delegation_id)


def sign_in_choosing(http: requests.Session, provider: LiveProvider, portal: RunningPortal, person: Patient,
                     choice: str, page: requests.Response | None = None) -> requests.Response:
    """Sign in at the portal as `person` (password, SMS code) and pick `choice` on the "for whom?" page: "self" or
    a delegation id. `page`: a page of the provider already open (after "Wissel van persoon")."""
    page = page if page is not None else http.get(portal.url + "/login", timeout=10)
    return walk(http, provider, portal, page, {
        "password": lambda _: {"username": person.email, "password": PASSWORD},
        "second_factor": lambda _: {"code": latest_code(provider.app, person.phone)},
        "choose_person": lambda _: {"person": choice},
    })
