"""`idp demo`: the provider in dev mode on SQLite with known demo people and the five seed portals, ready to try."""

from __future__ import annotations

import importlib
import os
import secrets
import shlex
import sys
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import click
from flask_migrate import upgrade
from sqlalchemy import select
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server, run_simple

from idp import clock, create_app, delegation, demo_admins, logs
from idp.accounts import activation, factors
from idp.accounts.users import create_user, find_by_login
from idp.delegation import invitations
from idp.delegation.ages import AgeRules, age_on, birthday
from idp.demo_admins import DEMO_ADMINS
from idp.extensions import db
from idp.models import User
from idp.models.factor import FACTOR_KINDS
from idp.oidc.keys import ensure_keys
from idp.portals.registry import find as find_portal
from idp.portals.registry import register, rotate_secret, update
from idp.ports import PortUnusable, problem
from idp.runtime import crypto
from idp.settings import Settings, load

# The authenticator-app key of the demo professional: add it to an app by hand, or compute codes with
# `python -c "import pyotp; print(pyotp.TOTP('<key>').now())"`.
DEMO_TOTP_SECRET = "KRSXG5CTMVRXEZLUKN2XAZLDOIQGC4DQ"


@dataclass(frozen=True)
class DemoPerson:
    """Someone to try the demo as: what they type to sign in, and how their account was made."""

    email: str
    password: str | None  # None: not activated yet (an activation link is in the inbox)
    name: str
    phone: str | None = None
    roles: tuple[str, ...] = ()
    factor: str | None = None  # the second factor set up for them: sms, email, totp or None
    username: str | None = None  # seeds 002 and 004 sign in with a username
    temporary: bool = False  # the password is temporary: changed at the first sign-in (seeds 002, 004)
    birth_date: date | None = None  # asked at activation (seed 004)
    portal: str | None = None  # the demo portal the account was made for (its mails and links)
    given_name: str | None = None  # what a portal calls them when someone else opens their records
    age: int | None = None  # kept at every start: the date of birth follows today (`born`)

    @property
    def login(self) -> str:
        return self.username or self.email


DEMO_USERS = [
    DemoPerson("patient@example.org", "Tulpenveld-2026", "Petra Patiënt", "+31612345678", factor="sms"),
    DemoPerson("parent@example.org", "Molenwiek-2026", "Pieter Ouder", "+31612345679", factor="email"),
    DemoPerson("professional@example.org", "Spreekuur-2026", "Dr. Fatima El Amrani", "+31612345680",
               ("professional",), "totp"),
    DemoPerson("enduser@example.org", "Rolstoel-2026", "Eva Eindgebruiker", "+31612345681", ("enduser",)),
    DemoPerson("admin@business.example.org", "Kantoorpand-2026", "Bram Beheerder", "+31612345682", ("admin",),
               "sms"),
    # Seed 002: the EVV'er made these accounts with a username; an SMS code (with its prefix) at every sign-in.
    DemoPerson("h.jansen@example.org", "Zonnebloem-7", "Henk Jansen", "+31612345683", factor="sms",
               username="hjansen", portal="demo-elderly"),
    DemoPerson("w.bakker@example.org", "Tijdelijk-4821", "Wilma Bakker", "+31612345684", factor="sms",
               username="wbakker", temporary=True, portal="demo-elderly"),
    # Seed 004: a username, a 6-letter code by e-mail; the second is waiting for activation with her birth date.
    DemoPerson("sanne@example.org", "Zeewind!Helder-2026", "Sanne de Wit", factor="email", username="sdewit",
               portal="demo-ggz"),
    DemoPerson("mila@example.org", None, "Mila Visser", username="mvisser", birth_date=date(1987, 4, 12),
               portal="demo-ggz"),
    # Seed 003, issue 15: a mother who acts for her children at the GP practice. Each child has an address of
    # their own, as the practice asks (a plus-alias of hers will do); Sem (8) has no login at all.
    DemoPerson("anna@example.org", "Kastanje-2026", "Anna de Vries", "+31612345685", factor="sms",
               portal="demo-patient", given_name="Anna", age=41),
    DemoPerson("anna+lotte@example.org", "Fietsbel-2026", "Lotte de Vries", "+31612345686", factor="sms",
               portal="demo-patient", given_name="Lotte", age=14),
    DemoPerson("anna+daan@example.org", "Skateboard-2026", "Daan de Vries", "+31612345687", factor="sms",
               portal="demo-patient", given_name="Daan", age=17),
    # Seed 002, issue 15: a client of the elderly-care home and his daughter, his contact person.
    DemoPerson("g.mulder@example.org", "Herfstblad-3", "Gerrit Mulder", "+31612345688", factor="sms",
               username="gmulder", portal="demo-elderly", given_name="Gerrit", age=86),
    DemoPerson("ingrid.mulder@example.org", "Kievit-58", "Ingrid Mulder", "+31612345689", factor="sms",
               username="imulder", portal="demo-elderly", given_name="Ingrid", age=54),
    # Issue 16: the console's admins (idp/demo_admins.py gives them their roles and organisations).
    DemoPerson("beheer@idp.example.org", "Sleutelbos-2026", "Femke de Groot", "+31612345693", factor="totp"),
    DemoPerson("helpdesk@idp.example.org", "Koffiepauze-2026", "Hasan Yilmaz", "+31612345691", factor="sms"),
    DemoPerson("evv@avondrood.example.org", "Zorgpad-2026", "Esther Verhoeven", "+31612345692", factor="sms",
               username="everhoeven", portal="demo-elderly"),
]


