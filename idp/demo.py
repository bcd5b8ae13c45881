"""`idp demo`: the provider in dev mode on SQLite with known demo users, ready to try."""

from __future__ import annotations

import os
from pathlib import Path

import click

DEMO_USERS = [
    # (email, password, name, phone)
    ("patient@example.org", "Patient-demo-2026", "Petra Patiënt", "+31612345678"),
    ("parent@example.org", "Parent-demo-2026", "Pieter Ouder", "+31612345679"),
    ("professional@example.org", "Professional-demo-2026", "Dr. Fatima El Amrani", "+31612345680"),
    ("enduser@example.org", "Enduser-demo-2026", "Eva Eindgebruiker", "+31612345681"),
    ("admin@business.example.org", "Business-demo-2026", "Bram Beheerder", "+31612345682"),
]


def seed(app) -> list[tuple[str, str]]:
    """Create the demo users that are missing; returns (email, password) of all of them."""
    from idp.accounts.users import create_user, find_by_login
    from idp.extensions import db

    with app.app_context():
        for email, password, name, phone in DEMO_USERS:
            if find_by_login(email) is None:
                create_user(email, password, name=name, phone=phone)
        db.session.commit()
    return [(email, password) for email, password, _, _ in DEMO_USERS]


def run_demo(port: int = 5000, reset: bool = False) -> None:
    from flask_migrate import upgrade

    from idp import create_app
    from idp.extensions import db
    from idp.oidc.keys import ensure_keys
    from idp.runtime import crypto
    from idp.settings import load

    os.environ.setdefault("IDP_SERVER_DEV_MODE", "true")
    os.environ.setdefault("IDP_SERVER_ISSUER", f"http://127.0.0.1:{port}")
    os.environ.setdefault("IDP_DATABASE_URL", "sqlite:///demo.sqlite")
    os.environ.setdefault("IDP_PASSWORDS_BCRYPT_ROUNDS", "10")
    settings = load()
    if reset:
        Path(settings.server.instance_path, "demo.sqlite").unlink(missing_ok=True)
    app = create_app(settings)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        ensure_keys(crypto(), settings.keys.rsa_bits)
        db.session.commit()
    users = seed(app)
    click.echo(f"idp demo: provider at {settings.issuer} (dev mode, SQLite {settings.database.url})")
    click.echo(f"  discovery: {settings.issuer}/.well-known/openid-configuration")
    click.echo("  demo users (existing ones are kept; `idp demo --reset` starts afresh):")
    for email, password in users:
        click.echo(f"    {email:32} {password}")
    click.echo("  register a portal: idp clients add --name NAME --redirect-uri URL --json")
    click.echo("  stop with Ctrl-C")
    app.run(host="127.0.0.1", port=port, debug=False, use_reloader=False, threaded=True)
