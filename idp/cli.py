"""The `idp` command (also `flask --app idp ...`): init, serve, demo, worker, users, clients, keys, messages,
delegations, orgs, admins."""

from __future__ import annotations

import contextlib
import copy
import functools
import getpass
import json
import logging
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from typing import NoReturn

import click
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext
from flask_limiter.commands import cli as limiter_cli
from flask_migrate import upgrade
from flask_migrate.cli import db as migrate_cli
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SqlTimeoutError

from idp import audit, clock, create_app, delegation, logs, messaging, metrics, rekeying, serving
from idp.accounts import activation, admins, onboarding, organisations, people
from idp.accounts.users import get_by_ref, phone_of
from idp.delegation import disabling, erasure, invitations
from idp.demo import run_demo
from idp.errors import IdpError
from idp.extensions import db
from idp.maintenance import purge
from idp.messaging import dead_letters, pending, retry_dead
from idp.messaging.queue import INLINE
from idp.models import Client, Delegation, SigningKey, User
from idp.oidc.keys import ALGORITHMS, ensure_keys, published_for, rotate
from idp.oidc.keys import state as key_state
from idp.outages import Outage
from idp.portals import declared, registry
from idp.portals.registry import ClientIdTaken, describe, get, register, remove, rotate_secret, update
from idp.ports import PortUnusable, problem, split_bind
from idp.runtime import crypto, keyring, settings
from idp.security.crypto import DecryptionError, HashKeyChanged
from idp.security.lockout import unlock
from idp.settings import load


def fail(message: str) -> NoReturn:
    """One clear line on stderr and exit code 2; the transaction is rolled back so nothing is half-written."""
    db.session.rollback()
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _database_name() -> str:
    return db.engine.url.render_as_string(hide_password=True)


def require_schema() -> None:
    """Refuse to work on a database that `idp init` has not brought to the newest migration."""
    heads = set(ScriptDirectory(current_app.extensions["migrate"].directory).get_heads())
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current != heads:
        state = "has no schema" if not current else "is not at the newest migration"
        fail(f"database {_database_name()} {state}: run `idp init`")


def _guard(func, check_schema: bool):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        # The operating-system user acts unless the command names an admin (`--as`): never just "cli".
        audit.set_origin(audit.Origin(actor=os_user(), user_agent="idp-cli"))
        # A command's process ends when it returns: the first attempt of what it queued (portals told of
        # ended sessions, messages when delivered after commit) is made before that.
        current_app.config[INLINE] = True
        try:
            if check_schema:
                require_schema()
            return func(*args, **kwargs)
        except (IdpError, DecryptionError, HashKeyChanged) as exc:
            fail(str(exc))
        except DBAPIError as exc:
            # Unreachable server, wrong credentials, a constraint: the driver's first line says which.
            detail = str(exc.orig or exc).strip().splitlines()[0]
            fail(f"database {_database_name()}: {detail}")

    return wrapper


def domain_command(func):
    """Run a command as the CLI actor on an initialised database; domain errors become one line, exit 2."""
    return _guard(func, check_schema=True)