@dataclass(frozen=True)
class DemoPrincipal:
    """Someone others act for who has no login of their own (a young child): a name and an age."""

    name: str
    given_name: str
    age: int


DEMO_PRINCIPALS = [DemoPrincipal("Sem de Vries", "Sem", 8)]

# Where each demo delegation stands (what the seed makes of it, once).
PARENTAL, AWAITING_CONSENT, ENDED_AT_ADULT_AGE, CONTACT_PERSON = (
    "parental", "awaiting_consent", "ended_at_adult_age", "contact_person")


@dataclass(frozen=True)
class DemoDelegation:
    """Who acts for whom in the demo, at which portal, and where the story stands."""

    delegate: str  # the e-mail address of a DemoPerson
    principal: str  # the e-mail address of a DemoPerson, or the name of a DemoPrincipal
    portal: str
    story: str  # PARENTAL (under 12, active), AWAITING_CONSENT (12-16), ENDED_AT_ADULT_AGE, CONTACT_PERSON


DEMO_DELEGATIONS = [
    DemoDelegation("anna@example.org", "Sem de Vries", "demo-patient", PARENTAL),
    DemoDelegation("anna@example.org", "anna+lotte@example.org", "demo-patient", AWAITING_CONSENT),
    DemoDelegation("anna@example.org", "anna+daan@example.org", "demo-patient", ENDED_AT_ADULT_AGE),
    DemoDelegation("ingrid.mulder@example.org", "g.mulder@example.org", "demo-elderly", CONTACT_PERSON),
]
DEMO_ADMIN = "demo (the practice's assistant, the EVV'er)"

# The password policies of the seeds (config.example.toml shows them too); a config file may define its own.
DEMO_POLICIES = {
    "elderly_care": {"min_length": 5, "min_upper": 1, "min_lower": 1, "min_non_letters": 1},  # seed 002
    "gp_practice": {"min_length": 10, "min_upper": 1, "min_lower": 1, "min_digits": 2},  # seed 003
    "mental_health": {"min_length": 12, "min_special": 1},  # seed 004 (special: ! % & @ # $ ^ * ? _ ~)
}


def with_demo_policies(settings: Settings) -> Settings:
    """The settings with the seeds' password policies added (a policy of the same name in the config wins)."""
    missing = {name: rules for name, rules in DEMO_POLICIES.items() if name not in settings.password_policies}
    if not missing:
        return settings
    # Seed 002's 5 characters are under the default floor (8, OWASP ASVS): the demo lowers it on purpose.
    shortest = min(int(rules["min_length"]) for rules in missing.values())
    floor = {"floor_min_length": min(settings.passwords.floor_min_length, shortest)}
    return settings.replace(passwords=floor, password_policies=missing)


