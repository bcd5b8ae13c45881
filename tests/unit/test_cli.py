"""The `idp` command as an operator uses it: each test runs the real console script in a subprocess.

Bad input must end in one line on stderr, exit code 2, and nothing written to the database.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
import requests
from sqlalchemy import create_engine, select, text

from idp import create_app
from idp.cli import cli_group
from idp.settings import load
from tests.conftest import ISSUER, TEST_ENCRYPTION_KEY, TEST_SECRET_KEY
from tests.helpers import csrf_token, free_port, pkce_pair, query

BIN = Path(sys.executable).parent
PASSWORD = "correct horse battery"
PRODUCTION_SECRETS = {
    "IDP_SERVER_SECRET_KEY": "production-secret-key-0123456789-abcdefghijklmn",
    "IDP_SERVER_ENCRYPTION_KEY": "production-encryption-key-0123456789-abcdefghij",
    "IDP_MESSAGING_EMAIL_TRANSPORT": "smtp",  # outside dev mode the transports must be named
    "IDP_MESSAGING_SMS_TRANSPORT": "console",
}


def clean_environ() -> dict[str, str]:
    """The test process's environment without any IDP_* setting, so each test says exactly what it sets."""
    return {k: v for k, v in os.environ.items() if not k.startswith("IDP_") and not k.startswith("FLASK_")}


def run(env: dict[str, str], *args: str, program: str = "idp", stdin: str | None = None):
    return subprocess.run([str(BIN / program), *args], env={**clean_environ(), **env}, input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)


def ok(env: dict[str, str], *args: str, **kw) -> str:
    result = run(env, *args, **kw)
    assert result.returncode == 0, result.stderr
    return result.stdout


def ok_json(env: dict[str, str], *args: str, **kw):
    return json.loads(ok(env, *args, "--json", **kw))


def refused(env: dict[str, str], *args: str, **kw) -> str:
    """Run a command that must be refused; returns its one line of stderr."""
    result = run(env, *args, **kw)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("user_account", "client", "audit_event", "token", "signing_key")}
    engine.dispose()
    return counts


def dev_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {
        "IDP_SERVER_DEV_MODE": "true",
        "IDP_DATABASE_URL": database_url,
        "IDP_SERVER_INSTANCE_PATH": str(tmp_path),
        "IDP_PASSWORDS_BCRYPT_ROUNDS": "4",
        # Fixed secrets, so a database prepared once can be copied for each test and its keys still decrypt.
        "IDP_SERVER_SECRET_KEY": TEST_SECRET_KEY,
        "IDP_SERVER_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
    }


@pytest.fixture
def fresh(tmp_path) -> dict[str, str]:
    """Settings for a new, empty SQLite database (nothing run yet)."""
    return dev_env(tmp_path, f"sqlite:///{tmp_path}/idp.sqlite")


@pytest.fixture(scope="session")
def initialised(tmp_path_factory) -> Path:
    """A SQLite database prepared by `idp init` once per run (schema and signing keys)."""
    folder = tmp_path_factory.mktemp("initialised")
    ok(dev_env(folder, f"sqlite:///{folder}/idp.sqlite"), "init")
    return folder / "idp.sqlite"


@pytest.fixture
def env(fresh, initialised) -> dict[str, str]:
    """Settings for a copy of a database `idp init` has prepared."""
    shutil.copy(initialised, fresh["IDP_DATABASE_URL"].removeprefix("sqlite:///"))
    return fresh


def token_with_secret(env: dict[str, str], client_id: str, secret: str):
    """Ask the provider (same database and secrets as the CLI) for a client_credentials token."""
    app = create_app(load(environ=env))
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = app.test_client().post("/token", data={"grant_type": "client_credentials"},
                                      headers={"Authorization": f"Basic {basic}"})
    with app.app_context():
        from idp.extensions import db

        db.engine.dispose()
    return response


# --- the whole story, on SQLite and on PostgreSQL ------------------------------------------------

def test_operator_sets_up_users_and_a_portal(tmp_path, database_url):
    env = dev_env(tmp_path, database_url)
    assert "2 signing key(s) created" in ok(env, "init")
    assert "0 signing key(s) created" in ok(env, "init")  # running it again changes nothing

    added = ok_json(env, "users", "add", "--email", "Anna@Example.ORG", "--password", PASSWORD,
                    "--phone", "+31 6 1234 5678", "--name", "Anna de Vries")
    assert set(added) == {"sub", "email"} and len(added["sub"]) >= 16
    assert added["email"] == "Anna@example.org"
    shown = ok_json(env, "users", "show", "anna@example.org")
    assert shown["sub"] == added["sub"] and shown["phone"] == "+31612345678" and shown["disabled"] is False

    before = row_counts(database_url)
    line = refused(env, "users", "add", "--email", "anna@example.org", "--password", PASSWORD)
    assert line == "error: a user with e-mail anna@example.org already exists"
    assert row_counts(database_url) == before

    portal = ok_json(env, "clients", "add", "--name", "Huisartsportaal",
                     "--redirect-uri", "http://127.0.0.1:9001/callback",
                     "--post-logout-redirect-uri", "http://127.0.0.1:9001/logged-out",
                     "--backchannel-logout-uri", "http://127.0.0.1:9001/backchannel", "--first-party")
    assert portal["client_secret"] and portal["first_party"] is True
    assert portal["redirect_uris"] == ["http://127.0.0.1:9001/callback"]
    assert portal["post_logout_redirect_uris"] == ["http://127.0.0.1:9001/logged-out"]
    assert portal["backchannel_logout_uri"] == "http://127.0.0.1:9001/backchannel"
    listed = ok_json(env, "clients", "list")
    assert [c["client_id"] for c in listed] == [portal["client_id"]]
    assert "client_secret" not in listed[0]
    assert row_counts(database_url)["client"] == 1


# --- users ---------------------------------------------------------------------------------------

def test_users_list_show_and_disable(env):
    anna = ok_json(env, "users", "add", "--email", "anna@example.org", "--password", PASSWORD)
    ok_json(env, "users", "add", "--email", "bert@example.org", "--password", PASSWORD, "--username", "bert")
    assert [u["email"] for u in ok_json(env, "users", "list")] == ["anna@example.org", "bert@example.org"]
    assert ok_json(env, "users", "show", anna["sub"])["email"] == "anna@example.org"
    assert ok_json(env, "users", "show", "bert")["username"] == "bert"

    assert ok(env, "users", "disable", "anna@example.org").strip() == "disabled anna@example.org"
    assert ok_json(env, "users", "show", "anna@example.org")["disabled"] is True
    assert ok_json(env, "users", "show", "bert")["disabled"] is False


