"""Issue 14: portals declared in the config file ([[portals]]) and `declared.sync`, which makes the database match.

Each test reads a real config file with a real owner-only secret file, as a restart would, and syncs into the
test's database (SQLite, and PostgreSQL when IDP_TEST_DATABASE_URL is set).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from idp import create_app
from idp.audit import EventTag
from idp.cli import sync_declared_portals
from idp.errors import InvalidInput
from idp.extensions import db
from idp.models import Client
from idp.portals import declared, registry
from idp.settings import SettingsError, load
from tests.conftest import base_settings
from tests.helpers import RelyingParty, audit_events, basic_auth

PASSWORD = "correct horse battery"
HUISARTS = """
[[portals]]
client_id = "huisarts"
name = "Huisartsportaal"
redirect_uris = ["http://127.0.0.1:9001/callback"]
post_logout_redirect_uris = ["http://127.0.0.1:9001/logged-out"]
secret_file = "huisarts.secret"
first_party = true
mfa = "optional"
mfa_factors = ["sms", "totp"]
help_contact = "Bel de praktijk: 088 123 45 67"

[portals.profile]
sms_prefix = true
organisation = "Huisartsenpraktijk De Linde"
help_by_role = { professional = "support@delinde.example.org" }
"""
APP = """
[[portals]]
client_id = "app"
name = "De Linde app"
public = true
redirect_uris = ["http://127.0.0.1:9002/callback"]
"""


def write_secret(path: Path, mode: int = 0o600) -> str:
    secret = secrets.token_urlsafe(32)
    path.write_text(secret + "\n")
    path.chmod(mode)
    return secret


@pytest.fixture
def secret(tmp_path) -> str:
    return write_secret(tmp_path / "huisarts.secret")


@pytest.fixture
def config(tmp_path, secret) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(HUISARTS + APP)
    return path


@pytest.fixture
def settings(tmp_path, database_url, config):
    """The app starts with the config file that declares the portals."""
    return base_settings(tmp_path, database_url, config)


@pytest.fixture
def reread(tmp_path, database_url, config):
    """Write the config file anew and read it again, as the next start (or `idp clients sync`) would."""
    def reread(text: str):
        config.write_text(text)
        return base_settings(tmp_path, database_url, config)
    return reread


def row(client_id: str) -> Client | None:
    db.session.expire_all()
    return db.session.scalar(select(Client).where(Client.client_id == client_id))


def relying_party(browser, client_id: str, secret: str | None) -> RelyingParty:
    portal = row(client_id)
    portal.secret = secret  # the plaintext on the test's object only, as make_portal does
    return RelyingParty(browser, portal)


def synced(cfg=None) -> list[declared.Change]:
    changes = declared.sync(cfg)
    db.session.commit()
    return changes


# --- sync registers what the file declares ---------------------------------------------------------

def test_sync_registers_the_declared_portals_and_the_files_secret_gets_tokens(app, client, user, config, secret):
    assert row("huisarts") is None
    changes = synced()
    assert [(c.client_id, c.action) for c in changes] == [("huisarts", "add"), ("app", "add")]

    huisarts = row("huisarts")
    assert huisarts.name == "Huisartsportaal" and huisarts.first_party is True and huisarts.public is False
    assert huisarts.redirect_uris == ["http://127.0.0.1:9001/callback"]
    assert huisarts.post_logout_redirect_uris == ["http://127.0.0.1:9001/logged-out"]
    assert huisarts.mfa == "optional" and huisarts.mfa_factors == ["sms", "totp"]
    assert huisarts.help_contact == "Bel de praktijk: 088 123 45 67"
    assert huisarts.profile == {"sms_prefix": True, "organisation": "Huisartsenpraktijk De Linde",
                                "help_by_role": [["professional", "support@delinde.example.org"]]}
    assert huisarts.declared_in == str(config)
    assert secret not in (huisarts.secret_hash or "")  # only a keyed hash is stored
    app_row = row("app")
    assert app_row.public is True and app_row.secret_hash is None and app_row.declared_in == str(config)

    rp = relying_party(client, "huisarts", secret)
    tokens = rp.tokens("anna@example.org", PASSWORD)
    assert rp.decode_id_token(tokens["id_token"])["aud"] == "huisarts"

    rp.portal.secret = secrets.token_urlsafe(32)
    refused = rp.exchange(rp.sign_in("anna@example.org", PASSWORD)["code"])
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"


def test_a_second_sync_changes_nothing(app, config):
    synced()
    before = declared.registration(row("huisarts")), row("huisarts").secret_hash
    assert [(c.client_id, c.action, c.fields) for c in synced()] == [
        ("huisarts", "unchanged", []), ("app", "unchanged", [])]
    assert (declared.registration(row("huisarts")), row("huisarts").secret_hash) == before


def test_a_changed_field_in_the_file_updates_only_that_field(app, client, user, reread, secret):
    synced()
    before = declared.registration(row("huisarts"))
    cfg = reread(HUISARTS.replace('mfa = "optional"', 'mfa = "required"') + APP)

    assert [(c.client_id, c.action, c.fields) for c in synced(cfg)] == [
        ("huisarts", "update", ["mfa"]), ("app", "unchanged", [])]
    assert declared.registration(row("huisarts")) == {**before, "mfa": "required"}
    assert audit_events(EventTag.CLIENT_UPDATED)[-1].details["changed"] == ["mfa"]
    assert relying_party(client, "huisarts", secret).token_request(
        {"grant_type": "refresh_token", "refresh_token": "unknown"}).get_json()["error"] == "invalid_grant"


def test_jwt_access_tokens_are_declared_in_the_file(app, client, user, reread, secret):
    synced()
    assert row("huisarts").access_token_format == "opaque"  # left out: the default
    before = declared.registration(row("huisarts"))
    cfg = reread(HUISARTS.replace("first_party = true", 'first_party = true\naccess_token_format = "jwt"') + APP)

    assert [(c.client_id, c.action, c.fields) for c in synced(cfg)] == [
        ("huisarts", "update", ["access_token_format"]), ("app", "unchanged", [])]
    assert declared.registration(row("huisarts")) == {**before, "access_token_format": "jwt"}
    rp = relying_party(client, "huisarts", secret)
    access_token = rp.tokens("anna@example.org", PASSWORD)["access_token"]
    assert rp.introspect(access_token).get_json()["aud"] == "huisarts"
    assert access_token.count(".") == 2


def test_a_profile_field_taken_out_of_the_file_goes_back_to_the_default(app, reread):
    synced()
    cfg = reread(HUISARTS.replace("sms_prefix = true\n", "sms_code_length = 8\n") + APP)
    [huisarts, _] = synced(cfg)
    assert huisarts.fields == ["profile.sms_code_length", "profile.sms_prefix"]
    assert row("huisarts").profile == {"sms_code_length": 8, "organisation": "Huisartsenpraktijk De Linde",
                                       "help_by_role": [["professional", "support@delinde.example.org"]]}


def test_a_new_secret_in_the_file_replaces_the_registered_one(app, client, user, tmp_path, settings, secret):
    synced()
    new = write_secret(tmp_path / "huisarts.secret")
    assert [(c.action, c.fields) for c in declared.check(settings)] == [("update", ["secret"]), ("unchanged", [])]
    synced(settings)
    old_rp = relying_party(client, "huisarts", secret)
    assert old_rp.exchange(old_rp.sign_in("anna@example.org", PASSWORD)["code"]).status_code == 401
    new_rp = relying_party(client, "huisarts", new)  # the same row object: its test-only secret changes
    assert new_rp.exchange(new_rp.sign_in("anna@example.org", PASSWORD)["code"]).status_code == 200
    assert [e.client_id for e in audit_events(EventTag.CLIENT_SECRET_ROTATED)] == ["huisarts"]


def test_check_changes_nothing(app, reread):
    assert [(c.client_id, c.action) for c in declared.check()] == [("huisarts", "add"), ("app", "add")]
    assert row("huisarts") is None and row("app") is None

    synced()
    before = declared.registration(row("huisarts")), row("huisarts").secret_hash
    cfg = reread(HUISARTS.replace("Huisartsportaal", "Huisarts De Linde") + APP)
    assert [(c.client_id, c.action, c.fields) for c in declared.check(cfg)] == [
        ("huisarts", "update", ["name"]), ("app", "unchanged", [])]
    db.session.commit()
    assert (declared.registration(row("huisarts")), row("huisarts").secret_hash) == before
    assert row("huisarts").name == "Huisartsportaal"


def test_an_existing_portal_with_the_declared_client_id_is_taken_over(app, client, user, config, secret):
    registry.register("Oud", ["http://127.0.0.1:9009/callback"], client_id="huisarts")
    db.session.commit()
    [huisarts, _] = synced()
    assert huisarts.action == "update"
    assert {"name", "redirect_uris", "secret", "declared_in"} <= set(huisarts.fields)
    assert row("huisarts").name == "Huisartsportaal" and row("huisarts").declared_in == str(config)
    rp = relying_party(client, "huisarts", secret)
    assert rp.exchange(rp.sign_in("anna@example.org", PASSWORD)["code"]).status_code == 200


def test_portals_another_process_registered_at_the_same_moment_are_found_on_the_retry(app, settings):
    """Two servers start at once on a new database: the other one commits the same portals between this one's
    check and its flush. This one's flush fails (the unique client_id, or SQLite's stale snapshot), it rolls back
    and syncs again, and finds them registered."""
    other = create_app(settings)  # the other server: its own app, engine and database session

    @event.listens_for(Session, "before_flush", once=True)
    def the_other_server_syncs_first(session, context, instances):
        with other.app_context():
            synced()
            db.session.remove()

    try:
        changes = sync_declared_portals()
    finally:
        with other.app_context():
            db.engine.dispose()
    assert [(c.client_id, c.action) for c in changes] == [("huisarts", "unchanged"), ("app", "unchanged")]
    assert db.session.scalar(select(func.count()).select_from(Client)) == 2


# --- a portal taken out of the file ------------------------------------------------------------------

def test_a_portal_taken_out_of_the_file_is_reported_and_kept(app, reread, config):
    synced()
    cfg = reread(HUISARTS)
    changes = synced(cfg)
    assert [(c.client_id, c.action) for c in changes] == [("huisarts", "unchanged"), ("app", "undeclared")]
    assert changes[1].note == (f"no longer declared in {config}; kept (remove it with `idp clients remove app`)")
    assert row("app") is not None and row("app").declared_in == str(config)


def test_a_public_portal_cannot_turn_confidential_in_the_file(app, reread, tmp_path):
    synced()
    write_secret(tmp_path / "app.secret")
    cfg = reread(HUISARTS + APP.replace("public = true", 'secret_file = "app.secret"').replace(
        'name = "De Linde app"', 'name = "Nieuwe naam"'))
    with pytest.raises(InvalidInput, match=r"^portal app: public cannot change on a registered portal"):
        declared.sync(cfg)
    db.session.rollback()
    assert row("app").public is True and row("app").name == "De Linde app"


# --- the CLI's own changes are refused -----------------------------------------------------------

def test_guard_refuses_a_declared_portal_until_the_file_no_longer_declares_it(app, config, reread):
    synced()
    with pytest.raises(InvalidInput) as refused:
        declared.guard(row("huisarts"))
    assert str(refused.value) == (f"portal huisarts is declared in {config}; change it there and run "
                                  "idp clients sync")
    registry.register("Met de hand", ["http://127.0.0.1:9008/callback"], client_id="handmatig")
    declared.guard(row("handmatig"))  # not declared: the CLI's to change

    app.extensions["idp.settings"] = reread(HUISARTS)  # restarted with "app" taken out of the file
    declared.guard(row("app"))
    with pytest.raises(InvalidInput):
        declared.guard(row("huisarts"))


def test_another_config_file_never_releases_a_declared_portal(app, tmp_path, database_url):
    """A staging file that does not declare the portal must not let the CLI change it: the next sync from the
    portal's own file would silently undo that change."""
    synced()
    staging = tmp_path / "staging" / "config.toml"
    staging.parent.mkdir()
    staging.write_text("")
    app.extensions["idp.settings"] = base_settings(tmp_path, database_url, staging)
    with pytest.raises(InvalidInput, match=r"^portal app is declared in "):
        declared.guard(row("app"))