def born(age: int, today: date) -> date:
    """A date of birth that makes someone `age` today (their birthday 100 days ago), whatever day the demo runs."""
    anchor = today - timedelta(days=100)
    try:
        return anchor.replace(year=anchor.year - age)
    except ValueError:  # 29 February, in a year without it
        return date(anchor.year - age, 2, 28)


def seed(app) -> dict[str, str]:
    """Create the demo users that are missing, with their second factor; a person still to be activated gets a
    fresh link at every start. Then the people without a login and the delegations (issue 15), each made once;
    a demo person's age is kept at every start. Returns what the banner adds for some people (email -> the
    activation link)."""
    notes = {}
    with app.app_context():
        now = clock.now()
        today = AgeRules.from_settings().today(now)
        for person in DEMO_USERS:
            user = find_by_login(person.email)
            if user is None:
                birth_date = born(person.age, today) if person.age is not None else person.birth_date
                user = create_user(person.email, person.password, name=person.name, phone=person.phone,
                                   roles=list(person.roles), username=person.username,
                                   given_name=person.given_name,
                                   family_name=_family_name(person.name, person.given_name),
                                   date_of_birth=birth_date, email_verified=person.password is not None)
                if person.factor:
                    factors.add_confirmed(user, person.factor, phone_number=person.phone, secret=DEMO_TOTP_SECRET)
                user.must_change_password = person.temporary
            elif person.age is not None:
                _keep_age(user, person.age, today)
            if person.password is None and (user.password_hash is None or user.activation_pending):
                portal = find_portal(person.portal) if person.portal else None
                notes[person.email] = activation.send_link(user, client=portal, resend=True)
        for principal in DEMO_PRINCIPALS:
            found = _without_login(principal.name)
            if found is None:
                delegation.create_principal(principal.name, born(principal.age, today), DEMO_ADMIN, now,
                                            given_name=principal.given_name,
                                            family_name=_family_name(principal.name, principal.given_name))
            else:
                _keep_age(found, principal.age, today)
        for item in DEMO_DELEGATIONS:
            _grant(item, now)
        demo_admins.seed(now)
        db.session.commit()
    return notes


def _family_name(name: str, given_name: str | None) -> str | None:
    if not given_name or not name.startswith(given_name):
        return None
    return name[len(given_name):].strip() or None


def _keep_age(user: User, age: int, today: date) -> None:
    """The ages the demo promises hold on any day: a date of birth a year behind moves along."""
    if user.date_of_birth is None or age_on(user.date_of_birth, today) != age:
        user.date_of_birth = born(age, today)


def _without_login(name: str) -> User | None:
    return db.session.scalar(select(User).where(User.name == name, User.no_login.is_(True)).order_by(User.id)
                             .limit(1))


def _demo_person(ref: str) -> User | None:
    return find_by_login(ref) if "@" in ref else _without_login(ref)


_EVIDENCE = "demo: identity and parenthood checked at the desk"


def _grant(item: DemoDelegation, now) -> None:
    """Make one demo delegation, once: if the two people have any delegation (an earlier start's, perhaps since
    consented to or withdrawn while trying the demo), its story goes on as it is."""
    delegate, principal = find_by_login(item.delegate), _demo_person(item.principal)
    if delegate is None or principal is None or principal.date_of_birth is None \
            or any(found.principal_id == principal.id for found in delegation.of_person(delegate)):
        return
    if item.story == CONTACT_PERSON:  # the EVV'er invites the daughter on the client's word; she accepts
        invited = invitations.invite(principal, delegate.email, delegate.name or "", [item.portal], [],
                                     invitations.FAMILY, now, admin=DEMO_ADMIN)
        if invited is not None:
            invitations.accept(invited, delegate, now)
    elif item.story == ENDED_AT_ADULT_AGE:
        # Granted at 13 with the child's signed consent; the 16th birthday ended it and the daily job said so.
        rules = AgeRules.from_settings()
        then = rules.start_of(birthday(principal.date_of_birth, rules.consent_from + 1))
        granted = delegation.grant_parental(DEMO_ADMIN, delegate, principal, [item.portal], [], _EVIDENCE, then)
        delegation.record_child_consent(granted, then, admin=DEMO_ADMIN, form="demo: consent form signed at 13")
        delegation.expire(now)
    else:  # PARENTAL: active at once under 12; AWAITING_CONSENT: pending until the child consents
        delegation.grant_parental(DEMO_ADMIN, delegate, principal, [item.portal], [], _EVIDENCE, now)