def test_users_add_reads_the_password_from_stdin(env):
    user = ok_json(env, "users", "add", "--email", "anna@example.org", "--password", "-",
                   stdin="a password from a pipe\n")
    app = create_app(load(environ=env))
    with app.app_context():
        from idp.accounts.users import find_by_login
        from idp.extensions import db
        from idp.security.passwords import verify_password

        stored = find_by_login("anna@example.org")
        assert stored.sub == user["sub"]
        assert verify_password("a password from a pipe", stored.password_hash, 4)
        db.engine.dispose()


@pytest.mark.parametrize(("args", "message"), [
    (["--email", "not-an-address"], "error: not a valid e-mail address: 'not-an-address'"),
    (["--email", "anna@example.org", "--phone", "020 123 4567"], "error: not a mobile phone number: '020 123 4567'"),
    (["--email", "anna@example.org", "--role", "Not A Role"],
     "error: a role is 1-40 lowercase letters, digits, '-' or '_', starting with a letter"),
    (["--email", "anna@example.org", "--username", "a b"],
     "error: not a valid username: 'a b' (letters, digits, . _ -)"),
])
def test_users_add_refuses_bad_input_and_writes_nothing(env, args, message):
    before = row_counts(env["IDP_DATABASE_URL"])
    assert refused(env, "users", "add", "--password", PASSWORD, *args) == message
    assert row_counts(env["IDP_DATABASE_URL"]) == before


def test_users_add_takes_roles_and_a_dutch_phone_notation(env):
    ok(env, "users", "add", "--email", "pro@example.org", "--password", PASSWORD, "--role", "professional",
       "--role", "admin", "--phone", "06-12345678")
    shown = ok_json(env, "users", "show", "pro@example.org")
    assert shown["roles"] == ["admin", "professional"] and shown["phone"] == "+31612345678"


def test_clients_add_and_update_set_the_second_factor_policy(env):
    portal = ok_json(env, "clients", "add", "--name", "Zakelijk", "--redirect-uri", "http://127.0.0.1:9004/cb",
                     "--mfa", "required", "--mfa-factor", "sms", "--trusted-device-days", "0")
    assert (portal["mfa"], portal["mfa_factors"], portal["trusted_device_days"]) == ("required", ["sms"], 0)
    default = ok_json(env, "clients", "add", "--name", "Huisarts", "--redirect-uri", "http://127.0.0.1:9005/cb")
    assert (default["mfa"], default["mfa_factors"], default["trusted_device_days"]) == (
        "optional", ["sms", "email", "totp"], 7)
    updated = ok_json(env, "clients", "update", default["client_id"], "--mfa", "required", "--mfa-factor", "totp",
                      "--mfa-factor", "sms")
    assert (updated["mfa"], updated["mfa_factors"], updated["trusted_device_days"]) == (
        "required", ["sms", "totp"], 7)
    assert run(env, "clients", "update", default["client_id"], "--mfa", "sometimes").returncode == 2
    assert run(env, "clients", "update", default["client_id"], "--trusted-device-days", "400").returncode == 2
    assert refused(env, "clients", "update", "nope", "--mfa", "off") == "error: no client 'nope'"


def test_clients_add_and_update_set_the_account_rules(env):
    portal = ok_json(env, "clients", "add", "--name", "Zakelijk", "--redirect-uri", "http://127.0.0.1:9006/cb",
                     "--email-domain", "business.example.org", "--help-contact", "Bel 088 123 45 67")
    assert portal["email_domains"] == ["business.example.org"] and portal["help_contact"] == "Bel 088 123 45 67"
    assert portal["password_policy"] == "standard"
    assert refused(env, "clients", "update", portal["client_id"], "--password-policy", "nope") == (
        "error: no password policy 'nope' (known: standard)")
    cleared = ok_json(env, "clients", "update", portal["client_id"], "--email-domain", "")
    assert cleared["email_domains"] == [] and cleared["help_contact"] == "Bel 088 123 45 67"


def test_messages_dead_lists_what_was_given_up_and_retry_queues_it(env):
    assert ok_json(env, "messages", "dead") == []
    assert refused(env, "messages", "retry", "42") == "error: no dead message 42"


def test_users_add_with_a_temporary_password_sends_it_by_mail(env):
    ok(env, "users", "add", "--email", "nieuw@example.org", "--temporary")
    outbox = Path(env["IDP_SERVER_INSTANCE_PATH"]) / "outbox.jsonl"
    assert ok(env, "worker", "--once") is not None
    mails = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert [m["to"] for m in mails] == ["nieuw@example.org"]
    assert refused(env, "users", "add", "--email", "x@example.org") == (
        "error: give exactly one of --password, --temporary or --activate")
    assert refused(env, "users", "add", "--email", "x@example.org", "--password", PASSWORD, "--temporary") == (
        "error: give exactly one of --password, --temporary or --activate")


def test_users_add_refuses_a_short_password(env):
    assert refused(env, "users", "add", "--email", "anna@example.org", "--password", "short") == (
        "error: password too short: at least 8 characters")
    assert row_counts(env["IDP_DATABASE_URL"])["user_account"] == 0


@pytest.mark.parametrize("command", [["users", "show"], ["users", "disable"]])
def test_unknown_user_is_one_line(env, command):
    assert refused(env, *command, "nobody@example.org") == "error: no user 'nobody@example.org'"


def test_users_add_without_email_is_a_usage_error(env):
    result = run(env, "users", "add", "--password", PASSWORD)
    assert result.returncode == 2
    assert "Missing option '--email'" in result.stderr
    assert row_counts(env["IDP_DATABASE_URL"])["user_account"] == 0


# --- clients -------------------------------------------------------------------------------------

def test_public_client_has_no_secret(env):
    portal = ok_json(env, "clients", "add", "--name", "App", "--redirect-uri", "http://127.0.0.1:9002/cb",
                     "--public")
    assert "client_secret" not in portal
    assert portal["public"] is True and portal["token_endpoint_auth_method"] == "none"


