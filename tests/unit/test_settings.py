"""Settings: defaults, then the IDP_CONFIG file, then IDP_<SECTION>_<KEY>; a bad value stops start-up in one line."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from idp.settings import Settings, SettingsError, load

BIN = Path(sys.executable).parent
SECRETS = {
    "IDP_SERVER_SECRET_KEY": "production-secret-key-0123456789-abcdefghijklmn",
    "IDP_SERVER_ENCRYPTION_KEY": "production-encryption-key-0123456789-abcdefghij",
}
PRODUCTION = {"IDP_SERVER_ISSUER": "https://login.example.org", "IDP_MESSAGING_EMAIL_TRANSPORT": "smtp",
              "IDP_MESSAGING_SMS_TRANSPORT": "console", **SECRETS}


@pytest.fixture
def dev(tmp_path) -> dict[str, str]:
    return {"IDP_SERVER_DEV_MODE": "true", "IDP_SERVER_INSTANCE_PATH": str(tmp_path)}


def write(tmp_path: Path, toml: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(toml)
    return path


# --- reading --------------------------------------------------------------------------------------

def test_production_settings_from_environment_alone():
    settings = load(environ=PRODUCTION)
    assert settings.issuer == "https://login.example.org"
    assert settings.server.dev_mode is False
    assert settings.server.secret_key == SECRETS["IDP_SERVER_SECRET_KEY"]
    assert settings.passwords.bcrypt_rounds == 12


def test_file_named_by_idp_config_is_read(tmp_path):
    path = write(tmp_path, '[server]\nissuer = "https://idp.example.org/"\nproxy_hops = 1\n'
                           '[tokens]\naccess_token_seconds = 300\n'
                           '[messaging]\nemail_transport = "smtp"\nsms_transport = "console"\n')
    settings = load(environ={**SECRETS, "IDP_CONFIG": str(path)})
    assert settings.issuer == "https://idp.example.org"  # a trailing slash is not part of the issuer
    assert settings.server.proxy_hops == 1
    assert settings.tokens.access_token_seconds == 300
    assert settings.tokens.code_seconds == 60  # untouched keys keep their default


def test_environment_overrides_the_file_and_is_typed(tmp_path):
    path = write(tmp_path, '[server]\nissuer = "https://idp.example.org"\n[passwords]\nbcrypt_rounds = 12\n'
                           '[messaging]\nemail_transport = "smtp"\nsms_transport = "console"\n')
    settings = load(environ={**SECRETS, "IDP_CONFIG": str(path), "IDP_PASSWORDS_BCRYPT_ROUNDS": "10",
                             "IDP_LOGOUT_BACKCHANNEL_TIMEOUT_SECONDS": "1.5", "IDP_SERVER_PROXY_HOPS": "2"})
    assert settings.passwords.bcrypt_rounds == 10
    assert settings.logout.backchannel_timeout_seconds == 1.5
    assert settings.server.proxy_hops == 2


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("1", True), ("yes", True), ("on", True),
                                                 ("false", False), ("0", False), ("no", False), ("off", False)])
def test_booleans_in_the_environment(value, expected, tmp_path):
    settings = load(environ={**PRODUCTION, "IDP_SERVER_DEV_MODE": value, "IDP_SERVER_INSTANCE_PATH": str(tmp_path)})
    assert settings.server.dev_mode is expected


def test_an_integer_where_a_float_is_expected_is_fine(tmp_path):
    path = write(tmp_path, "[logout]\nbackchannel_timeout_seconds = 3\n")
    assert load(environ={**PRODUCTION, "IDP_CONFIG": str(path)}).logout.backchannel_timeout_seconds == 3.0


def test_dev_mode_keeps_generated_secrets_in_the_instance_folder(dev, tmp_path):
    first = load(environ=dev)
    again = load(environ=dev)
    assert len(first.server.secret_key) >= 32 and len(first.server.encryption_key) >= 32
    assert first.server.secret_key != first.server.encryption_key
    assert (again.server.secret_key, again.server.encryption_key) == (
        first.server.secret_key, first.server.encryption_key)
    store = tmp_path / "dev-secrets.toml"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600


def test_replace_validates_like_a_file():
    settings = load(environ=PRODUCTION)
    assert settings.replace(tokens={"code_seconds": 5}).tokens.code_seconds == 5
    with pytest.raises(SettingsError, match=r"^setting tokens\.code_seconds: expected int, got str '5'$"):
        settings.replace(tokens={"code_seconds": "5"})


@pytest.mark.parametrize(("env", "message"), [
    ({"IDP_TOKENS_CODE_SECONDS": "0"}, "setting tokens.code_seconds: must be positive"),
    ({"IDP_PASSWORDS_BCRYPT_ROUNDS": "3"}, "setting passwords.bcrypt_rounds: must be between 4 and 16"),
    ({"IDP_KEYS_ALGORITHM": "HS256"}, "setting keys.algorithm: must be RS256 or ES256, got 'HS256'"),
    ({"IDP_KEYS_RSA_BITS": "1024"}, "setting keys.rsa_bits: must be 2048, 3072 or 4096, got 1024"),
    ({"IDP_I18N_DEFAULT_LOCALE": "de"}, "setting i18n.default_locale: must be nl or en"),
    ({"IDP_SERVER_PROXY_HOPS": "-1"}, "setting server.proxy_hops: must be 0 or more"),
    ({"IDP_SERVER_ISSUER": "login.example.org"},
     "setting server.issuer: must be an http(s) URL, got 'login.example.org'"),
    ({"IDP_SERVER_ENCRYPTION_KEY": "too short"},
     ("setting server.encryption_key: required outside dev mode, a random value of at least 32 characters "
      "(IDP_SERVER_ENCRYPTION_KEY)")),
])
def test_impossible_values_are_refused(env, message):
    with pytest.raises(SettingsError) as caught:
        load(environ={**PRODUCTION, **env})
    assert str(caught.value) == message


def test_defaults_are_not_fit_for_production():
    with pytest.raises(SettingsError, match=r"server\.issuer: must use https outside dev mode"):
        load(environ={})
    assert Settings().server.dev_mode is False


# --- start-up stops with one line naming the key -------------------------------------------------

def start(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """Start the `idp` console script with exactly these IDP_* settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "FLASK_"))}
    return subprocess.run([str(BIN / "idp"), *(args or ("users", "list"))], env={**base, **env},
                          capture_output=True, text=True, timeout=120, check=False)