def test_portals_another_process_registered_just_after_the_check_are_found_on_the_retry(app, settings,
                                                                                      monkeypatch):
    """The other server commits the same portals after this one's check: register finds the client_id taken,
    and the retry finds them registered (before, `idp serve` stopped with "client id huisarts is taken")."""
    other = create_app(settings)
    check, pending = declared.check, [True]

    def check_then_the_other_server_syncs(*args, **kwargs):
        changes = check(*args, **kwargs)
        while pending:
            pending.pop()
            with other.app_context():
                synced()
                db.session.remove()
        return changes

    monkeypatch.setattr(declared, "check", check_then_the_other_server_syncs)
    try:
        changes = sync_declared_portals()
    finally:
        with other.app_context():
            db.engine.dispose()
    assert [(c.client_id, c.action) for c in changes] == [("huisarts", "unchanged"), ("app", "unchanged")]
    assert db.session.scalar(select(func.count()).select_from(Client)) == 2


# --- the file is checked at start-up -------------------------------------------------------------

def load_declaring(tmp_path: Path, text: str, **environ: str):
    config = tmp_path / "config.toml"
    config.write_text(text)
    return load(environ={"IDP_SERVER_DEV_MODE": "true", "IDP_SERVER_INSTANCE_PATH": str(tmp_path),
                         "IDP_DATABASE_URL": f"sqlite:///{tmp_path}/idp.sqlite", "IDP_CONFIG": str(config),
                         **environ})