def test_clients_show_and_remove(env):
    portal = ok_json(env, "clients", "add", "--name", "Portal", "--redirect-uri", "http://127.0.0.1:9003/cb")
    assert ok_json(env, "clients", "show", portal["client_id"])["name"] == "Portal"
    assert ok(env, "clients", "remove", portal["client_id"]).strip() == f"removed {portal['client_id']}"
    assert ok_json(env, "clients", "list") == []
    assert refused(env, "clients", "show", portal["client_id"]) == f"error: no client {portal['client_id']!r}"


def test_portal_without_redirect_uri_is_refused(env):
    line = refused(env, "clients", "add", "--name", "Portal")
    assert line == "error: a portal needs at least one --redirect-uri"
    assert row_counts(env["IDP_DATABASE_URL"])["client"] == 0


def test_http_redirect_uri_is_refused_in_production(env):
    production = {**env, **PRODUCTION_SECRETS, "IDP_SERVER_DEV_MODE": "false",
                  "IDP_SERVER_ISSUER": "https://login.example.org"}
    before = row_counts(env["IDP_DATABASE_URL"])
    line = refused(production, "clients", "add", "--name", "Portal",
                   "--redirect-uri", "http://127.0.0.1:9004/cb")
    assert line == ("error: redirect-uri: must use https (plain http only for 127.0.0.1/localhost in dev mode): "
                    "'http://127.0.0.1:9004/cb'")
    assert row_counts(env["IDP_DATABASE_URL"]) == before


def test_bad_post_logout_uri_leaves_no_client_behind(env):
    line = refused(env, "clients", "add", "--name", "Portal", "--redirect-uri", "http://127.0.0.1:9005/cb",
                   "--post-logout-redirect-uri", "http://127.0.0.1:9005/out#frag")
    assert line == "error: post-logout-redirect-uri: must not contain a fragment: 'http://127.0.0.1:9005/out#frag'"
    assert row_counts(env["IDP_DATABASE_URL"])["client"] == 0


@pytest.mark.parametrize("command", [["clients", "show"], ["clients", "remove"], ["clients", "rotate-secret"]])
def test_unknown_client_is_one_line(env, command):
    before = row_counts(env["IDP_DATABASE_URL"])
    assert refused(env, *command, "no-such-portal") == "error: no client 'no-such-portal'"
    assert row_counts(env["IDP_DATABASE_URL"]) == before


def test_rotated_secret_works_and_the_old_one_stops(env):
    service = ok_json(env, "clients", "add", "--name", "Reporting", "--service")
    client_id, old = service["client_id"], service["client_secret"]
    assert token_with_secret(env, client_id, old).status_code == 200

    rotated = ok_json(env, "clients", "rotate-secret", client_id)
    assert rotated["client_id"] == client_id and rotated["client_secret"] != old
    refusal = token_with_secret(env, client_id, old)
    assert refusal.status_code == 401
    assert refusal.get_json()["error"] == "invalid_client"
    assert token_with_secret(env, client_id, rotated["client_secret"]).status_code == 200


def test_removed_portal_leaves_no_tokens_for_a_newcomer(env):
    service = ok_json(env, "clients", "add", "--name", "Old", "--service")
    token = token_with_secret(env, service["client_id"], service["client_secret"]).get_json()["access_token"]
    ok(env, "clients", "remove", service["client_id"])
    assert row_counts(env["IDP_DATABASE_URL"])["token"] == 0

    # A portal registered afterwards must not see the removed portal's token as its own.
    newcomer = ok_json(env, "clients", "add", "--name", "New", "--service")
    app = create_app(load(environ=env))
    basic = base64.b64encode(f"{newcomer['client_id']}:{newcomer['client_secret']}".encode()).decode()
    response = app.test_client().post("/introspect", data={"token": token},
                                      headers={"Authorization": f"Basic {basic}"})
    assert response.get_json() == {"active": False}


# --- keys ----------------------------------------------------------------------------------------

def test_keys_rotate_keeps_the_old_key_published(env):
    before = {k["alg"]: k["kid"] for k in ok_json(env, "keys", "list")}
    assert set(before) == {"RS256", "ES256"}

    out = ok(env, "keys", "rotate", "--alg", "RS256")
    new_kid = out.split()[1]
    listed = {k["kid"]: k for k in ok_json(env, "keys", "list")}
    signs_from = listed[new_kid]["signs_from"]
    assert out.strip() == f"RS256: {new_kid} is published now and signs from {signs_from}"
    # Published first, signing after keys.publish_seconds (600 by default): portals cache the JWKS for 300 s.
    assert datetime.fromisoformat(signs_from) - datetime.fromisoformat(listed[new_kid]["created_at"]) == (
        timedelta(seconds=600))
    assert {kid: k["state"] for kid, k in listed.items()} == {
        before["RS256"]: "signing", before["ES256"]: "signing", new_kid: "pending"}
    assert listed[before["RS256"]]["retired_at"] == signs_from
    # Published as long as a session can last (session.absolute_hours, 12 by default) after it stops signing:
    # portals send their old ID token back as id_token_hint at logout.
    until = datetime.fromisoformat(listed[before["RS256"]]["publish_until"])
    assert until > datetime.fromisoformat(signs_from) + timedelta(hours=12)

    app = create_app(load(environ=env))
    jwks = app.test_client().get("/jwks.json").get_json()
    assert {before["RS256"], before["ES256"], new_kid} == {k["kid"] for k in jwks["keys"]}


# --- worker ------------------------------------------------------------------------------------

def test_worker_delivers_a_queued_backchannel_logout(env):
    from tests.conformance.live import LogoutReceiver

    receiver = LogoutReceiver().start()
    try:
        app = create_app(load(environ=env))
        with app.app_context():
            from idp import clock, sessions
            from idp.accounts.users import create_user
            from idp.extensions import db
            from idp.messaging.backchannel import logout_token
            from idp.models import OutboxMessage
            from idp.portals.registry import register
            from idp.runtime import crypto

            user = create_user("anna@example.org", PASSWORD)
            portal = register("Huisartsportaal", ["http://127.0.0.1:9001/callback"],
                              backchannel_logout_uri=receiver.url).client
            session, _ = sessions.start(user, amr=["pwd"], acr=None, auth_time=clock.now())
            sessions.add_client(session, portal)
            # What a logout leaves behind when the server stops before its delivery ran: the row alone.
            now = clock.now()
            delivery = OutboxMessage(channel="backchannel", template="logout", user_id=user.id, client_id=portal.id,
                                     recipient_encrypted=crypto().encrypt(portal.client_id),
                                     body_encrypted=crypto().encrypt(logout_token(portal, session)),
                                     status="pending", attempts=0, created_at=now, next_attempt_at=now)
            db.session.add(delivery)
            db.session.commit()
            sid, delivery_id = session.sid, delivery.id
            db.session.remove()

        assert ok(env, "worker", "--once") == "deliveries: 1 sent\n"
        token = receiver.next_token()
        with app.app_context():
            from idp.runtime import keyring

            assert keyring().verify(token).claims["sid"] == sid
            assert db.session.get(OutboxMessage, delivery_id).status == "sent"
            db.engine.dispose()
        assert ok(env, "worker", "--once") == ""  # nothing is due any more
    finally:
        receiver.stop()