def describe(person: DemoPerson, notes: dict[str, str]) -> str:
    """The banner's line for a person: login, password, second factor (or where the activation link is)."""
    if person.password is None:
        born = person.birth_date.strftime("%d-%m-%Y") if person.birth_date else ""
        link = notes.get(person.email, "the link in the inbox")
        return f"{person.login:30} activate: {link}" + (f" (date of birth {born})" if born else "")
    password = person.password + (" (temporary)" if person.temporary else "")
    return f"{person.login:30} {password:28} {_FACTOR_TEXT[person.factor]}"


@dataclass(frozen=True)
class PortalSpec:
    """A portal of clients/ as the demo registers it, under a fixed client id on the provider's port + offset."""

    client_id: str
    name: str
    package: str
    offset: int
    seed: str  # the seed in /work/shared/seeds whose users it serves
    options: dict = field(default_factory=dict)  # registration options (mfa, mfa_factors, ...) and its profile
    people: tuple[str, ...] = ()  # e-mail addresses of DEMO_USERS to try it with


DEMO_PORTALS = [
    # Seed 003: link, SMS code, then the password (at least 10 characters, 1 capital, 1 small letter, 2 digits).
    PortalSpec("demo-patient", "Huisartsenpraktijk De Linde", "clients.patient", 1, "003",
               {"mfa": "required", "mfa_factors": ["sms", "totp"], "password_policy": "gp_practice",
                "profile": {"organisation": "Huisartsenpraktijk De Linde", "accent_colour": "#1d6b4f",
                            "activation_phone": "true", "activation_order": "phone_first", "delegation": "true"}},
               ("patient@example.org", "anna@example.org", "anna+lotte@example.org", "anna+daan@example.org")),
    # Seed 000: professionals and end users, each with their own help address, spoken to as je; end users may
    # register.
    PortalSpec("demo-ordering", "Samen zorgen bestellen", "clients.ordering", 2, "000",
               {"mfa": "optional", "registration": True,
                "profile": {"organisation": "Samen zorgen", "form_of_address": "je",
                            "help_by_role": "professional=bestellingen@samenzorgen.example;"
                                            "enduser=klantenservice@samenzorgen.example"}},
               ("professional@example.org", "enduser@example.org")),
    # Seed 001: an SMS code at every sign-in, the phone number never released to the insurer, and the phone
    # set again after a password reset.
    PortalSpec("demo-business", "Zakelijk Portaal", "clients.business", 3, "001",
               {"mfa": "every", "mfa_factors": ["sms"], "trusted_device_days": 0,
                "email_domains": ["business.example.org"],
                "profile": {"organisation": "Zorgverzekeraar Zuid", "reset_phone": "true",
                            "withheld_claims": "phone_number,phone_number_verified"}},
               ("admin@business.example.org",)),
    # Seed 002: a username, an SMS code with a 4-digit prefix at every sign-in (no trusted computer), passwords of
    # at least 5 characters, "forgot password" asks username and e-mail, help from the EVV'er.
    PortalSpec("demo-elderly", "Mijn Avondrood", "clients.elderly", 4, "002",
               {"mfa": "every", "mfa_factors": ["sms"], "trusted_device_days": 0, "password_policy": "elderly_care",
                "help_contact": "uw EVV'er (eerstverantwoordelijke verzorgende) of de teamleider",
                "profile": {"organisation": "Zorggroep Avondrood", "accent_colour": "#8a3b5c",
                            "sign_in_with": "username", "sms_prefix": "true", "reset_asks_username": "true",
                            "delegation": "true", "new_accounts": "temporary_password"}},
               ("h.jansen@example.org", "w.bakker@example.org", "g.mulder@example.org", "ingrid.mulder@example.org")),
    # Seed 004 (spoken to as je): activation with the date of birth, a username, passwords of 12 characters with
    # a special one, a 6-letter code by e-mail (an authenticator app instead, if you like), "trust this computer
    # for a week".
    PortalSpec("demo-ggz", "Mijn Helder", "clients.ggz", 5, "004",
               {"mfa": "required", "mfa_factors": ["email", "totp"], "trusted_device_days": 7,
                "password_policy": "mental_health",
                "profile": {"organisation": "GGZ Helder", "accent_colour": "#00616e", "sign_in_with": "username",
                            "form_of_address": "je", "activation_phone": "false",
                            "email_code_length": "6", "activation_birth_date": "true"}},
               ("sanne@example.org", "mila@example.org")),
]