def start(tmp_path: Path, text: str, **environ: str) -> str:
    """Read the file and build the app as every start does; the one line that stops it."""
    with pytest.raises(SettingsError) as stopped:
        create_app(load_declaring(tmp_path, text, **environ))
    return stopped.value.message


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_secret_file_open_to_others_is_refused(tmp_path, mode):
    write_secret(tmp_path / "huisarts.secret", mode)
    assert start(tmp_path, HUISARTS) == (
        f"setting portals.huisarts.secret_file: {tmp_path}/huisarts.secret is open to group or others "
        f"(mode {mode:04o}); it must be owner-only: chmod 600 {tmp_path}/huisarts.secret")


def test_a_secret_file_behind_a_symbolic_link_is_refused(tmp_path):
    write_secret(tmp_path / "elders.secret")
    (tmp_path / "huisarts.secret").symlink_to(tmp_path / "elders.secret")
    assert start(tmp_path, HUISARTS) == (f"setting portals.huisarts.secret_file: {tmp_path}/huisarts.secret is a "
                                         "symbolic link; name the file itself")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_a_secret_file_of_another_user_is_refused(tmp_path):
    write_secret(tmp_path / "huisarts.secret")
    os.chown(tmp_path / "huisarts.secret", 65534, 65534)
    assert start(tmp_path, HUISARTS).startswith(
        f"setting portals.huisarts.secret_file: {tmp_path}/huisarts.secret belongs to another user (uid 65534)")