def emit(data: dict | list, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    rows = data if isinstance(data, list) else [data]
    for row in rows:
        click.echo("  ".join(_text_fields(row)))


def _text_fields(row: dict) -> list[str]:
    """key=value pairs; a portal's profile as profile.<field>=<value>, marked (portal) where it set it."""
    out = []
    for key, value in row.items():
        if key == "profile" and isinstance(value, dict):
            out += [f"profile.{name}={_text(v['value'])}" + (" (portal)" if v["from"] == "portal" else "")
                    for name, v in value.items()]
        elif value not in (None, [], ""):
            out.append(f"{key}={value}")
    return out


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and all(isinstance(item, list) for item in value):  # help_by_role's pairs
        return "; ".join("=".join(map(str, item)) for item in value)
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


# --- init / serve / demo ------------------------------------------------------------------

def upgrade_database() -> None:

    upgrade(directory=current_app.extensions["migrate"].directory)


@click.command("init")
@with_appcontext
@functools.partial(_guard, check_schema=False)
def init_command():
    """Create or upgrade the database, make sure signing keys exist, and register the declared portals."""
    upgrade_database()
    rekeying.check_hash_key(crypto())
    created = ensure_keys(crypto(), settings().keys.rsa_bits)
    db.session.commit()
    click.echo(f"database ready; {len(created)} signing key(s) created")
    report_sync(sync_declared_portals(), dry_run=False, quiet=True)


def free_bind(ctx: click.Context, param: click.Parameter, bind: str) -> str:
    """--bind's check, made while the command line is read: before the app, the database or gunicorn is touched."""
    address = split_bind(bind)
    found = problem(*address) if address else None
    if found:
        stop = "stop what listens there, or " if found == "in use" else ""
        host, port = address  # type: ignore[misc]
        raise PortUnusable(f"port {port} ({bind}) is {found}: {stop}choose another with --bind HOST:PORT, "
                           f"e.g. --bind {host or '0.0.0.0'}:{port + 1}")  # noqa: S104 (an example)
    return bind


@click.command("serve")
@click.option("--bind", default="127.0.0.1:5000", show_default=True, callback=free_bind,
              help="host:port (or unix:PATH) to listen on.")
@click.option("--workers", default=3, show_default=True, type=click.IntRange(1, 64),
              help="Processes; about cores + 1 lets one wait on the database while the others compute.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@with_appcontext
@domain_command
def serve_command(bind: str, workers: int, threads: int):
    """Run the provider under gunicorn (production); run `idp init` first. The declared portals are synced first."""
    algs = set(db.session.scalars(select(SigningKey.alg).where(SigningKey.retired_at.is_(None))))
    if not {"RS256", "ES256"} <= algs:
        fail("no active signing keys: run `idp init`")
    keyring().reload()  # a missing encryption key stops start-up here, in one line, not at the first token
    rekeying.check_hash_key(crypto())
    db.session.commit()
    # Before any worker starts, so every worker serves the portals of the file it read.
    report_sync(sync_declared_portals(), dry_run=False, quiet=True)
    db.session.remove()
    db.engine.dispose()
    if settings().metrics.enabled and not os.environ.get(metrics.MULTIPROC_DIR):
        # prometheus-client's multiprocess mode: every worker writes its values here; a scrape adds them up.
        folder = tempfile.mkdtemp(prefix="idp-metrics-")
        os.environ[metrics.MULTIPROC_DIR] = os.environ[serving.OWNED_DIR] = folder
    args = ["gunicorn", "--config", "python:idp.serving", "--bind", bind, "--workers", str(workers),
            "--threads", str(threads), "--access-logfile", "-", "idp.wsgi:app"]
    sys.stdout.flush()
    # The workers read the same IDP_CONFIG and IDP_* environment, so they see the settings checked here.
    os.execvp(sys.executable, [sys.executable, "-m", *args])  # noqa: S606 (our own interpreter, fixed arguments)


@click.command("demo")
@click.option("--port", default=5000, show_default=True)
@click.option("--reset", is_flag=True, help="Delete the demo database first.")
def demo_command(port: int, reset: bool):
    """Run the provider in dev mode on SQLite with demo users (kept between runs)."""
    run_demo(port=port, reset=reset)


@click.command("worker")
@click.option("--once", is_flag=True, help="One pass over what is due, then exit (cron, tests).")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Seconds between passes.")
@with_appcontext
@domain_command
def worker_command(once: bool, interval: float):
    """Deliver queued e-mail, SMS and back-channel logouts (also what a restarted server left); purge expired rows.

    It keeps running through outages of the database or Redis: a failed pass is logged once per outage, the
    next passes back off (1 s doubling to 30 s) until one works, and the recovery is logged. With --once a
    failed pass is an error (exit 1), for cron to report.
    """
    logs.configure(settings().logging.format, settings().logging.level)
    outage = Outage("idp worker pass", logging.getLogger("idp.worker"))
    next_purge = 0.0
    try:
        while True:
            try:
                if time.monotonic() >= next_purge:  # housekeeping hourly; logouts every pass
                    _purge_expired()
                    next_purge = time.monotonic() + 3600
                _deliver_due()
            except Exception as exc:
                if once:
                    raise
                _forget_session()
                expected = isinstance(exc, (OperationalError, InterfaceError, DisconnectionError,
                                            SqlTimeoutError, RedisError, OSError))
                time.sleep(outage.failed(exc, expected=expected))
                continue
            outage.succeeded()
            if once:
                return
            db.session.remove()  # hold no connection while sleeping
            time.sleep(interval)
    except KeyboardInterrupt:
        return


def _forget_session() -> None:
    """Drop the failed pass's session; its connection may be dead (the pool tests each one on checkout)."""
    with contextlib.suppress(Exception):  # the connection died with the outage: nothing left to roll back
        db.session.rollback()
    db.session.remove()


def _purge_expired() -> None:
    removed = {k: v for k, v in purge().items() if v}
    if removed:
        click.echo("purged " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in removed.items()))


def _deliver_due() -> None:
    counts = {k: v for k, v in messaging.deliver_due().items() if v}
    if counts:
        click.echo("deliveries: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


def os_user() -> str:
    """The operating-system user running the command (a container without a passwd entry: its uid)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def acting_admin(name: str | None) -> str:
    """Who acts: `--as NAME`, else the operating-system user running the command; the audit's actor from now on."""
    admin = (name or "").strip()[:200] or os_user()
    audit.set_origin(audit.Origin(actor=admin, user_agent="idp-cli"))
    return admin


def as_option(func):
    return click.option("--as", "as_admin", metavar="NAME",
                        help="The admin on whose word this is done (default: the operating-system user).")(func)


# --- users --------------------------------------------------------------------------------

users = AppGroup("users", help="Manage people's accounts.")


def _user_row(user) -> dict:

    return {"sub": user.sub, "email": user.email, "username": user.username, "name": user.name,
            "phone": phone_of(user), "roles": list(user.roles or []),
            "organisation": user.org.code if user.org is not None else None, "disabled": user.disabled_at is not None,
            "created_at": user.created_at.isoformat()}


@users.command("add")
@click.option("--email", required=True)
@click.option("--password", help="The password, or - to read it from standard input.")
@click.option("--temporary", is_flag=True,
              help="Instead of --password: a generated temporary password, sent by e-mail, changed at first sign-in.")
@click.option("--activate", is_flag=True,
              help="Instead of --password: no password yet; an activation link is sent by e-mail.")
@click.option("--phone")
@click.option("--name")
@click.option("--username")
@click.option("--locale", type=click.Choice(["nl", "en"]))
@click.option("--role", "roles", multiple=True, help="A role (repeat), e.g. professional; see mfa.required_roles.")
@click.option("--birth-date", help="YYYY-MM-DD; asked at activation (with --activate).")
@click.option("--organisation", metavar="CODE",
              help="The organisation the person is a member of, by code (or name), named in the mail; a name no "
                   "organisation has yet makes one (kind other; `idp orgs update` to complete it).")
@click.option("--portal", "portal_id", metavar="CLIENT_ID",
              help="The portal the account is for: its name, password policy and address in the mail and on the "
                   "activation pages (with --temporary or --activate).")
@as_option
@click.option("--json", "as_json", is_flag=True)
@domain_command
def users_add(email, password, temporary, activate, phone, name, username, locale, roles, birth_date,
              organisation, portal_id, as_admin, as_json):
    """Add a user with a password, a temporary password sent by e-mail, or an activation link."""
    if [bool(password), temporary, activate].count(True) != 1:
        fail("give exactly one of --password, --temporary or --activate")
    if password == "-":
        # Keeps the password out of the shell history and the process list.
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        born = date.fromisoformat(birth_date) if birth_date else None
    except ValueError:
        fail(f"--birth-date must be a real date as YYYY-MM-DD, not {birth_date!r}")
    portal = get(portal_id) if portal_id else None
    admin = admins.operator(acting_admin(as_admin))
    org = None
    if organisation and organisation.strip():
        org = organisations.find(organisation) or organisations.create(admin, organisation, "other", clock.now())
    start = onboarding.PASSWORD if password else onboarding.TEMPORARY if temporary else onboarding.ACTIVATE
    new = onboarding.NewPerson(email, name=name, username=username, phone=phone, locale=locale, roles=list(roles),
                               date_of_birth=born, org=org)
    user = onboarding.add(admin, new, portal=portal, now=clock.now(), start=start, password=password or None,
                          check=False)
    db.session.commit()
    emit({"sub": user.sub, "email": user.email}, as_json)


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@domain_command
def users_list(as_json):
    """List all users."""
    emit([_user_row(u) for u in db.session.scalars(select(User).order_by(User.id))], as_json)


@users.command("disable")
@click.argument("ref")
@as_option
@click.option("--json", "as_json", is_flag=True)
@domain_command
def users_disable(ref, as_admin, as_json):
    """Disable a user: end their sessions (portals are told at once) and revoke their tokens."""
    acting_admin(as_admin)
    user = get_by_ref(ref)
    deliveries = disabling.disable(user)  # also ends the portal sessions of whoever acts for them
    db.session.commit()  # the portals are told before this returns (the CLI delivers inline)
    left = _left(deliveries)
    if as_json:
        emit({"sub": user.sub, "disabled": True, "portal_logouts_left": left}, True)
        return
    click.echo(f"disabled {user.email}" + (f"; {left} portal logout(s) left for `idp worker`" if left else ""))


@users.command("unlock")
@click.argument("ref")
@as_option
@click.option("--json", "as_json", is_flag=True)
@domain_command
def users_unlock(ref, as_admin, as_json):
    """Unlock a user locked out by wrong passwords (their e-mail and username), by sub, e-mail or username."""
    acting_admin(as_admin)
    user = get_by_ref(ref)
    cleared = unlock(user)
    db.session.commit()
    if as_json:
        emit({"sub": user.sub, "unlocked": bool(cleared)}, True)
        return
    click.echo(f"unlocked {user.email}" if cleared else f"{user.email} was not locked; nothing to clear")


@users.command("resend-activation")
@click.argument("ref")
@as_option
@click.option("--json", "as_json", is_flag=True)
@domain_command
def users_resend_activation(ref, as_admin, as_json):
    """Send a new activation link (the earlier one stops working); refused once the account has a password."""
    acting_admin(as_admin)
    user = get_by_ref(ref)
    activation.send_link(user, resend=True)
    db.session.commit()
    if as_json:
        emit({"sub": user.sub, "activation_sent_to": user.email}, True)
        return
    click.echo(f"sent a new activation link to {user.email}")


def _birth_date(value: str, option: str = "--birth-date") -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a real date as YYYY-MM-DD, not {value!r}")


@users.command("add-principal")
@click.option("--name", required=True, help="The person's full name.")
@click.option("--birth-date", required=True, help="YYYY-MM-DD: the age rules of delegation read it.")
@click.option("--locale", type=click.Choice(["nl", "en"]))
@as_option
@click.option("--json", "as_json", is_flag=True)
@domain_command
def users_add_principal(name, birth_date, locale, as_admin, as_json):
    """Add a person without a login of their own (a young child, a client who does not use the portals), for
    whom others act (`idp delegations add`). The account can never sign in."""
    user = delegation.create_principal(name, _birth_date(birth_date), acting_admin(as_admin), clock.now(),
                                       locale=locale)
    db.session.commit()
    emit({"sub": user.sub, "name": user.name, "date_of_birth": user.date_of_birth.isoformat(), "no_login": True},
         as_json)


# --- users: what an admin does every day (idp/accounts/people.py; the admin console uses the same) --------

def _left(deliveries: list) -> int:
    """Portal logouts still queued after the inline attempt (the worker retries them)."""
    return len(pending([d.id for d in deliveries])) if deliveries else 0


def _plain(value):
    """JSON-ready: dates as ISO text, the rest as is."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value.isoformat() if isinstance(value, date) else value


def _found_row(user: User, now) -> dict:
    return {"sub": user.sub, "email": user.email, "username": user.username, "name": user.name,
            "organisation": user.organisation, "status": people.status(user, now)["status"]}


@users.command("find")
@click.argument("query")
@click.option("--status", type=click.Choice(people.STATUSES), help="Only people in this status.")
@click.option("--limit", default=people.MAX_FOUND, show_default=True, type=click.IntRange(1, 500))
@click.option("--json", "as_json", is_flag=True)
@domain_command
def users_find(query, status, limit, as_json):
    """Find people by part of their name, e-mail, username or organisation (case-insensitive)."""
    now = clock.now()
    found = people.find(query, status=status, now=now, limit=limit)
    emit([_plain(_found_row(u, now)) for u in found], as_json)
    if not as_json and len(found) == limit:
        click.echo(f"(the first {limit}; say more to narrow it down)", err=True)


def _show_text(shown: dict) -> None:
    for key, value in shown.items():
        if isinstance(value, list) and not any(isinstance(item, dict) for item in value):
            click.echo(f"{key}: {', '.join(map(str, value)) or 'none'}")
        elif isinstance(value, list):
            click.echo(f"{key}: {len(value) or 'none'}")
            for item in value:
                click.echo("  " + "  ".join(_text_fields(item)) if isinstance(item, dict) else f"  {item}")
        elif value not in (None, ""):
            click.echo(f"{key}: {_text(value)}")


@users.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True)
@domain_command
def users_show(ref, as_json):
    """Everything about a person by sub, e-mail or username: status, factors (never secrets), trusted devices,
    sessions, portals used, last sign-in, delegations and recent audit events."""
    shown = _plain(people.describe(get_by_ref(ref), clock.now()))
    if as_json:
        emit(shown, True)
    else:
        _show_text(shown)


@users.command("edit")
@click.argument("ref")
@click.option("--name", help="The full name (\"\" clears it).")
@click.option("--email", help="A new address: recorded unverified until the person confirms it.")
@click.option("--username", help="A new username (\"\" removes it).")
@click.option("--roles", help="Comma-separated roles replacing the present ones (\"\" removes all).")
@click.option("--birth-date", help="YYYY-MM-DD.")
@click.option("--locale", type=click.Choice(["nl", "en"]))
@as_option
@click.option("--json", "as_json", is_flag=True)
@domain_command
def users_edit(ref, name, email, username, roles, birth_date, locale, as_admin, as_json):
    """Change a person's name, e-mail, username, roles, date of birth or language. The phone number only its
    owner changes."""
    admin = acting_admin(as_admin)
    user = get_by_ref(ref)
    changes = people.Changes(name=name, email=email, username=username,
                             roles=None if roles is None else roles.split(","),
                             birth_date=_birth_date(birth_date) if birth_date else None, locale=locale)
    changed = people.edit(user, changes, admin=admin, now=clock.now())
    db.session.commit()
    emit({"sub": user.sub, "changed": changed if as_json else ",".join(changed) or "nothing",
          "email_verified": user.email_verified}, as_json)
    if not as_json and "email" in changed:
        click.echo(f"the new address {user.email} is unverified until the person confirms it", err=True)


@users.command("enable")
@click.argument("ref")
@as_option
@click.option("--json", "as_json", is_flag=True)
@domain_command
def users_enable(ref, as_admin, as_json):
    """Let a disabled person sign in again."""
    admin = acting_admin(as_admin)
    user = get_by_ref(ref)
    changed = people.enable(user, admin=admin, now=clock.now())
    db.session.commit()
    if as_json:
        emit({"sub": user.sub, "enabled": changed}, True)
    else:
        click.echo(f"enabled {user.email}" if changed else f"{user.email} was not disabled; nothing changed")


@users.command("reset-factors")
@click.argument("ref")
@as_option
@click.option("--json", "as_json", is_flag=True)
@domain_command
def users_reset_factors(ref, as_admin, as_json):
    """Remove a person's second factors, recovery codes and trusted devices (a lost phone): they set up a
    factor again at their next sign-in. They are told by e-mail."""
    admin = acting_admin(as_admin)
    user = get_by_ref(ref)
    removed = people.reset_factors(user, admin=admin, now=clock.now())
    db.session.commit()
    if not as_json:
        removed["factors"] = ",".join(removed["factors"]) or "none"
    emit({"sub": user.sub, **removed}, as_json)


@users.command("sessions")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True)
@domain_command
def users_sessions(ref, as_json):
    """A person's live sign-in sessions: sid, started, last seen, device and the portals in it."""
    user = get_by_ref(ref)
    emit([_plain(people.session_row(s)) for s in people.live_sessions(user, clock.now())], as_json)


@users.command("revoke")
@click.argument("ref")
@click.option("--session", "sid", metavar="SID", help="Only this session (see `idp users sessions`).")
@as_option
@click.option("--json", "as_json", is_flag=True)
@domain_command
def users_revoke(ref, sid, as_admin, as_json):
    """Sign a person out everywhere (or of one session): the portals are told on their back channel and the
    tokens are revoked."""
    admin = acting_admin(as_admin)
    user = get_by_ref(ref)
    ended, revoked, deliveries = people.sign_out(user, admin=admin, now=clock.now(), sid=sid)
    db.session.commit()  # the portals are told before this returns (the CLI delivers inline)
    emit({"sub": user.sub, "sessions_ended": ended, "tokens_revoked": revoked,
          "portal_logouts_left": _left(deliveries)}, as_json)


@users.command("revoke-everyone")
@click.option("--yes", is_flag=True, help="Required: every person signs in again.")
@as_option
@click.option("--json", "as_json", is_flag=True)
@domain_command
def users_revoke_everyone(yes, as_admin, as_json):
    """Sign every person out everywhere (after an incident): every live session ends, the portals are told on
    their back channel, and every person's tokens are revoked; clients' own tokens stay."""
    if not yes:
        fail("every person will have to sign in again: add --yes")
    admin = acting_admin(as_admin)
    ended, revoked, deliveries = people.sign_out_everyone(admin=admin)
    db.session.commit()  # the portals are told before this returns (the CLI delivers inline)
    emit({"sessions_ended": ended, "tokens_revoked": revoked, "portal_logouts_left": _left(deliveries)}, as_json)


@users.command("erase")
@click.argument("ref")
@click.option("--yes", is_flag=True, help="Required: erasing cannot be undone.")
@as_option
@click.option("--json", "as_json", is_flag=True)
@domain_command
def users_erase(ref, yes, as_admin, as_json):
    """Erase a person (AVG): personal data removed from every table, delegations ended, sessions and tokens
    ended; the audit trail keeps only the pseudonym (the sub). Cannot be undone."""
    if not yes:
        fail("erasing cannot be undone: add --yes")
    admin = acting_admin(as_admin)
    user = get_by_ref(ref)
    deliveries = erasure.erase(user, admin=admin, now=clock.now())
    db.session.commit()
    emit({"sub": user.sub, "erased": True, "portal_logouts_left": _left(deliveries)}, as_json)


# --- clients ------------------------------------------------------------------------------

clients = AppGroup("clients", help="Register portals (OIDC clients).")


def _profile_assignments(values: tuple[str, ...]) -> dict[str, str | None]:
    """`--profile field=value` (repeat); `field=` sets the field back to the deployment's default."""
    assignments: dict[str, str | None] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected field=value, got {item!r}", param_hint="--profile")
        assignments[name.strip()] = value.strip() or None
    return assignments


def mfa_options(defaults: bool):
    """The second-factor and account-rule flags shared by `clients add` (with defaults) and `clients update`."""
    def decorate(func):
        func = click.option("--profile", "profile", multiple=True, metavar="FIELD=VALUE",
                            help="A field of the portal's sign-in profile (repeat; FIELD= for the default), "
                                 "e.g. form_of_address=je for the informal Dutch form of address (default u); "
                                 "`idp clients show` lists the fields and where each value comes from.")(func)
        func = click.option("--registration/--no-registration", default=False if defaults else None,
                            help="People may create their own account from this portal's sign-in page.")(func)
        func = click.option("--email-domain", "email_domains", multiple=True,
                            help="Only accounts at this e-mail domain may sign in here (repeat; "
                                 "`--email-domain ''` on update clears).")(func)
        func = click.option("--help-contact", help="Where a locked-out person asks for help (shown on the page).")(func)
        func = click.option("--password-policy",
                            help="A [password_policies.<name>] (default: passwords.default_policy).")(func)
        func = click.option("--trusted-device-days", type=click.IntRange(0, 365), default=7 if defaults else None,
                            show_default=defaults,
                            help="Days a trusted browser may skip the second factor here (0: never).")(func)
        func = click.option("--mfa-factor", "mfa_factors", multiple=True, type=click.Choice(["sms", "email", "totp"]),
                            help="A second factor this portal accepts (repeat; default: all).")(func)
        return click.option("--mfa", type=click.Choice(["every", "required", "optional", "off"]),
                            default="optional" if defaults else None, show_default=defaults,
                            help="Second factor: every (a code at every sign-in here, SSO or not), required, "
                                 "optional (asked of users who have one), or off.")(func)
    return decorate


ACCESS_TOKEN_FORMAT_HELP = ("opaque: a random string, revoked at once; jwt: an RFC 9068 JWT that resource servers "
                            "check against /jwks.json, not revocable before it expires "
                            "(tokens.jwt_access_token_seconds).")


@clients.command("add")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True)
@click.option("--post-logout-redirect-uri", "post_logout", multiple=True)
@click.option("--backchannel-logout-uri")
@click.option("--first-party", is_flag=True, help="Our own portal: no consent screen.")
@click.option("--public", is_flag=True, help="No secret (native/SPA).")
@click.option("--without-pkce", is_flag=True,
              help="A legacy confidential portal that cannot send PKCE: exempt it (weaker; every other "
                   "portal must send a S256 code_challenge).")
@click.option("--service", is_flag=True, help="A machine client using client_credentials.")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(["scim"]),
              help="With --service: a scope it may ask (repeat); scim: provisioning at /scim/v2.")
