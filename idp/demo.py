"""`idp demo`: the provider in dev mode on SQLite with known demo users and the three portals, ready to try."""

from __future__ import annotations

import importlib
import os
import secrets
import shlex
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import click
from flask_migrate import upgrade
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server, run_simple

from idp import create_app
from idp.accounts import factors
from idp.accounts.users import create_user, find_by_login
from idp.errors import NotFound
from idp.extensions import db
from idp.oidc.keys import ensure_keys
from idp.portals import profile as portal_profile
from idp.portals.registry import get, register, rotate_secret
from idp.runtime import crypto
from idp.settings import load

# The authenticator-app key of the demo professional: add it to an app by hand, or compute codes with
# `python -c "import pyotp; print(pyotp.TOTP('<key>').now())"`.
DEMO_TOTP_SECRET = "KRSXG5CTMVRXEZLUKN2XAZLDOIQGC4DQ"

DEMO_USERS = [
    # (email, password, name, phone, roles, second factor)
    ("patient@example.org", "Tulpenveld-2026", "Petra Patiënt", "+31612345678", [], "sms"),
    ("parent@example.org", "Molenwiek-2026", "Pieter Ouder", "+31612345679", [], "email"),
    ("professional@example.org", "Spreekuur-2026", "Dr. Fatima El Amrani", "+31612345680",
     ["professional"], "totp"),
    ("enduser@example.org", "Rolstoel-2026", "Eva Eindgebruiker", "+31612345681", ["enduser"], None),
    ("admin@business.example.org", "Kantoorpand-2026", "Bram Beheerder", "+31612345682", ["admin"], "sms"),
]


def seed(app) -> list[tuple[str, str, str]]:
    """Create the demo users that are missing, with their second factor; returns (email, password, factor)."""
    with app.app_context():
        for email, password, name, phone, roles, factor in DEMO_USERS:
            if find_by_login(email) is None:
                user = create_user(email, password, name=name, phone=phone, roles=roles)
                if factor:
                    factors.add_confirmed(user, factor, phone_number=phone, secret=DEMO_TOTP_SECRET)
        db.session.commit()
    return [(email, password, _FACTOR_TEXT[factor]) for email, password, _, _, _, factor in DEMO_USERS]


# The three portals of clients/, registered under fixed client ids, each on the provider's port + offset.
DEMO_PORTALS = [
    # (client_id, name, package, port offset, registration and sign-in profile, who to try it with)
    ("demo-patient", "Huisartsenpraktijk De Linde", "clients.patient", 1,
     {"mfa": "required", "mfa_factors": ["sms", "totp"],
      "profile": {"organisation": "Huisartsenpraktijk De Linde", "accent_colour": "#1d6b4f"}},
     "patient@example.org"),
    # Seed 000 speaks to its professionals and end users as je.
    ("demo-ordering", "Samen zorgen bestellen", "clients.ordering", 2,
     {"mfa": "optional", "registration": True,
      "profile": {"organisation": "Samen zorgen", "address": "je",
                  "help_by_role": "professional=bestellingen@samenzorgen.example;"
                                  "enduser=klantenservice@samenzorgen.example"}},
     "professional@example.org or enduser@example.org"),
    # Seed 001: an SMS code at every sign-in, the phone number never released to the insurer, and the phone
    # set again after a password reset.
    ("demo-business", "Zakelijk Portaal", "clients.business", 3,
     {"mfa": "every", "mfa_factors": ["sms"], "trusted_device_days": 0,
      "email_domains": ["business.example.org"],
      "profile": {"organisation": "Zorgverzekeraar Zuid", "reset_phone": "true",
                  "withheld_claims": "phone_number,phone_number_verified"}},
     "admin@business.example.org"),
]


@dataclass
class DemoPortal:
    client_id: str
    name: str
    package: str
    url: str
    secret: str
    who: str