def test_a_refused_backchannel_logout_dies_in_the_worker_and_is_retried_by_the_operator(env):
    from tests.oidc.backchannel_receiver import BackchannelReceiver

    # Each worker pass makes the next attempt; the portal checks the issuer of the tokens it gets.
    env = {**env, "IDP_LOGOUT_BACKCHANNEL_RETRY_SECONDS": "0", "IDP_LOGOUT_BACKCHANNEL_ATTEMPTS": "3",
           "IDP_SERVER_ISSUER": ISSUER}
    app = create_app(load(environ=env))
    with BackchannelReceiver(fail_first=3) as receiver, app.app_context():
        from idp import clock, sessions
        from idp.accounts.users import create_user
        from idp.audit import EventTag
        from idp.extensions import db
        from idp.models import AuditEvent, OutboxMessage
        from idp.portals.registry import register

        user = create_user("anna@example.org", PASSWORD)
        portal = register("Huisartsportaal", ["http://127.0.0.1:9001/callback"],
                          backchannel_logout_uri=receiver.uri).client
        session, _ = sessions.start(user, amr=["pwd"], acr=None, auth_time=clock.now())
        sessions.add_client(session, portal)
        db.session.commit()
        receiver.client_id, receiver.jwks = portal.client_id, app.test_client().get("/jwks.json").get_json()
        sid, client_id = session.sid, portal.client_id
        db.session.remove()

        assert ok(env, "users", "disable", "anna@example.org") == (
            "disabled anna@example.org; 1 portal logout(s) left for `idp worker`\n")  # the first attempt: 503
        assert ok(env, "worker", "--once") == "deliveries: 1 retried\n"
        assert ok(env, "worker", "--once") == "deliveries: 1 dead\n"
        assert ok(env, "worker", "--once") == ""
        [dead] = ok_json(env, "messages", "dead")
        assert (dead["channel"], dead["portal"], dead["attempts"], dead["last_error"]) == (
            "backchannel", client_id, 3, "HTTP 503")
        assert len(receiver.posts) == 3 and receiver.accepted == []

        assert ok(env, "messages", "retry", str(dead["id"])) == f"message {dead['id']} queued again\n"
        assert ok(env, "worker", "--once") == "deliveries: 1 sent\n"

        [claims] = receiver.accepted
        assert claims["sid"] == sid and claims["aud"] == client_id
        assert ok_json(env, "messages", "dead") == []
        assert db.session.get(OutboxMessage, dead["id"]).status == "sent"
        tags = db.session.scalars(select(AuditEvent.tag).where(AuditEvent.tag.like("logout:backchannel:%"))
                                  .order_by(AuditEvent.id)).all()
        assert tags == [EventTag.BACKCHANNEL_LOGOUT_FAILED, EventTag.BACKCHANNEL_LOGOUT_SENT]
        db.session.remove()
        db.engine.dispose()


# --- the database must be ready ------------------------------------------------------------------

def test_commands_refuse_an_uninitialised_database(fresh):
    line = refused(fresh, "users", "list")
    assert line == f"error: database {fresh['IDP_DATABASE_URL']} has no schema: run `idp init`"


def test_unreachable_database_is_one_line(tmp_path):
    env = dev_env(tmp_path, "postgresql://idp:secret@127.0.0.1:1/idp")
    line = refused(env, "users", "list")
    assert line.startswith("error: database postgresql://idp:***@127.0.0.1:1/idp: ")
    assert "secret" not in line


# --- also as `flask --app idp` -------------------------------------------------------------------

def test_flask_cli_runs_the_same_commands(fresh):
    result = run(fresh, "--app", "idp", "init", program="flask")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "database ready; 2 signing key(s) created\n"
    user = json.loads(run(fresh, "--app", "idp", "users", "add", "--email", "anna@example.org",
                          "--password", PASSWORD, "--json", program="flask").stdout)
    assert ok_json(fresh, "users", "show", user["sub"])["email"] == "anna@example.org"
    refusal = run(fresh, "--app", "idp", "users", "show", "nobody", program="flask")
    assert (refusal.returncode, refusal.stderr) == (2, "error: no user 'nobody'\n")


# --- serve and demo: real servers on free loopback ports ------------------------------------------

class Running:
    """A server process started by the CLI; stopped (SIGINT, like Ctrl-C) when the test ends."""

    def __init__(self, env: dict[str, str], args: list[str], folder: Path, port: int):
        self.base = f"http://127.0.0.1:{port}"
        self.out, self.err = folder / f"out-{port}.txt", folder / f"err-{port}.txt"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen([str(BIN / "idp"), *args], env={**clean_environ(), **env},
                                            cwd=folder, stdout=out, stderr=err)

    def wait_until_up(self) -> requests.Response:
        """Poll /health until it answers; fail with the server's own output if it exits first."""
        for _ in range(600):
            if self.process.poll() is not None:
                pytest.fail(f"server exited with {self.process.returncode}: {self.err.read_text()}")
            try:
                return requests.get(self.base + "/health", timeout=(2, 10))
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a worker still booting
                time.sleep(0.1)
        pytest.fail("server did not come up: " + self.err.read_text())

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture
def servers():
    started: list[Running] = []
    yield lambda *a: started.append(Running(*a)) or started[-1]
    for server in started:
        server.stop()