@click.option("--organisation", "organisation_ref", metavar="CODE",
              help="With --scope scim: the client manages only this organisation's members (default: everyone).")
@click.option("--id-token-alg", type=click.Choice(["RS256", "ES256"]), help="Default: setting keys.algorithm.")
@click.option("--access-token-format", type=click.Choice(["opaque", "jwt"]), default="opaque", show_default=True,
              help=ACCESS_TOKEN_FORMAT_HELP)
@click.option("--client-id", help="Choose the client_id (default: random).")
@mfa_options(defaults=True)
@click.option("--json", "as_json", is_flag=True)
@domain_command
def clients_add(name, redirect_uris, post_logout, backchannel_logout_uri, first_party, public, without_pkce,
                service, scopes, organisation_ref, id_token_alg, access_token_format, client_id, mfa,
                mfa_factors, trusted_device_days, password_policy, help_contact, email_domains, registration, profile,
                as_json):
    """Register a portal; prints client_id and (once) client_secret."""
    declared.guard_new(client_id)
    registered = register(name, list(redirect_uris), post_logout_redirect_uris=list(post_logout),
                          backchannel_logout_uri=backchannel_logout_uri, first_party=first_party,
                          public=public, service=service, client_id=client_id,
                          id_token_alg=id_token_alg, access_token_format=access_token_format,
                          mfa=mfa, mfa_factors=list(mfa_factors) or None, trusted_device_days=trusted_device_days,
                          password_policy=password_policy, help_contact=help_contact,
                          email_domains=list(email_domains) or None, registration=registration,
                          pkce_required=not without_pkce, profile=_profile_assignments(profile),
                          scopes=list(scopes),
                          organisation=organisations.get(organisation_ref) if organisation_ref else None)
    db.session.commit()
    data = describe(registered.client)
    if registered.secret:
        data["client_secret"] = registered.secret
    emit(data, as_json)


