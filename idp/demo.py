"""`idp demo`: the provider in dev mode on SQLite with known demo users, ready to try."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import click

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
    from idp.accounts import factors
    from idp.accounts.users import create_user, find_by_login
    from idp.extensions import db

    with app.app_context():
        for email, password, name, phone, roles, factor in DEMO_USERS:
            if find_by_login(email) is None:
                user = create_user(email, password, name=name, phone=phone, roles=roles)
                if factor:
                    factors.add_confirmed(user, factor, phone_number=phone, secret=DEMO_TOTP_SECRET)
        db.session.commit()
    return [(email, password, _FACTOR_TEXT[factor]) for email, password, _, _, _, factor in DEMO_USERS]


_FACTOR_TEXT = {"sms": "SMS code (see the inbox)", "email": "e-mail code (see the inbox)",
                "totp": f"authenticator app, key {DEMO_TOTP_SECRET}", None: "no second factor yet"}


def run_demo(port: int = 5000, reset: bool = False) -> None:
    from flask_migrate import upgrade

    from idp import create_app
    from idp.extensions import db
    from idp.oidc.keys import ensure_keys
    from idp.runtime import crypto
    from idp.settings import load

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
    for line in banner(settings, users, port):
        click.echo(line)
    # Werkzeug directly: app.run() refuses to serve inside a Flask CLI command (and `idp` is one).
    from werkzeug.serving import run_simple

    run_simple("127.0.0.1", port, app, threaded=True)


def banner(settings, users: list[tuple[str, str, str]], port: int) -> list[str]:
    """What the demo prints: where it runs, who can sign in, and how to register a portal against it."""
    issuer = settings.issuer
    # The same settings the demo uses, so the command below writes to the demo's own database.
    env = {"IDP_SERVER_DEV_MODE": "true", "IDP_DATABASE_URL": settings.database.url}
    if settings.server.instance_path != "instance":
        env["IDP_SERVER_INSTANCE_PATH"] = settings.server.instance_path
    prog = sys.argv[0] if Path(sys.argv[0]).name == "idp" else "idp"
    command = " ".join([*(f"{k}={shlex.quote(v)}" for k, v in env.items()), shlex.quote(prog), "clients", "add",
                        "--name", "'My portal'", "--redirect-uri", f"http://127.0.0.1:{port + 1}/callback",
                        "--first-party", "--json"])
    lines = [
        f"idp demo: the provider runs at {issuer} (dev mode, database {settings.database.url})",
        f"  discovery (give this to a portal's OIDC library): {issuer}/.well-known/openid-configuration",
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
    from sqlalchemy.engine import make_url

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        raise click.ClickException("idp demo --reset only deletes a SQLite database")
    if url.database and url.database != ":memory:":
        Path(url.database).unlink(missing_ok=True)