def register_portals(app, port: int) -> list[DemoPortal]:
    """Register the demo portals (or move their URIs to this port) and give each a fresh secret.

    Secrets are stored only as keyed hashes, so every start rotates them and hands them to the portals.
    """
    portals = []
    with app.app_context():
        for client_id, name, package, offset, options, who in DEMO_PORTALS:
            base = f"http://127.0.0.1:{port + offset}"
            chosen = {**options["profile"], "sign_in_url": base + "/login"}
            registration = {k: v for k, v in options.items() if k != "profile"}
            try:
                client = get(client_id)
            except NotFound:
                registered = register(name, [base + "/callback"], post_logout_redirect_uris=[base + "/"],
                                      backchannel_logout_uri=base + "/backchannel-logout", first_party=True,
                                      client_id=client_id, profile=chosen, **registration)
                secret = registered.secret
            else:  # registered at an earlier start, perhaps with another --port: the URIs follow
                client.redirect_uris, client.post_logout_redirect_uris = [base + "/callback"], [base + "/"]
                client.backchannel_logout_uri = base + "/backchannel-logout"
                portal_profile.change(client, chosen)
                secret = rotate_secret(client)
            portals.append(DemoPortal(client_id, name, package, base, secret, who))
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
    """The provider's port and the portals' ports after it must be ports a browser will open."""
    ports = [port] + [port + offset for _, _, _, offset, _, _ in DEMO_PORTALS]
    if port < 1 or ports[-1] > 65535:
        raise click.BadParameter(f"{port}: the demo needs ports {ports[0]}-{ports[-1]}, within 1-65535",
                                 param_hint="--port")
    blocked = [p for p in ports if p in BROWSER_BLOCKED_PORTS]
    if blocked:
        raise click.BadParameter(
            f"{port}: browsers refuse to open port {blocked[0]}, which the demo would use "
            f"(ports {ports[0]}-{ports[-1]}); choose another, e.g. --port 5000", param_hint="--port")


def run_demo(port: int = 5000, reset: bool = False) -> None:

    check_ports(port)
    # Defaults only: IDP_* variables (or IDP_CONFIG) still choose another port, database or cost.
    os.environ.setdefault("IDP_SERVER_DEV_MODE", "true")
    os.environ.setdefault("IDP_SERVER_ISSUER", f"http://127.0.0.1:{port}")
    os.environ.setdefault("IDP_DATABASE_URL", "sqlite:///demo.sqlite")
    os.environ.setdefault("IDP_PASSWORDS_BCRYPT_ROUNDS", "10")
    os.environ.setdefault("IDP_MESSAGING_DELIVER_AFTER_COMMIT", "true")  # codes show in the inbox at once
    settings = load()
    if not settings.server.dev_mode:
        raise click.ClickException("idp demo runs in dev mode only (server.dev_mode is false)")
    app = create_app(settings)
    if reset:
        _delete_database(app)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        ensure_keys(crypto(), settings.keys.rsa_bits)
        db.session.commit()
    users = seed(app)
    portals = register_portals(app, port)
    serve_portals(portals, settings.issuer, settings.mfa.acr_mfa)
    for line in banner(settings, users, port, portals):
        click.echo(line)
    # Werkzeug directly: app.run() refuses to serve inside a Flask CLI command (and `idp` is one).

    run_simple("127.0.0.1", port, app, threaded=True)


def banner(settings, users: list[tuple[str, str, str]], port: int, portals: list[DemoPortal] = ()) -> list[str]:
    """What the demo prints: where it runs, who can sign in, and how to register a portal against it."""
    issuer = settings.issuer
    # The same settings the demo uses, so the command below writes to the demo's own database.
    env = {"IDP_SERVER_DEV_MODE": "true", "IDP_DATABASE_URL": settings.database.url}
    if settings.server.instance_path != "instance":
        env["IDP_SERVER_INSTANCE_PATH"] = settings.server.instance_path
    prog = sys.argv[0] if Path(sys.argv[0]).name == "idp" else "idp"
    command = " ".join([*(f"{k}={shlex.quote(v)}" for k, v in env.items()), shlex.quote(prog), "clients", "add",
                        "--name", "'My portal'", "--redirect-uri", f"http://127.0.0.1:{port + 10}/callback",
                        "--first-party", "--json"])
    lines = [
        f"idp demo: the provider runs at {issuer} (dev mode, database {settings.database.url})",
        f"  discovery (give this to a portal's OIDC library): {issuer}/.well-known/openid-configuration",
        "  the portals (open one and sign in; the others then know you):",
        *(f"    {p.name:28} {p.url}   try {p.who}" for p in portals),
        f"  your account page (sign in here to try every second factor): {issuer}/account",
        f"  development inbox (every e-mail and SMS the demo sends, codes included): {issuer}/dev/inbox",
        "  demo users (kept between runs; `idp demo --reset` starts afresh):",
        *(f"    {email:32} {password:24} {factor}" for email, password, factor in users),
        "  register a portal (in another terminal; prints its client_id and client_secret):",
        f"    {command}",
        "  stop with Ctrl-C",
    ]
    return lines


def _delete_database(app) -> None:
    """--reset: remove the SQLite file (only SQLite: a demo never drops a server database)."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        raise click.ClickException("idp demo --reset only deletes a SQLite database")
    if url.database and url.database != ":memory:":
        Path(url.database).unlink(missing_ok=True)