def test_an_owner_only_secret_file_is_taken_read_only_too(tmp_path):
    secret = write_secret(tmp_path / "huisarts.secret", 0o400)
    [portal] = load_declaring(tmp_path, HUISARTS).portals
    assert portal.secret() == secret


@pytest.mark.parametrize(("text", "message"), [
    (HUISARTS.replace("first_party = true", 'first_party = true\ncolour = "#0b5394"'),
     "unknown setting portals.huisarts.colour (known: client_id, name, "),
    (HUISARTS.replace("first_party = true", 'first_party = true\nclient_secret = "hunter2hunter2"'),
     "setting portals.huisarts.client_secret: a secret never goes in the config file; "),
    (HUISARTS + HUISARTS, "setting portals.huisarts: client_id 'huisarts' is declared twice"),
    (HUISARTS.replace('secret_file = "huisarts.secret"\n', ""), "setting portals.huisarts.secret_file: required "),
    (HUISARTS.replace('secret_file = "huisarts.secret"', 'secret_file = "elders.secret"'),
     "setting portals.huisarts.secret_file: no such file: "),
    (APP.replace("public = true", 'public = true\nsecret_file = "huisarts.secret"'),
     "setting portals.app.secret_file: a public portal has no secret; remove secret_file"),
    (HUISARTS.replace('client_id = "huisarts"\n', ""), "setting portals[1].client_id: every [[portals]] needs"),
    (HUISARTS.replace("mfa_factors = [", "trusted_device_days = \"7\"\nmfa_factors = ["),
     "setting portals.huisarts.trusted_device_days: expected int, got str '7'"),
])
def test_a_bad_declaration_stops_loading_and_names_portal_and_key(tmp_path, text, message):
    write_secret(tmp_path / "huisarts.secret")
    with pytest.raises(SettingsError) as stopped:
        load_declaring(tmp_path, text)
    assert stopped.value.message.startswith(message), stopped.value.message