def spec(client_id: str) -> PortalSpec:
    """The demo's registration of one portal (tests register theirs the same way)."""
    return next(p for p in DEMO_PORTALS if p.client_id == client_id)


def registration_options(portal: PortalSpec) -> dict:
    """The keyword arguments of `register` for this portal, its profile apart."""
    return {k: v for k, v in portal.options.items() if k != "profile"}


@dataclass
class DemoPortal:
    client_id: str
    name: str
    package: str
    url: str
    secret: str
    seed: str
    people: tuple[DemoPerson, ...]


def register_portals(app, port: int) -> list[DemoPortal]:
    """Register the demo portals, or bring those of an earlier start to this port and to the demo's options
    (second factor, factors, policy, profile: what the code says now), and give each a fresh secret.

    Secrets are stored only as keyed hashes, so every start rotates them and hands them to the portals.
    """
    portals = []
    with app.app_context():
        for portal in DEMO_PORTALS:
            base = f"http://127.0.0.1:{port + portal.offset}"
            chosen = {**portal.options.get("profile", {}), "sign_in_url": base + "/login"}
            registration = registration_options(portal)
            addresses = {"post_logout_redirect_uris": [base + "/"],
                         "backchannel_logout_uri": base + "/backchannel-logout"}
            client = find_portal(portal.client_id)
            if client is None:
                registered = register(portal.name, [base + "/callback"], first_party=True,
                                      client_id=portal.client_id, profile=chosen, **addresses, **registration)
                secret = registered.secret
            else:  # registered at an earlier start, perhaps with another --port or other options
                client.profile = {}
                update(client, name=portal.name, redirect_uris=[base + "/callback"], **addresses, profile=chosen,
                       mfa=registration.get("mfa", "optional"),
                       factors=registration.get("mfa_factors", list(FACTOR_KINDS)),
                       trusted_device_days=registration.get("trusted_device_days", 7),
                       password_policy=registration.get("password_policy", ""),
                       help_contact=registration.get("help_contact", ""),
                       email_domains=registration.get("email_domains", []),
                       registration=registration.get("registration", False))
                secret = rotate_secret(client)
            people = tuple(person for email in portal.people for person in DEMO_USERS if person.email == email)
            portals.append(DemoPortal(portal.client_id, portal.name, portal.package, base, secret, portal.seed, people))
        db.session.commit()
    return portals


def serve_portals(portals: list[DemoPortal], issuer: str, acr_mfa: str) -> None:
    """Each portal on its own port in a daemon thread of this process: Ctrl-C stops them with the provider."""
    for portal in portals:
        app = importlib.import_module(portal.package).create_app({
            "PORTAL_ISSUER": issuer, "PORTAL_CLIENT_ID": portal.client_id, "PORTAL_CLIENT_SECRET": portal.secret,
            "PORTAL_BASE_URL": portal.url, "PORTAL_SECRET_KEY": secrets.token_hex(32),
            "PORTAL_ACR_MFA": acr_mfa,  # the ordering portal steps professionals up to it
        })
        server = make_server("127.0.0.1", urlsplit(portal.url).port, app, threaded=True)
        threading.Thread(target=server.serve_forever, name=portal.client_id, daemon=True).start()