@pytest.mark.slow
def test_serve_runs_the_provider_under_gunicorn(env, tmp_path, servers):
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    server = servers({**env, "IDP_SERVER_ISSUER": issuer},
                     ["serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"], tmp_path, port)
    health = server.wait_until_up()
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    discovery = requests.get(issuer + "/.well-known/openid-configuration", timeout=10)
    assert discovery.status_code == 200
    assert discovery.json()["issuer"] == issuer
    assert discovery.json()["token_endpoint"] == issuer + "/token"
    assert len(requests.get(issuer + "/jwks.json", timeout=10).json()["keys"]) == 2
    server.stop()
    assert "Booting worker" in server.err.read_text()  # it was gunicorn that answered


def test_serve_refuses_a_database_without_signing_keys(tmp_path, sqlite_template):
    shutil.copy(sqlite_template, tmp_path / "idp.sqlite")
    env = dev_env(tmp_path, f"sqlite:///{tmp_path}/idp.sqlite")
    assert refused(env, "serve", "--bind", f"127.0.0.1:{free_port()}") == (
        "error: no active signing keys: run `idp init`")


def sign_in_at_portal(base: str, portal: dict, email: str, password: str) -> dict:
    """What a portal does with a demo user: authorize with PKCE, the person signs in, code for tokens."""
    browser = requests.Session()
    verifier, challenge = pkce_pair()
    redirect_uri = portal["redirect_uris"][0]
    response = browser.get(base + "/authorize", allow_redirects=False, timeout=10, params={
        "response_type": "code", "client_id": portal["client_id"], "redirect_uri": redirect_uri,
        "scope": "openid email", "state": "s1", "nonce": "n1", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login/")
    login = base + response.headers["Location"]
    page = browser.get(login, timeout=10)
    response = browser.post(login, allow_redirects=False, timeout=30, data={
        "csrf_token": csrf_token(page.text), "stage": "password", "username": email, "password": password})
    assert response.status_code == 302, response.text[-500:]
    if response.headers["Location"].startswith("/login/"):  # the second factor: the SMS from the dev inbox
        page = browser.get(login, timeout=10)
        assert 'value="second_factor"' in page.text
        inbox = browser.get(base + "/dev/inbox", timeout=10).text
        code = re.search(r"\b(\d{6})\b", re.sub(r"<[^>]+>", "", inbox)).group(1)
        response = browser.post(login, allow_redirects=False, timeout=30, data={
            "csrf_token": csrf_token(page.text), "stage": "second_factor", "code": code})
        while response.status_code == 302 and response.headers["Location"].startswith("/login/"):
            response = browser.get(base + response.headers["Location"], allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[-500:]
    assert response.headers["Location"].startswith(redirect_uri + "?")
    callback = query(response.headers["Location"])
    assert callback["state"] == "s1" and callback["iss"] == base
    tokens = requests.post(base + "/token", auth=(portal["client_id"], portal["client_secret"]), timeout=10, data={
        "grant_type": "authorization_code", "code": callback["code"], "redirect_uri": redirect_uri,
        "code_verifier": verifier})
    assert tokens.status_code == 200, tokens.text
    return tokens.json()


DEMO_PORTALS = ["demo-patient", "demo-ordering", "demo-business", "demo-elderly", "demo-ggz"]


def sms_code_in_inbox(base: str, phone: str) -> str:
    """The code of the newest SMS to this number in the demo's development inbox (newest first)."""
    inbox = requests.get(base + "/dev/inbox", timeout=10).text
    for article in inbox.split("<article")[1:]:
        if phone in article:  # only a text message goes to a phone number
            return re.search(r"<code>([^<]+)</code>", article).group(1)
    raise AssertionError(f"no SMS to {phone} in the inbox")


def sign_in_at_demo(base: str, start: str, login: str, password: str, phone: str
                    ) -> tuple[requests.Session, requests.Response]:
    """A demo person opens `start` (a demo portal's /login, or the account pages) and signs in (password, SMS
    code): the page they reach next (the "for whom?" page, for someone who may act for others there)."""
    browser = requests.Session()
    page = browser.get(start, timeout=10)
    assert 'value="password"' in page.text, page.url
    page = browser.post(page.url, timeout=30, data={"csrf_token": csrf_token(page.text), "stage": "password",
                                                    "username": login, "password": password})
    assert 'value="second_factor"' in page.text, page.text[-500:]
    page = browser.post(page.url, timeout=30, data={"csrf_token": csrf_token(page.text), "stage": "second_factor",
                                                    "code": sms_code_in_inbox(base, phone)})
    return browser, page


def known_by(user: dict) -> str:
    """A demo person's e-mail address; the name of one without a login (their address is made of their sub)."""
    return user["name"] if user["email"].endswith("@no-login.invalid") else user["email"]


def age_today(born: str) -> int:
    from idp.delegation.ages import AgeRules, age_on

    rules = AgeRules()
    return age_on(datetime.fromisoformat(born).date(), rules.today(datetime.now(UTC)))


@pytest.mark.parametrize(("port", "said"), [
    ("5058", "browsers refuse to open port 5060"),  # the business portal would be on 5061, the ordering on 5060
    ("6000", "browsers refuse to open port 6000"),
    ("65534", "within 1-65535"),
])
def test_demo_refuses_ports_a_browser_cannot_open(tmp_path, port, said):
    env = {"IDP_SERVER_INSTANCE_PATH": str(tmp_path / "instance")}
    refused = run(env, "demo", "--port", port)
    assert refused.returncode == 2 and said in refused.stderr and "--port" in refused.stderr
    assert not (tmp_path / "instance" / "demo.sqlite").exists(), "nothing was set up"


@pytest.mark.slow
def test_demo_serves_demo_users_and_keeps_them_until_reset(tmp_path, servers):
    port = free_port(6)  # the provider and the five portals, on port + 1..5
    base = f"http://127.0.0.1:{port}"
    env = {"IDP_SERVER_INSTANCE_PATH": str(tmp_path / "instance"), "IDP_PASSWORDS_BCRYPT_ROUNDS": "4"}
    demo = servers(env, ["demo", "--port", str(port)], tmp_path, port)
    assert demo.wait_until_up().status_code == 200
    assert (tmp_path / "instance" / "demo.sqlite").exists()
    printed = demo.out.read_text()
    assert f"{base}/.well-known/openid-configuration" in printed
    assert f"{'patient@example.org':30} Tulpenveld-2026" in printed
    assert f"{base}/dev/inbox" in printed and "authenticator app, key " in printed
    for offset in (1, 2, 3, 4, 5):  # the five portals of clients/, each on its own port, signing in through the demo
        assert requests.get(f"http://127.0.0.1:{port + offset}/", timeout=10).status_code == 200
        assert f"http://127.0.0.1:{port + offset}" in printed
    assert requests.get(base + "/.well-known/openid-configuration", timeout=10).json()["issuer"] == base

    # The banner's own command registers a portal against the running demo; a demo user signs in there.
    command = next(line.strip() for line in printed.splitlines() if " clients add " in line)
    registered = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=clean_environ(),
                                capture_output=True, text=True, timeout=120, check=False)
    assert registered.returncode == 0, registered.stderr
    portal = json.loads(registered.stdout)
    tokens = sign_in_at_portal(base, portal, "patient@example.org", "Tulpenveld-2026")
    assert tokens["id_token"] and tokens["access_token"]

    demo_db = {"IDP_SERVER_DEV_MODE": "true", "IDP_DATABASE_URL": "sqlite:///demo.sqlite", **env}
    first = {known_by(u): u["sub"] for u in ok_json(demo_db, "users", "list")}
    assert len(first) == 18  # 17 who sign in (three only as admins), and Sem, who has no login

    # Issue 15: acting for someone else. The banner names the people; the ages hold whatever day it runs.
    assert f"{'anna@example.org':30} Kastanje-2026" in printed and f"{'imulder':30} Kievit-58" in printed
    assert f"{'everhoeven':30} Zorgpad-2026" in printed and f"{base}/admin" in printed
    assert "Anna de Vries for Sem de Vries (8, no login of their own): parental, active" in printed
    assert "Ingrid Mulder for Gerrit Mulder (86): contact person (family), active" in printed
    stories = {(d["delegate_name"], d["principal_name"]): d for d in ok_json(demo_db, "delegations", "list")}
    assert {who: (d["status"], age_today(d["principal_born"])) for who, d in stories.items()} == {
        ("Anna de Vries", "Sem de Vries"): ("active", 8),
        ("Anna de Vries", "Lotte de Vries"): ("pending", 14),  # waiting for Lotte's consent
        ("Anna de Vries", "Daan de Vries"): ("expired", 17),  # ended at his 16th birthday
        ("Ingrid Mulder", "Gerrit Mulder"): ("active", 86),
    }
    assert stories["Anna de Vries", "Lotte de Vries"]["not_usable_because"] == "child_consent_needed"
    assert stories["Anna de Vries", "Sem de Vries"]["principal_no_login"] is True
    # At the demo patient portal Anna's chooser offers Sem (8), not Lotte before her consent, never Daan.
    patient_portal = f"http://127.0.0.1:{port + 1}"
    browser, chooser = sign_in_at_demo(base, patient_portal + "/login", "anna@example.org", "Kastanje-2026",
                                       "+31612345685")
    assert 'value="choose_person"' in chooser.text
    offered = re.findall(r'name="person" value="([^"]+)"[^>]*>\s*([^<]+?)\s*</button>', chooser.text)
    assert [name for _, name in offered] == ["Mijzelf (Anna de Vries)", "Sem de Vries (8 jaar)"]
    sem = next(value for value, name in offered if name.startswith("Sem"))
    portal_page = browser.post(chooser.url, timeout=30, data={"csrf_token": csrf_token(chooser.text),
                                                              "stage": "choose_person", "person": sem})
    assert portal_page.url == f"http://127.0.0.1:{port + 1}/overzicht"
    shown = " ".join(re.sub(r"<[^>]+>", " ", portal_page.text).split())
    assert "U bekijkt het dossier van Sem (8) — ingelogd als Anna de Vries" in shown and "Cetirizine" not in shown
    assert "Dossier van Sem de Vries" in shown
    # Lotte (14) signs in herself at the patient portal: her own record, nobody to choose.
    _, lotte = sign_in_at_demo(base, patient_portal + "/login", "anna+lotte@example.org", "Fietsbel-2026",
                               "+31612345686")
    assert lotte.url == patient_portal + "/overzicht" and "Goedendag, Lotte de Vries" in lotte.text
    # ... and on her account page gives her consent; then her mother's chooser offers her too.
    lotte_browser, account = sign_in_at_demo(base, base + "/account/delegations", "anna+lotte@example.org",
                                             "Fietsbel-2026", "+31612345686")
    lotte_id = stories["Anna de Vries", "Lotte de Vries"]["id"]
    assert f"/account/delegations/{lotte_id}/consent" in account.text
    given = lotte_browser.post(f"{base}/account/delegations/{lotte_id}/consent", timeout=30, data={
        "csrf_token": csrf_token(account.text), "password": "Fietsbel-2026"})
    assert "Anna de Vries kan nu namens u handelen" in given.text
    switched = browser.post(patient_portal + "/wissel-van-persoon", timeout=30,
                            data={"csrf_token": csrf_token(portal_page.text)})
    offered = re.findall(r'name="person" value="[^"]+"[^>]*>\s*([^<]+?)\s*</button>', switched.text)
    assert offered == ["Mijzelf (Anna de Vries)", "Lotte de Vries (14 jaar)", "Sem de Vries (8 jaar)"]
    demo.stop()

    again = servers(env, ["demo", "--port", str(port)], tmp_path, port)
    assert again.wait_until_up().status_code == 200
    assert {known_by(u): u["sub"] for u in ok_json(demo_db, "users", "list")} == first
    # The delegations are made once: the same four after a restart, as they stood (Lotte's consent kept).
    assert {(d["principal_name"], d["id"], d["status"]) for d in ok_json(demo_db, "delegations", "list")} == \
        {(name, d["id"], "active" if name == "Lotte de Vries" else d["status"]) for (_, name), d in stories.items()}
    # (idp-account: the account pages' own client, registered when Lotte first signed in there)
    assert [c["client_id"] for c in ok_json(demo_db, "clients", "list")] == [*DEMO_PORTALS, portal["client_id"],
                                                                              "idp-account"]
    # Each demo portal keeps its seed's profile across starts (issue 14): the insurer asks an SMS code at every
    # sign-in and never receives the phone number; every portal leads back to its own /login.
    business = ok_json(demo_db, "clients", "show", "demo-business")
    assert business["mfa"] == "every"
    assert business["profile"]["withheld_claims"]["value"] == ["phone_number", "phone_number_verified"]
    assert business["profile"]["sign_in_url"]["value"] == f"http://127.0.0.1:{port + 3}/login"
    shown = ok_json(demo_db, "clients", "show", "demo-ordering")["profile"]
    assert shown["form_of_address"]["value"] == "je"  # seed 000
    again.stop()

    reset = servers(env, ["demo", "--port", str(port), "--reset"], tmp_path, port)
    assert reset.wait_until_up().status_code == 200
    afresh = {known_by(u): u["sub"] for u in ok_json(demo_db, "users", "list")}
    assert set(afresh) == set(first) and not set(afresh.values()) & set(first.values())
    assert [c["client_id"] for c in ok_json(demo_db, "clients", "list")] == DEMO_PORTALS


def test_generated_client_ids_never_look_like_options(app):
    from idp.portals.registry import CLIENT_ID, new_client_id

    ids = [new_client_id() for _ in range(2000)]
    assert all(CLIENT_ID.fullmatch(i) and not i.startswith("-") for i in ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("chosen", ["-rf", "has space", "x" * 65, "ünïcode"])
def test_a_chosen_client_id_must_be_plain(app, chosen):
    from idp.errors import InvalidInput
    from idp.portals.registry import register

    with pytest.raises(InvalidInput, match="client id"):
        register("Portal", ["http://127.0.0.1:9000/cb"], client_id=chosen)


def test_clients_profile_is_set_shown_with_its_source_and_reset(env):
    """Issue 14: `--profile field=value` on add and update; `clients show` prints the effective profile and
    where each value comes from; `field=` goes back to the deployment's default."""
    portal = ok_json(env, "clients", "add", "--name", "Clientportaal", "--redirect-uri", "http://127.0.0.1:9010/cb",
                     "--profile", "sms_prefix=true", "--profile", "withheld_claims=phone_number,phone_number_verified")
    assert portal["profile"]["sms_prefix"] == {"value": True, "from": "portal"}
    assert portal["profile"]["withheld_claims"]["value"] == ["phone_number", "phone_number_verified"]
    assert portal["profile"]["reset_phone"] == {"value": False, "from": "default"}

    ok(env, "clients", "update", portal["client_id"], "--profile", "sms_prefix=", "--profile", "reset_phone=yes")
    shown = ok(env, "clients", "show", portal["client_id"])
    assert "profile.sms_prefix=false" in shown and "profile.sms_prefix=false (portal)" not in shown
    assert "profile.reset_phone=true (portal)" in shown


def test_a_bad_profile_field_is_refused_and_changes_nothing(env):
    portal = ok_json(env, "clients", "add", "--name", "Portaal", "--redirect-uri", "http://127.0.0.1:9011/cb",
                     "--profile", "reset_phone=true")
    line = refused(env, "clients", "update", portal["client_id"], "--profile", "sms_prefix=true",
                   "--profile", "colour=red")
    assert line.startswith("error: no profile field 'colour'")
    after = ok_json(env, "clients", "show", portal["client_id"])
    assert after["profile"]["sms_prefix"]["from"] == "default"
    assert after["profile"]["reset_phone"] == {"value": True, "from": "portal"}
    assert run(env, "clients", "update", portal["client_id"], "--profile", "no-equals-sign").returncode == 2


def test_the_form_of_address_is_u_or_je_and_nothing_else(env):
    """Issue 14: `address` says how the portal's Dutch texts speak to the reader; `clients show` explains it."""
    portal = ok_json(env, "clients", "add", "--name", "Jongerenportaal", "--redirect-uri", "http://127.0.0.1:9012/cb")
    assert portal["profile"]["form_of_address"] == {"value": "u", "from": "default"}

    ok(env, "clients", "update", portal["client_id"], "--profile", "form_of_address=je")
    assert "profile.form_of_address=je (portal)" in ok(env, "clients", "show", portal["client_id"])

    line = refused(env, "clients", "update", portal["client_id"], "--profile", "form_of_address=jij")
    assert line == "error: profile form_of_address: u (formal) or je (informal), not 'jij'"
    assert ok_json(env, "clients", "show", portal["client_id"])["profile"]["form_of_address"] == {"value": "je",
                                                                                          "from": "portal"}


def test_clients_update_replaces_the_addresses_checked_as_at_registration(env):
    """Issue 14: update can change redirect, post-logout and back-channel URIs; a bad one changes nothing."""
    portal = ok_json(env, "clients", "add", "--name", "Portaal", "--redirect-uri", "http://127.0.0.1:9012/cb",
                     "--post-logout-redirect-uri", "http://127.0.0.1:9012/out",
                     "--backchannel-logout-uri", "http://127.0.0.1:9012/bc")
    updated = ok_json(env, "clients", "update", portal["client_id"], "--redirect-uri", "http://127.0.0.1:9013/cb",
                      "--redirect-uri", "http://127.0.0.1:9013/cb2", "--post-logout-redirect-uri", "",
                      "--backchannel-logout-uri", "")
    assert updated["redirect_uris"] == ["http://127.0.0.1:9013/cb", "http://127.0.0.1:9013/cb2"]
    assert updated["post_logout_redirect_uris"] == [] and updated["backchannel_logout_uri"] is None
    line = refused(env, "clients", "update", portal["client_id"], "--name", "Nieuwe naam",
                   "--redirect-uri", "http://127.0.0.1:9014/cb#frag")
    assert line == "error: redirect-uri: must not contain a fragment: 'http://127.0.0.1:9014/cb#frag'"
    after = ok_json(env, "clients", "show", portal["client_id"])
    assert after["name"] == "Portaal" and after["redirect_uris"] == updated["redirect_uris"]


def test_users_add_for_an_unknown_portal_is_refused_and_adds_nobody(env):
    before = row_counts(env["IDP_DATABASE_URL"])
    line = refused(env, "users", "add", "--email", "nieuw@example.org", "--activate", "--portal", "nope")
    assert line == "error: no client 'nope'"
    assert row_counts(env["IDP_DATABASE_URL"]) == before


# --- the command line as an operator first meets it: help anywhere, a port in use, platform variables -----

def command_paths(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command of click's command tree under `command`, groups included, as the words that name it."""
    paths = [path]
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            paths += command_paths(command.get_command(ctx, name), (*path, name))
    return paths


# Runs the `idp` entry point (idp.cli:main, what the console script calls) once per command line given, in one
# process: 75 Python start-ups of the whole app would take minutes.
HELP_WALK = """
import contextlib, io, json, sys
from idp.cli import main
said = []
for words in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    sys.argv = ["idp", *words]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code
    said.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(said))
"""


def test_every_help_works_without_a_config_file_or_a_database(tmp_path):
    """`idp --help` and each command's --help, in an empty folder with no IDP_* variable at all: the settings there
    (the defaults) are not fit to start anything, and no database may appear."""
    paths = command_paths(cli_group())
    assert {("init",), ("serve",), ("users", "add"), ("db", "upgrade"), ("limiter", "clear")} <= set(paths)
    empty = tmp_path / "empty"
    empty.mkdir()
    walk = subprocess.run([sys.executable, "-c", HELP_WALK, json.dumps([[*path, "--help"] for path in paths])],
                          cwd=empty, env=clean_environ(), capture_output=True, text=True, timeout=300, check=False)
    assert walk.returncode == 0, walk.stderr
    for path, (code, out, err) in zip(paths, json.loads(walk.stdout), strict=True):
        words = " ".join(("idp", *path))
        assert (code, err) == (0, ""), (words, err)
        assert out.startswith(f"Usage: {words} ["), (words, out[:200])
    # The console script itself, for a few of them at once.
    started = {words: subprocess.Popen([str(BIN / "idp"), *words.split(), "--help"], cwd=empty, env=clean_environ(),
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for words in ("", "init", "db upgrade", "limiter clear")}
    for words, process in started.items():
        out, err = process.communicate(timeout=120)
        assert (process.returncode, err) == (0, ""), (words, err)
        assert out.startswith(f"Usage: {' '.join(('idp', *words.split()))} [")
        if not words:  # `idp --help` lists every command, those of Flask-Migrate and Flask-Limiter too
            listed = re.findall(r"^  (\S+)", out.split("Commands:")[1], flags=re.MULTILINE)
            assert listed == sorted(path[0] for path in paths if len(path) == 1)
            assert {"db", "limiter", "serve", "init"} <= set(listed)
    assert list(empty.iterdir()) == []  # no database, no instance folder, nothing


def test_a_command_still_stops_on_missing_settings_after_its_help(tmp_path):
    result = subprocess.run([str(BIN / "idp"), "users", "list"], cwd=tmp_path, env=clean_environ(),
                            capture_output=True, text=True, timeout=120, check=False)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "error: setting server.issuer: must use https outside dev mode\n"
    assert list(tmp_path.iterdir()) == []


def test_kubernetes_service_variables_do_not_stop_a_command(env):
    """Kubernetes puts IDP_PORT, IDP_SERVICE_HOST, IDP_PORT_5000_TCP... into every pod for a service named idp."""
    platform = {"IDP_PORT": "tcp://10.0.0.7:5000", "IDP_PORT_5000_TCP": "tcp://10.0.0.7:5000",
                "IDP_PORT_5000_TCP_ADDR": "10.0.0.7", "IDP_PORT_5000_TCP_PORT": "5000",
                "IDP_PORT_5000_TCP_PROTO": "tcp", "IDP_SERVICE_HOST": "10.0.0.7", "IDP_SERVICE_PORT": "5000"}
    added = ok_json({**env, **platform}, "users", "add", "--email", "k8s@example.org", "--password", PASSWORD)
    assert [u["email"] for u in ok_json(env, "users", "list")] == [added["email"]]


@pytest.fixture
def taken_port():
    """A port something else listens on (as a second provider or another server would)."""
    port = free_port()
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        yield port


def test_serve_on_a_port_in_use_is_one_line_before_anything_starts(fresh, taken_port):
    """Said before the database is looked at (this one has no schema yet, which would be the first complaint) and
    before gunicorn starts (it would retry for a while, then print a traceback)."""
    line = refused(fresh, "serve", "--bind", f"127.0.0.1:{taken_port}")
    assert line == (f"error: port {taken_port} (127.0.0.1:{taken_port}) is in use: stop what listens there, or choose "
                    f"another with --bind HOST:PORT, e.g. --bind 127.0.0.1:{taken_port + 1}")
    assert not Path(fresh["IDP_DATABASE_URL"].removeprefix("sqlite:///")).exists()


def test_serve_checks_the_address_of_any_bind_form(fresh, taken_port):
    assert f"port {taken_port} (0.0.0.0:{taken_port}) is in use" in refused(
        fresh, "serve", "--bind", f"0.0.0.0:{taken_port}")
    assert "not an address of this machine" in refused(fresh, "serve", "--bind", f"no-such-host.invalid:{taken_port}")


@pytest.mark.parametrize("offset", [0, 3])
def test_demo_on_a_port_in_use_is_one_line_before_anything_is_printed(tmp_path, offset):
    """The provider's port or one of its portals' (port + 1..5): one line naming it and a block of free ports."""
    port = free_port(6)
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port + offset))
        listener.listen()
        result = run({"IDP_SERVER_INSTANCE_PATH": str(tmp_path / "instance")}, "demo", "--port", str(port))
    assert (result.returncode, result.stdout) == (2, "")  # no banner
    [line] = result.stderr.splitlines()
    portal = f" (one of the demo's portals: the demo uses {port}-{port + 5})" if offset else ""
    other = re.fullmatch(rf"error: port {port + offset}{re.escape(portal)} is in use: stop what listens there, "
                         r"or run the demo on other ports: idp demo --port (\d+) \(make demo PORT=(\d+)\)", line)
    assert other, line
    assert other.group(1) == other.group(2) and int(other.group(1)) > port + 5
    assert not (tmp_path / "instance").exists(), "nothing was set up"


def test_make_demo_takes_the_port(tmp_path):
    root = Path(__file__).resolve().parents[2]
    # Some other server's PORT, which is not the demo's; and none of the make that runs the suite (`make test`):
    # inherited, MAKELEVEL makes this make print "Leaving directory" after the command.
    environ = {k: v for k, v in clean_environ().items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS",
                                                                     "MAKEOVERRIDES")}
    environ["PORT"] = "3000"
    said = subprocess.run(["make", "-n", "demo", "PORT=5100"], cwd=root, env=environ,
                          capture_output=True, text=True, timeout=60, check=True).stdout
    assert said.splitlines()[-1].endswith("/idp demo --port 5100")
    said = subprocess.run(["make", "-n", "demo"], cwd=root, env=environ,
                          capture_output=True, text=True, timeout=60, check=True).stdout
    assert said.splitlines()[-1].endswith("/idp demo --port 5000")