@pytest.mark.parametrize(("text", "message"), [
    (HUISARTS.replace("sms_prefix = true", "sms_prefix = \"maybe\""),
     "setting portals.huisarts.profile.sms_prefix: not true or false: 'maybe'"),
    (HUISARTS.replace("sms_prefix = true", "colour = \"#000000\""),
     "setting portals.huisarts.profile.colour: no profile field 'colour' (known: sms_prefix, "),
    (HUISARTS.replace('name = "', 'name = "Huisarts\\n'), "setting portals.huisarts.name: a portal's name is one line"),
    (HUISARTS.replace('mfa = "optional"', 'mfa = "sometimes"'),
     "setting portals.huisarts.mfa: mfa must be every, required, optional or off, not 'sometimes'"),
    (HUISARTS.replace('["sms", "totp"]', '["pigeon"]'), "setting portals.huisarts.mfa_factors: factors must be "),
    (HUISARTS.replace("first_party = true", 'password_policy = "nope"'),
     "setting portals.huisarts.password_policy: no password policy 'nope' (known: standard)"),
    (HUISARTS.replace('client_id = "huisarts"', 'client_id = "-huisarts"'), "setting portals.-huisarts.client_id: "),
    (HUISARTS.replace('"http://127.0.0.1:9001/callback"', '"https://x.example.org/cb#frag"'),
     "setting portals.huisarts.redirect_uris: redirect URI: must not contain a fragment"),
    (HUISARTS.replace("first_party = true", 'access_token_format = "paseto"'),
     "setting portals.huisarts.access_token_format: access token format must be opaque or jwt, not 'paseto'"),
])
def test_a_value_the_registry_refuses_stops_start_up(tmp_path, text, message):
    write_secret(tmp_path / "huisarts.secret")
    assert start(tmp_path, text).startswith(message)


def test_plain_http_addresses_only_in_dev_mode(tmp_path):
    write_secret(tmp_path / "huisarts.secret")
    production = {"IDP_SERVER_DEV_MODE": "false", "IDP_SERVER_ISSUER": "https://login.example.org",
                  "IDP_SERVER_SECRET_KEY": "production-secret-key-0123456789-abcdefghijklmn",
                  "IDP_SERVER_ENCRYPTION_KEY": "production-encryption-key-0123456789-abcdefghij",
                  "IDP_MESSAGING_EMAIL_TRANSPORT": "smtp", "IDP_MESSAGING_SMS_TRANSPORT": "console"}
    assert start(tmp_path, HUISARTS, **production) == (
        "setting portals.huisarts.redirect_uris: redirect URI: must use https (plain http only for "
        "127.0.0.1/localhost in dev mode): 'http://127.0.0.1:9001/callback'")
    https = HUISARTS.replace("http://127.0.0.1:9001", "https://huisarts.example.org")
    create_app(load_declaring(tmp_path, https, **production))  # starts


def test_the_files_secret_authenticates_the_portal_at_the_token_endpoint(app, client, secret):
    """The file's secret authenticates the portal at the token endpoint like any registered secret."""
    synced()
    response = client.post("/token", data={"grant_type": "client_credentials"},
                           headers=basic_auth("huisarts", secret))
    assert response.get_json()["error"] == "unauthorized_client"  # authenticated, but not a service portal
    response = client.post("/token", data={"grant_type": "client_credentials"},
                           headers=basic_auth("huisarts", "wrong" + secret))
    assert response.get_json()["error"] == "invalid_client"