_FACTOR_TEXT = {"sms": "SMS code (see the inbox)", "email": "e-mail code (see the inbox)",
                "totp": f"authenticator app, key {DEMO_TOTP_SECRET}", None: "no second factor yet"}


# Ports browsers refuse to open ("bad ports" of the Fetch standard, §2.9): a demo there could not be used.
BROWSER_BLOCKED_PORTS = frozenset({
    1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109,
    110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530,
    531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045,
    4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
})


def check_ports(port: int) -> None:
    """The provider's port and the portals' ports after it must be ports a browser will open, and free now."""
    ports = [port] + [port + portal.offset for portal in DEMO_PORTALS]
    if port < 1 or ports[-1] > 65535:
        raise click.BadParameter(f"{port}: the demo needs ports {ports[0]}-{ports[-1]}, within 1-65535",
                                 param_hint="--port")
    blocked = [p for p in ports if p in BROWSER_BLOCKED_PORTS]
    if blocked:
        raise click.BadParameter(
            f"{port}: browsers refuse to open port {blocked[0]}, which the demo would use "
            f"(ports {ports[0]}-{ports[-1]}); choose another, e.g. --port 5000", param_hint="--port")
    for number in ports:  # before anything is set up or printed, not a traceback after the banner
        found = problem("127.0.0.1", number)
        if found:
            what = "" if number == port else f" (one of the demo's portals: the demo uses {ports[0]}-{ports[-1]})"
            other = free_demo_port(port)
            stop = "stop what listens there, or " if found == "in use" else ""
            raise PortUnusable(f"port {number}{what} is {found}: {stop}run the demo on other ports: "
                               f"idp demo --port {other} (make demo PORT={other})")


def free_demo_port(taken: int) -> int:
    """A port from which the demo's ports are all free and open to browsers, to suggest instead of `taken`."""
    span = max(portal.offset for portal in DEMO_PORTALS)
    for port in range(taken + 100, 65535 - span, 100):
        ports = range(port, port + span + 1)
        if not BROWSER_BLOCKED_PORTS.intersection(ports) and not any(problem("127.0.0.1", p) for p in ports):
            return port
    return taken


def run_demo(port: int = 5000, reset: bool = False) -> None:

    check_ports(port)
    # Defaults only: IDP_* variables (or IDP_CONFIG) still choose another port, database or cost.
    os.environ.setdefault("IDP_SERVER_DEV_MODE", "true")
    os.environ.setdefault("IDP_SERVER_ISSUER", f"http://127.0.0.1:{port}")
    os.environ.setdefault("IDP_DATABASE_URL", "sqlite:///demo.sqlite")
    os.environ.setdefault("IDP_PASSWORDS_BCRYPT_ROUNDS", "10")
    os.environ.setdefault("IDP_MESSAGING_DELIVER_AFTER_COMMIT", "true")  # codes show in the inbox at once
    settings = with_demo_policies(load())
    if not settings.server.dev_mode:
        raise click.ClickException("idp demo runs in dev mode only (server.dev_mode is false)")
    app = create_app(settings)
    if reset:
        _delete_database(app)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        ensure_keys(crypto(), settings.keys.rsa_bits)
        db.session.commit()
    portals = register_portals(app, port)  # first: an account is made for its portal
    notes = seed(app)
    serve_portals(portals, settings.issuer, settings.mfa.acr_mfa)
    for line in banner(settings, notes, port, portals):
        click.echo(line)
    logs.configure(settings.logging.format, settings.logging.level)  # text unless the config says json
    # Werkzeug directly: app.run() refuses to serve inside a Flask CLI command (and `idp` is one).

    run_simple("127.0.0.1", port, app, threaded=True)