def assert_stops_with(result: subprocess.CompletedProcess, line: str) -> None:
    assert result.returncode == 2, result
    assert result.stderr == line + "\n"  # one line, no traceback
    assert result.stdout == ""


def test_unknown_key_in_the_file_stops_startup(tmp_path, dev):
    path = write(tmp_path, "[server]\nport = 8000\n")
    assert_stops_with(start({**dev, "IDP_CONFIG": str(path)}), "error: unknown setting server.port")


def test_unknown_section_in_the_file_stops_startup(tmp_path, dev):
    path = write(tmp_path, "[mail]\nhost = 'smtp.example.org'\n")
    assert_stops_with(start({**dev, "IDP_CONFIG": str(path)}), "error: unknown setting section [mail]")


def test_unknown_environment_variable_stops_startup(dev):
    assert_stops_with(start({**dev, "IDP_FOO_BAR": "1"}), "error: unknown setting in environment: IDP_FOO_BAR")


def test_wrong_type_in_the_file_stops_startup(tmp_path, dev):
    path = write(tmp_path, '[server]\nproxy_hops = "two"\n')
    assert_stops_with(start({**dev, "IDP_CONFIG": str(path)}),
                      "error: setting server.proxy_hops: expected int, got str 'two'")


def test_wrong_type_in_the_environment_stops_startup(dev):
    assert_stops_with(start({**dev, "IDP_PASSWORDS_BCRYPT_ROUNDS": "twelve"}),
                      "error: setting passwords.bcrypt_rounds: expected int, got 'twelve'")


def test_missing_secret_key_in_production_stops_startup():
    env = {"IDP_SERVER_ISSUER": "https://login.example.org",
           "IDP_SERVER_ENCRYPTION_KEY": SECRETS["IDP_SERVER_ENCRYPTION_KEY"]}
    assert_stops_with(start(env), "error: setting server.secret_key: required outside dev mode, a random value "
                                  "of at least 32 characters (IDP_SERVER_SECRET_KEY)")


def test_http_issuer_in_production_stops_startup():
    assert_stops_with(start({**SECRETS, "IDP_SERVER_ISSUER": "http://login.example.org"}),
                      "error: setting server.issuer: must use https outside dev mode")


def test_missing_config_file_stops_startup(tmp_path, dev):
    missing = tmp_path / "nowhere.toml"
    assert_stops_with(start({**dev, "IDP_CONFIG": str(missing)}), f"error: config file not found: {missing}")


def test_flask_cli_stops_with_the_same_line(dev):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "FLASK_"))}
    result = subprocess.run([str(BIN / "flask"), "--app", "idp", "users", "list"],
                            env={**base, **dev, "IDP_FOO_BAR": "1"},
                            capture_output=True, text=True, timeout=120, check=False)
    assert_stops_with(result, "error: unknown setting in environment: IDP_FOO_BAR")


@pytest.mark.slow
def test_gunicorn_stops_instead_of_respawning_workers(dev):
    """`gunicorn idp.wsgi:app` started directly with a bad setting halts with the one line in its log."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "FLASK_"))}
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", "1", "idp.wsgi:app"],
        env={**base, **dev, "IDP_TOKENS_CODE_SECONDS": "soon"},
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 4, result.stderr
    assert result.stderr.count("error: setting tokens.code_seconds: expected int, got 'soon'") == 1


# --- the file transport writes codes and links in plain text: outside dev mode only when named ---------

@pytest.mark.parametrize("key", ["EMAIL", "SMS"])
def test_outside_dev_mode_a_transport_must_be_named(key):
    env = {k: v for k, v in PRODUCTION.items() if k != f"IDP_MESSAGING_{key}_TRANSPORT"}
    with pytest.raises(SettingsError, match=rf"messaging\.{key.lower()}_transport: required outside dev mode"):
        load(environ=env)


def test_outside_dev_mode_the_file_transport_works_when_named():
    settings = load(environ={**PRODUCTION, "IDP_MESSAGING_EMAIL_TRANSPORT": "file"})
    assert settings.messaging.email_transport == "file"


def test_in_dev_mode_the_transports_default_to_the_file(dev):
    settings = load(environ=dev)
    assert (settings.messaging.email_transport, settings.messaging.sms_transport) == ("file", "file")