@clients.command("update")
@click.argument("client_id")
@click.option("--name")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Replaces the registered list (repeat).")
@click.option("--post-logout-redirect-uri", "post_logout", multiple=True,
              help="Replaces the registered list (repeat); `--post-logout-redirect-uri ''` clears it.")
@click.option("--backchannel-logout-uri", help="`--backchannel-logout-uri ''` removes it.")
@click.option("--pkce/--without-pkce", "pkce", default=None,
              help="Require PKCE (the default), or exempt a legacy confidential portal on purpose.")
@click.option("--access-token-format", type=click.Choice(["opaque", "jwt"]), help=ACCESS_TOKEN_FORMAT_HELP)
@mfa_options(defaults=False)
@click.option("--json", "as_json", is_flag=True)
@domain_command
def clients_update(client_id, name, redirect_uris, post_logout, backchannel_logout_uri, pkce, access_token_format,
                   mfa, mfa_factors, trusted_device_days, password_policy, help_contact, email_domains, registration,
                   profile, as_json):
    """Change a portal's name, addresses, access token format, second-factor policy, account rules or profile; what
    is not given stays."""
    client = get(client_id)
    declared.guard(client)
    update(client, name=name, mfa=mfa, factors=list(mfa_factors) or None, trusted_device_days=trusted_device_days,
           password_policy=password_policy, help_contact=help_contact,
           email_domains=list(email_domains) if email_domains else None, registration=registration,
           pkce_required=pkce, access_token_format=access_token_format, profile=_profile_assignments(profile),
           redirect_uris=list(redirect_uris) if redirect_uris else None,
           post_logout_redirect_uris=[u for u in post_logout if u] if post_logout else None,
           backchannel_logout_uri=backchannel_logout_uri)
    db.session.commit()
    emit(describe(client), as_json)