def banner(settings, notes: dict[str, str], port: int, portals: list[DemoPortal] = ()) -> list[str]:
    """What the demo prints: where it runs, each portal with the people to try it as, and how to register a
    portal against it."""
    issuer = settings.issuer
    # The same settings the demo uses, so the command below writes to the demo's own database.
    env = {"IDP_SERVER_DEV_MODE": "true", "IDP_DATABASE_URL": settings.database.url}
    if settings.server.instance_path != "instance":
        env["IDP_SERVER_INSTANCE_PATH"] = settings.server.instance_path
    prog = sys.argv[0] if Path(sys.argv[0]).name == "idp" else "idp"
    command = " ".join([*(f"{k}={shlex.quote(v)}" for k, v in env.items()), shlex.quote(prog), "clients", "add",
                        "--name", "'My portal'", "--redirect-uri", f"http://127.0.0.1:{port + 10}/callback",
                        "--first-party", "--json"])
    at_portals = {person.email for portal in portals for person in portal.people}
    console = {person.login: person for person in DEMO_USERS if person.login in {a.login for a in DEMO_ADMINS}}
    lines = [
        f"idp demo: the provider runs at {issuer} (dev mode, database {settings.database.url})",
        f"  discovery (give this to a portal's OIDC library): {issuer}/.well-known/openid-configuration",
        f"  development inbox (every e-mail and SMS the demo sends, codes and links included): {issuer}/dev/inbox",
        "  the portals (each signs in at its /login) and their demo people (sign in with | password | second factor):",
    ]
    for portal in portals:
        lines.append(f"    {portal.name:28} {portal.url}   seed {portal.seed}")
        lines += [f"      {describe(person, notes)}" for person in portal.people]
        lines += acting_lines(portal.client_id, issuer)
    lines += [
        f"  your account page (sign in here to try every second factor): {issuer}/account",
        *(f"      {describe(person, notes)}" for person in DEMO_USERS
          if person.email not in at_portals and person.login not in console),
        *demo_admins.banner_lines(issuer, lambda login: describe(console[login], notes)),
        "  demo people are kept between runs; `idp demo --reset` starts afresh",
        "  register a portal (in another terminal; prints its client_id and client_secret):",
        f"    {command}",
        "  stop with Ctrl-C",
    ]
    return lines


_STORY_TEXT = {
    PARENTAL: "parental, active: offered on the chooser",
    AWAITING_CONSENT: "parental, waiting for {child}'s consent: not offered until {child} signs in at "
                      "{issuer}/account/delegations and gives it",
    ENDED_AT_ADULT_AGE: "parental, ended at the 16th birthday: never offered, shown as ended",
    CONTACT_PERSON: "contact person (family), active: offered on the chooser",
}


def acting_lines(client_id: str, issuer: str) -> list[str]:
    """The banner's lines on acting for someone else at this portal (issue 15): who for whom, and how it stands."""
    names = {person.email: (person.name, person.given_name, person.age) for person in DEMO_USERS}
    names |= {p.name: (p.name, p.given_name, p.age) for p in DEMO_PRINCIPALS}
    here = [item for item in DEMO_DELEGATIONS if item.portal == client_id]
    if not here:
        return []
    lines = [('      acting for someone else: sign in as the first person, choose the other on "Voor wie logt u in?" '
              '(the portal\'s "Wissel van persoon" asks again):')]
    for item in here:
        delegate, (principal, given, age) = names[item.delegate][0], names[item.principal]
        no_login = ", no login of their own" if item.principal not in {p.email for p in DEMO_USERS} else ""
        story = _STORY_TEXT[item.story].format(child=given, issuer=issuer)
        lines.append(f"        {delegate} for {principal} ({age}{no_login}): {story}")
    return lines


def _delete_database(app) -> None:
    """--reset: remove the SQLite file (only SQLite: a demo never drops a server database)."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        raise click.ClickException("idp demo --reset only deletes a SQLite database")
    if url.database and url.database != ":memory:":
        Path(url.database).unlink(missing_ok=True)