@clients.command("list")
@click.option("--json", "as_json", is_flag=True)
@domain_command
def clients_list(as_json):
    """List the registered portals."""
    emit([describe(c) for c in db.session.scalars(select(Client).order_by(Client.id))], as_json)


@clients.command("show")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
@domain_command
def clients_show(client_id, as_json):
    """Show one portal's registration (never its secret), its profile and where each value comes from, and the
    config file that declares it (declared_in)."""
    emit(describe(get(client_id)), as_json)


@clients.command("remove")
@click.argument("client_id")
@domain_command
def clients_remove(client_id):
    """Remove a portal with its tokens and consents."""
    client = get(client_id)
    declared.guard(client)
    remove(client)
    db.session.commit()
    click.echo(f"removed {client_id}")


@clients.command("rotate-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
@domain_command
def clients_rotate(client_id, as_json):
    """Give a client a new secret; the old one stops working at once."""
    client = get(client_id)
    declared.guard(client)
    secret = rotate_secret(client)
    db.session.commit()
    emit({"client_id": client_id, "client_secret": secret}, as_json)


@clients.command("disable")
@click.argument("client_id")
@as_option
@domain_command
def clients_disable(client_id, as_admin):
    """Stop a portal: its sign-ins and token requests are refused and its tokens stop working; `enable` undoes it."""
    acting_admin(as_admin)
    changed = registry.disable(get(client_id), clock.now())
    db.session.commit()
    click.echo(f"disabled {client_id}" if changed else f"{client_id} was disabled already")


@clients.command("enable")
@click.argument("client_id")
@as_option
@domain_command
def clients_enable(client_id, as_admin):
    """Let a disabled portal work again."""
    acting_admin(as_admin)
    changed = registry.enable(get(client_id))
    db.session.commit()
    click.echo(f"enabled {client_id}" if changed else f"{client_id} was not disabled")


SYNC_ATTEMPTS = 3


def sync_declared_portals() -> list[declared.Change]:
    """Make the database match the config file's [[portals]], committed. Two processes that start at once (two
    servers on a new database) may both register a portal: the one that loses the race rolls back and tries again,
    finding it registered."""
    for attempt in range(1, SYNC_ATTEMPTS + 1):
        try:
            changes = declared.sync()
            db.session.commit()
            return changes
        # The unique client_id (at the flush, or seen by register once the other process committed), or SQLite's
        # one writer at a time.
        except (IntegrityError, OperationalError, ClientIdTaken):
            db.session.rollback()
            if attempt == SYNC_ATTEMPTS:
                raise
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


_DONE = {declared.ADD: "added", declared.UPDATE: "updated", declared.UNCHANGED: "unchanged"}
_WOULD = {declared.ADD: "would be added", declared.UPDATE: "would be updated", declared.UNCHANGED: "unchanged"}


def report_sync(changes: list[declared.Change], dry_run: bool, as_json: bool = False, quiet: bool = False) -> None:
    """One line per portal (`quiet`: none for an unchanged one, nothing when the file declares none)."""
    config = settings().config_path
    if as_json:
        emit({"config": config or None, "dry_run": dry_run, "portals": [c.as_dict() for c in changes]}, True)
        return
    if not changes and not quiet:
        click.echo(f"no portals declared in {config}" if config else "no portals declared (no config file: IDP_CONFIG)")
    for change in changes:
        if quiet and change.action == declared.UNCHANGED:
            continue
        if change.action == declared.UNDECLARED:
            click.echo(f"portal {change.client_id}: {change.note}")
            continue
        words = (_WOULD if dry_run else _DONE)[change.action]
        line = f"portal {change.client_id}: {words}" + (f" ({', '.join(change.fields)})" if change.fields else "")
        click.echo(line + (f"; refused: {change.note}" if change.note else ""))


@clients.command("sync")
@click.option("--dry-run", is_flag=True, help="Only say what would change; change nothing.")
@click.option("--json", "as_json", is_flag=True)
@domain_command
def clients_sync(dry_run, as_json):
    """Make the registered portals match the [[portals]] of the config file: add the missing ones (secret from
    their secret_file), update what differs; a portal taken out of the file is reported, not removed. `idp init`
    and `idp serve` run it too."""
    report_sync(declared.check() if dry_run else sync_declared_portals(), dry_run, as_json)


# --- keys ---------------------------------------------------------------------------------

keys = AppGroup("keys", help="Signing keys and encryption keys.")


@keys.command("rotate")
@click.option("--alg", type=click.Choice(["RS256", "ES256"]), multiple=True, help="Default: both.")
@domain_command
def keys_rotate(alg):
    """A new key is published now and signs after keys.publish_seconds; the old one signs until then and stays
    published while its tokens can be presented."""
    cfg = settings()
    valid_for = published_for(cfg.tokens.id_token_seconds, cfg.session.absolute_hours)
    new = rotate(crypto(), valid_for, tuple(alg) or ALGORITHMS, cfg.keys.rsa_bits,
                 publish_for=timedelta(seconds=cfg.keys.publish_seconds))
    db.session.commit()
    keyring().reload()
    for key in new:
        click.echo(f"{key.alg}: {key.kid} is published now and signs from {key.signs_from.isoformat()}")


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
@domain_command
def keys_list(as_json):
    """List signing keys: pending (published, not yet signing), signing, still published, or expired."""
    rows = db.session.scalars(select(SigningKey).order_by(SigningKey.created_at)).all()
    now = clock.now()
    emit([{"kid": k.kid, "alg": k.alg, "created_at": k.created_at.isoformat(), "state": key_state(k, now),
           "signs_from": (k.signs_from or k.created_at).isoformat(),
           "retired_at": k.retired_at.isoformat() if k.retired_at else None,
           "publish_until": k.publish_until.isoformat() if k.publish_until else None} for k in rows], as_json)


@keys.command("rotate-encryption")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Rows re-encrypted per transaction.")
@click.option("--json", "as_json", is_flag=True)
@domain_command
def keys_rotate_encryption(batch_size, as_json):
    """Re-encrypt every stored encrypted value under the newest of server.encryption_keys (the first). Safe to
    run again; afterwards the older keys can leave the configuration."""
    rekeying.check_hash_key(crypto())
    db.session.commit()
    done = rekeying.report(rekeying.rotate_encryption(crypto(), batch_size), crypto())
    cfg = settings().server
    done["hash_key"] = "server.hash_key" if cfg.hash_key else f"oldest encryption key {crypto().key_ids[-1]}"
    if as_json:
        emit(done, True)
        return
    for column in done["columns"]:
        click.echo(f"{column['column']}: {column['reencrypted']} re-encrypted, {column['current']} already current")
    click.echo(f"{done['reencrypted']} value(s) re-encrypted under key {done['key_id']}")
    if not cfg.hash_key:
        click.echo(f"note: stored hashes are keyed by the oldest encryption key ({crypto().key_ids[-1]}); before "
                   "taking it out of server.encryption_keys, set server.hash_key to it")


# --- messages -----------------------------------------------------------------------------

messages = AppGroup("messages", help="The delivery queue: e-mail, SMS and back-channel logouts.")


@messages.command("dead")
@click.option("--json", "as_json", is_flag=True)
@domain_command
def messages_dead(as_json):
    """Deliveries given up on after the last attempt (never their text; a back-channel logout names its portal)."""
    emit([{"id": m.id, "channel": m.channel, "template": m.template,
           "portal": m.client.client_id if m.client else None, "attempts": m.attempts,
           "created_at": m.created_at.isoformat(), "last_error": m.last_error} for m in dead_letters()], as_json)


@messages.command("retry")
@click.argument("message_id", type=int)
@domain_command
def messages_retry(message_id):
    """Queue a dead delivery again (after fixing the transport or the portal); `idp worker` sends it."""
    retry_dead(message_id)
    db.session.commit()
    click.echo(f"message {message_id} queued again")


# --- delegations ---------------------------------------------------------------------------

delegations = AppGroup("delegations", help="Who may act for whom (machtigingen), and the age rules.")


def _delegation_row(item: Delegation) -> dict:
    now = clock.now()
    ends = delegation.ends_at(item)
    refused_now = delegation.refusal(item, now)
    return {
        "id": item.id, "delegate": item.delegate.sub, "delegate_name": item.delegate.name,
        "principal": item.principal.sub, "principal_name": item.principal.name,
        "principal_born": item.principal.date_of_birth.isoformat() if item.principal.date_of_birth else None,
        "principal_no_login": item.principal.no_login,
        "basis": item.basis, "granted_how": item.granted_how,
        "granted_by": item.granted_by_admin or (item.granted_by_user_id and f"user {item.granted_by_user_id}"),
        "evidence": item.evidence, "portals": list(item.portals) or "all offering delegation",
        "scopes": list(item.scopes) or "all the portal asks",
        "valid_from": item.valid_from.isoformat(), "valid_until": item.valid_until.isoformat()
        if item.valid_until else None, "ends_at": ends.isoformat() if ends else None,
        "status": item.status, "usable_now": refused_now is None, "not_usable_because": refused_now,
        "child_consent_at": item.child_consent_at.isoformat() if item.child_consent_at else None,
        "child_consent_how": item.child_consent_how,
        "child_consent_recorded_by": item.child_consent_recorded_by,
        "revoked_at": item.revoked_at.isoformat() if item.revoked_at else None,
        "revoked_by": item.revoked_by_admin or (item.revoked_by_user_id and f"user {item.revoked_by_user_id}"),
        "reason": item.reason, "created_at": item.created_at.isoformat(),
        "invitation_until": invitations.expires_at(item).isoformat()
        if item.basis == "invitation" and item.status == "pending" else None,
    }


@delegations.command("add")
@click.option("--delegate", required=True, metavar="REF", help="Who will act: sub, e-mail or username.")
@click.option("--principal", required=True, metavar="REF", help="For whom: sub, e-mail or username.")
@click.option("--basis", type=click.Choice(["parental", "written_consent"]), default="parental", show_default=True,
              help="parental: a parent or guardian of a child under 16 (from 12 it waits for the child's consent); "
                   "written_consent: the written consent of a person of 16 or older.")
@click.option("--evidence", required=True,
              help="parental: how the parent's identity and parenthood were checked; written_consent: which "
                   "signed consent.")
@click.option("--portal", "portals", multiple=True, metavar="CLIENT_ID",
              help="A portal where it may be used (repeat; default: every portal that offers delegation).")
@click.option("--scope", "scopes", multiple=True,
              help="A scope it may use (repeat; default: whatever the portal asks).")
@click.option("--until", help="YYYY-MM-DD: the last day it may be used (default: no end of its own).")
@click.option("--reason")
@as_option
@click.option("--json", "as_json", is_flag=True)
@domain_command
def delegations_add(delegate, principal, basis, evidence, portals, scopes, until, reason, as_admin, as_json):
    """Let one person act for another, on an admin's word."""
    now = clock.now()
    rules = delegation.AgeRules.from_settings()
    valid_until = rules.start_of(_birth_date(until, "--until") + timedelta(days=1)) if until else None
    grant = delegation.grant_parental if basis == "parental" else delegation.grant_written_consent
    item = grant(acting_admin(as_admin), get_by_ref(delegate), get_by_ref(principal), portals, scopes, evidence, now,
                 valid_until=valid_until, reason=reason)
    db.session.commit()
    emit(_delegation_row(item), as_json)


@delegations.command("invite")
@click.option("--principal", required=True, metavar="REF", help="The client who invites: sub, e-mail or username.")
@click.option("--email", required=True, help="The address of the family member or contact person.")
@click.option("--name", required=True, help="Their name, as the client knows them.")
@click.option("--relation", type=click.Choice(list(invitations.RELATIONS)), default=invitations.FAMILY,
              show_default=True)
@click.option("--portal", "portals", multiple=True, metavar="CLIENT_ID",
              help="A portal where it may be used (repeat; the first one's profile applies to a new account's "
                   "activation; default: every portal that offers delegation).")
@click.option("--scope", "scopes", multiple=True, help="A scope it may use (repeat; default: whatever the portal "
                                                       "asks).")
@as_option
@click.option("--json", "as_json", is_flag=True)
@domain_command
def delegations_invite(principal, email, name, relation, portals, scopes, as_admin, as_json):
    """Invite a family member or contact person for a client, on the client's word (the EVV'er). The person
    activates an account of their own (or accepts on the account pages) within delegation.invitation_days."""
    item = invitations.invite(get_by_ref(principal), email, name, portals, scopes, relation, clock.now(),
                              admin=acting_admin(as_admin))
    if item is None:
        fail(f"{email} cannot be invited: the account is disabled, has no login, or is the client's own")
    db.session.commit()
    emit(_delegation_row(item), as_json)


@delegations.command("list")
@click.option("--person", metavar="REF", help="Only those in which this person acts or is acted for.")
@click.option("--json", "as_json", is_flag=True)
@domain_command
def delegations_list(person, as_json):
    """List delegations, newest first, with whether each can be used now."""
    items = delegation.of_person(get_by_ref(person)) if person else \
        list(db.session.scalars(select(Delegation).order_by(Delegation.id.desc())))
    emit([_delegation_row(item) for item in items], as_json)


@delegations.command("show")
@click.argument("delegation_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@domain_command
def delegations_show(delegation_id, as_json):
    """Show one delegation: who, where, on what ground, until when, and whether it can be used now."""
    emit(_delegation_row(delegation.get(delegation_id)), as_json)


@delegations.command("consent")
@click.argument("delegation_id", type=int)
@click.option("--form", required=True, help="The signed consent form of the child (12 to 16): which one.")
@as_option
@click.option("--json", "as_json", is_flag=True)
@domain_command
def delegations_consent(delegation_id, form, as_admin, as_json):
    """Record a child's consent to their parent's access, from a form the child signed."""
    item = delegation.record_child_consent(delegation.get(delegation_id), clock.now(), admin=acting_admin(as_admin),
                                           form=form)
    db.session.commit()
    emit(_delegation_row(item), as_json)


@delegations.command("revoke")
@click.argument("delegation_id", type=int)
@click.option("--reason")
@as_option
@click.option("--json", "as_json", is_flag=True)
@domain_command
def delegations_revoke(delegation_id, reason, as_admin, as_json):
    """End a delegation now."""
    item = delegation.revoke(delegation.get(delegation_id), acting_admin(as_admin), reason, clock.now())
    db.session.commit()
    emit(_delegation_row(item), as_json)


@delegations.command("expire")
@click.option("--json", "as_json", is_flag=True)
@domain_command
def delegations_expire(as_json):
    """Daily: mark delegations that ended as expired and tell both people before and after (each once).
    Access never depends on it: the end is checked at every use."""
    counts = delegation.expire(clock.now())
    db.session.commit()
    emit(counts, as_json)


# --- orgs and admins (issue 16 part 1) ------------------------------------------------------

orgs = AppGroup("orgs", help="Organisations: care providers, business customers, suppliers; their members.")
KIND = click.Choice(["care_provider", "business_customer", "supplier", "other"])


@orgs.command("add")
@click.option("--name", required=True)
@click.option("--code", help="Short and unique, e.g. avondrood (default: made from the name); portals get it "
                             "as org.id.")
@click.option("--kind", type=KIND, required=True)
@click.option("--email-domain", "email_domains", multiple=True,
              help="A domain members' e-mail addresses must have (repeat; none: any address).")
@as_option
@click.option("--json", "as_json", is_flag=True)
@domain_command
def orgs_add(name, code, kind, email_domains, as_admin, as_json):
    """Add an organisation."""
    org = organisations.create(admins.operator(acting_admin(as_admin)), name, kind, clock.now(), code=code,
                               email_domains=email_domains)
    db.session.commit()
    emit(organisations.describe(org), as_json)


@orgs.command("list")
@click.option("--json", "as_json", is_flag=True)
@domain_command
def orgs_list(as_json):
    """List the organisations."""
    emit([organisations.describe(o) for o in organisations.all_organisations()], as_json)


@orgs.command("show")
@click.argument("org")
@click.option("--json", "as_json", is_flag=True)
@domain_command
def orgs_show(org, as_json):
    """Show an organisation (by code, id or name) and its admins."""
    found = organisations.get(org)
    emit({**organisations.describe(found),
          "admins": [p.email for p, _held in admins.all_roles(found)]}, as_json)


@orgs.command("update")
@click.argument("org")
@click.option("--name")
@click.option("--code")
@click.option("--kind", type=KIND)
@click.option("--email-domain", "email_domains", multiple=True,
              help="Replaces the domains (repeat); --no-email-domains clears them.")
@click.option("--no-email-domains", is_flag=True, help="Any address may be a member.")
@as_option
@click.option("--json", "as_json", is_flag=True)
@domain_command
def orgs_update(org, name, code, kind, email_domains, no_email_domains, as_admin, as_json):
    """Change an organisation's name, code, kind or e-mail domains."""
    if email_domains and no_email_domains:
        fail("give --email-domain or --no-email-domains, not both")
    found = organisations.get(org)
    domains = [] if no_email_domains else (list(email_domains) if email_domains else None)
    organisations.update(admins.operator(acting_admin(as_admin)), found, clock.now(), name=name, code=code,
                         kind=kind, email_domains=domains)
    db.session.commit()
    emit(organisations.describe(found), as_json)


@orgs.command("remove")
@click.argument("org")
@as_option
@domain_command
def orgs_remove(org, as_admin):
    """Remove an organisation that has no members and no admins."""
    found = organisations.get(org)
    code = found.code
    organisations.remove(admins.operator(acting_admin(as_admin)), found)
    db.session.commit()
    click.echo(f"removed {code}")


@orgs.command("members")
@click.argument("org")
@click.option("--add", "added", multiple=True, metavar="PERSON", help="Make a person a member (sub, e-mail or "
              "username; repeat); a person belongs to one organisation at most.")
@click.option("--remove", "removed", multiple=True, metavar="PERSON", help="Take a member out (repeat).")
@as_option
@click.option("--json", "as_json", is_flag=True)
@domain_command
def orgs_members(org, added, removed, as_admin, as_json):
    """List an organisation's members, after adding or removing the ones given."""
    found = organisations.get(org)
    admin = admins.operator(acting_admin(as_admin)) if added or removed else None
    for ref in added:
        organisations.set_membership(admin, get_by_ref(ref), found, clock.now())
    for ref in removed:
        person = get_by_ref(ref)
        if person.organisation_id != found.id:
            fail(f"{person.email} is not a member of {found.code}")
        organisations.set_membership(admin, person, None, clock.now())
    db.session.commit()
    emit([_user_row(u) for u in organisations.members(found)], as_json)


admins_group = AppGroup("admins", help="Admin roles: deployment, helpdesk, organisation (admin of its members).")


@admins_group.command("grant")
@click.argument("person")
@click.argument("role", type=click.Choice(["deployment", "helpdesk", "organisation"]))
@click.option("--organisation", "org", metavar="CODE",
              help="For an organisation admin: the organisation (the one they are a member of).")
@as_option
@click.option("--json", "as_json", is_flag=True)
@domain_command
def admins_grant(person, role, org, as_admin, as_json):
    """Give a person an admin role (one each: it replaces the role they hold)."""
    user = get_by_ref(person)
    held = admins.grant(admins.operator(acting_admin(as_admin)), user, role, clock.now(),
                        organisation=organisations.get(org) if org else None)
    db.session.commit()
    emit(admins.describe(user, held), as_json)


@admins_group.command("revoke")
@click.argument("person")
@as_option
@domain_command
def admins_revoke(person, as_admin):
    """Take a person's admin role away."""
    user = get_by_ref(person)
    if not admins.revoke(admins.operator(acting_admin(as_admin)), user):
        fail(f"{user.email} holds no admin role")
    db.session.commit()
    click.echo(f"revoked the admin role of {user.email}")


@admins_group.command("list")
@click.option("--organisation", "org", metavar="CODE", help="Only this organisation's admins.")
@click.option("--json", "as_json", is_flag=True)
@domain_command
def admins_list(org, as_json):
    """Who holds which admin role."""
    found = organisations.get(org) if org else None
    emit([admins.describe(p, held) for p, held in admins.all_roles(found)], as_json)


DB_HELP = """Database migrations (Alembic through Flask-Migrate) of the database in IDP_DATABASE_URL.

\b
`idp init` already upgrades to the newest migration; the others are for looking and for repairs:
  idp db current          where this database stands
  idp db history          every migration, newest first
  idp db upgrade          to the newest (what `idp init` does, without keys and portals)
  idp db downgrade REV    back to REV: drops what the newer migrations added; take a backup first
`revision` and `migrate` are for developers adding a migration to migrations/."""

LIMITER_HELP = """Rate limits (Flask-Limiter) on sign-in, password reset and registration.

\b
Counted in Redis when redis.url is set, else in each server process's own memory (then these commands,
a process of their own, cannot see or clear a running server's counts).
  idp limiter limits               the routes and the limits on them
  idp limiter clear --key KEY      forget one key's counts; a key is a client network address, or
                                   account:/reset-address:/register: and the keyed hash of a typed name
  idp limiter config               the storage and settings in use
Too many wrong passwords is a lockout, not a rate limit: `idp users unlock`."""


def document_third_party_commands() -> None:
    """`idp db` (Flask-Migrate) and `idp limiter` (Flask-Limiter) come with their libraries; say here what they
    are for. On their own group objects, as `idp limiter --help` is answered before any app exists."""
    migrate_cli.help, migrate_cli.short_help = DB_HELP, "Database migrations (Alembic)."
    limiter_cli.help, limiter_cli.short_help = LIMITER_HELP, "Rate limits: list, clear a key, show the storage."


document_third_party_commands()


COMMANDS = (init_command, serve_command, demo_command, worker_command, users, clients, keys, messages,
            delegations, orgs, admins_group)


def register_commands(app) -> None:
    """The commands on the app's own group, for `flask --app idp ...`."""
    for command in COMMANDS:
        app.cli.add_command(command)


class IdpGroup(FlaskGroup):
    """The `idp` command. Its commands are its own (those of idp, `db` and `limiter`), so listing them or asking any
    of them for --help needs no settings, no database and no app: the app (and with it the settings) is made
    first when a command runs. A plain FlaskGroup asks the app for its commands, so `idp --help` failed on
    settings that were not there, and made the database."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return click.Group.get_command(self, ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return click.Group.list_commands(self, ctx)


class AppWhenRun(click.Group):
    """A library's command group whose own callback needs the app (Flask-Migrate's `db` keeps its options on
    flask.g): the callback is run when one of its commands runs, after that command's options are read, so
    `idp db upgrade --help` is answered without settings or a database."""

    def __init__(self, group: click.Group) -> None:
        super().__init__(group.name, commands=group.commands, params=group.params, help=group.help,
                         short_help=group.short_help)
        self.first = group.callback

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name, command, rest = super().resolve_command(ctx, args)
        if command is None or self.first is None:
            return name, command, rest
        first, original = self.first, command
        later = copy.copy(command)

        def invoke(sub_ctx: click.Context):
            ctx.invoke(first, **ctx.params)  # the group's callback in the group's context, as click would
            return original.invoke(sub_ctx)

        later.invoke = invoke  # type: ignore[method-assign]
        return name, later, rest


def cli_group() -> IdpGroup:
    """The `idp` command as main() runs it; the settings are read (IDP_CONFIG, IDP_*) when a command needs the app."""
    group = IdpGroup(create_app=lambda: create_app(load()), add_default_commands=False,
                     add_version_option=False, load_dotenv=False, set_debug_flag=False,
                     help="idp: OpenID Connect provider for healthcare portals.")
    # `idp` is bound to this one app: Flask's --app, --env-file and --debug would only mislead here.
    group.params = [p for p in group.params if p.name not in {"app", "env_file", "debug"}]
    for command in COMMANDS:
        group.add_command(command)
    group.add_command(AppWhenRun(migrate_cli), "db")
    group.add_command(limiter_cli, "limiter")
    return group


def main() -> None:
    """Entry point of the `idp` console script."""
    if len(sys.argv) > 1 and sys.argv[1] == "demo":
        os.environ.setdefault("IDP_SERVER_DEV_MODE", "true")
    cli_group()(prog_name="idp")
