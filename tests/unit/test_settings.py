"""Settings: defaults, then the IDP_CONFIG file, then IDP_<SECTION>_<KEY>; a bad value stops start-up in one line."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from idp.settings import SECRET_SETTINGS, Settings, SettingsError, load

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
      "(IDP_SERVER_ENCRYPTION_KEY, or IDP_SERVER_ENCRYPTION_KEY_FILE naming a file holding it); or several as "
      "server.encryption_keys, newest first")),
    ({"IDP_SERVER_ENCRYPTION_KEYS": "production-encryption-key-new-0123456789-abcdefghij"},
     ("setting server.encryption_key and server.encryption_keys: give one (encryption_keys lists every key, "
     "newest first)")),
    ({"IDP_SERVER_ENCRYPTION_KEY": "",
      "IDP_SERVER_ENCRYPTION_KEYS": "production-encryption-key-new-0123456789, short"},
     "setting server.encryption_keys: each a random value of at least 32 characters"),
    ({"IDP_SERVER_ENCRYPTION_KEY": "", "IDP_SERVER_ENCRYPTION_KEYS": "a" * 40 + "," + "a" * 40},
     "setting server.encryption_keys: each key once, none empty"),
    ({"IDP_SERVER_HASH_KEY": "short"}, "setting server.hash_key: each a random value of at least 32 characters"),
    ({"IDP_KEYS_PUBLISH_SECONDS": "-1"}, "setting keys.publish_seconds: must be 0 or more"),
    ({"IDP_KEYS_PUBLISH_SECONDS": "299"},
     "setting keys.publish_seconds: must be at least 300 outside dev mode (portals may cache /jwks.json that long)"),
    ({"IDP_KEYS_REFRESH_SECONDS": "0"}, "setting keys.refresh_seconds: must be positive"),
    ({"IDP_KEYS_RSA_BITS": "2048"},
     ("setting keys.rsa_bits: must be 3072 or 4096 outside dev mode (2048-bit RSA gives about 112 bits of "
      "security, under the 128 of OWASP ASVS 11.2.3)")),
    ({"IDP_TOKENS_CODE_SECONDS": "601"},
     ("setting tokens.code_seconds: at most 600 (a one-time code lives at most 10 minutes, OWASP ASVS 6.5.5 "
     "and 10.4.3)")),
    ({"IDP_CODES_TTL_SECONDS": "3600"},
     ("setting codes.ttl_seconds: at most 600 (a one-time code lives at most 10 minutes, OWASP ASVS 6.5.5 "
     "and 10.4.3)")),
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
                                  "of at least 32 characters (IDP_SERVER_SECRET_KEY, or "
                                  "IDP_SERVER_SECRET_KEY_FILE naming a file holding it)")


def test_http_issuer_in_production_stops_startup():
    assert_stops_with(start({**SECRETS, "IDP_SERVER_ISSUER": "http://login.example.org"}),
                      "error: setting server.issuer: must use https outside dev mode")


def test_missing_config_file_stops_startup(tmp_path, dev):
    missing = tmp_path / "nowhere.toml"
    assert_stops_with(start({**dev, "IDP_CONFIG": str(missing)}), f"error: config file not found: {missing}")


def test_flask_cli_stops_with_the_same_line(dev):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "FLASK_"))}
    result = subprocess.run([str(BIN / "flask"), "--app", "idp", "users", "list"],
                            env={**base, **dev, "IDP_PASSWORDS_BCRYPT_ROUNDS": "twelve"},
                            capture_output=True, text=True, timeout=120, check=False)
    assert_stops_with(result, "error: setting passwords.bcrypt_rounds: expected int, got 'twelve'")


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


# --- IDP_* variables that are not settings: a platform's own, ignored and named in the debug log ---------

# What Kubernetes sets in every pod for a service named idp (and for one named idp-server: IDP_SERVER_*).
KUBERNETES = {
    "IDP_PORT": "tcp://10.0.0.7:5000", "IDP_PORT_5000_TCP": "tcp://10.0.0.7:5000",
    "IDP_PORT_5000_TCP_ADDR": "10.0.0.7", "IDP_PORT_5000_TCP_PORT": "5000", "IDP_PORT_5000_TCP_PROTO": "tcp",
    "IDP_SERVICE_HOST": "10.0.0.7", "IDP_SERVICE_PORT": "5000",
    "IDP_SERVER_SERVICE_HOST": "10.0.0.8", "IDP_SERVER_PORT": "tcp://10.0.0.8:443",
}


def test_other_idp_variables_are_ignored_and_named_at_debug_level(caplog):
    caplog.set_level(logging.DEBUG, logger="idp.settings")
    settings = load(environ={**PRODUCTION, **KUBERNETES})
    assert settings == load(environ=PRODUCTION)  # they changed nothing
    [record] = [r for r in caplog.records if r.name == "idp.settings"]
    assert record.levelno == logging.DEBUG
    assert record.getMessage() == ("ignored environment variables that are not idp settings: "
                                   + ", ".join(sorted(KUBERNETES)))
    assert "10.0.0.7" not in record.getMessage()  # names only, never a value


def test_without_other_idp_variables_nothing_is_logged(caplog):
    caplog.set_level(logging.DEBUG, logger="idp.settings")
    load(environ=PRODUCTION)
    assert [r for r in caplog.records if r.name == "idp.settings"] == []


def test_a_platforms_idp_variables_do_not_stop_a_start(dev):
    result = start({**dev, **KUBERNETES}, "db", "current")
    assert result.returncode == 0, result.stderr
    assert "unknown setting" not in result.stderr


# --- secrets from files: <key>_file in the config file, IDP_<SECTION>_<KEY>_FILE in the environment ------

def secret_file(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


@pytest.mark.parametrize(("section", "key"), SECRET_SETTINGS)
def test_each_secret_can_come_from_a_file_named_in_the_environment(tmp_path, section, key):
    value = {"url": "postgresql://idp:s3cr3t pass@db.example.org/idp" if section == "database"
             else "redis://:s3cr3t@redis.example.org:6379/0"}.get(key, "Bearer s3cr3t-0123456789-0123456789-0123456789")
    path = secret_file(tmp_path, "secret", value + "\n")  # as `echo ... > file` leaves it
    variable = f"IDP_{section}_{key}_FILE".upper()
    env = {k: v for k, v in PRODUCTION.items() if k != variable.removesuffix("_FILE")}
    if key == "encryption_keys":  # a list: one key a line, instead of the single encryption_key
        del env["IDP_SERVER_ENCRYPTION_KEY"]
        path.write_text(f"{value}-new\n{value}\n")
    settings = load(environ={**env, variable: str(path)})
    expected = [f"{value}-new", value] if key == "encryption_keys" else value
    assert getattr(getattr(settings, section), key) == expected  # the trailing newline is not part of it


def test_a_production_start_with_both_server_secrets_from_files(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k not in SECRETS}
    for var, value in SECRETS.items():
        env[var + "_FILE"] = str(secret_file(tmp_path, var.lower(), value + "\r\n"))
    settings = load(environ=env)
    assert (settings.server.secret_key, settings.server.encryption_key) == (
        SECRETS["IDP_SERVER_SECRET_KEY"], SECRETS["IDP_SERVER_ENCRYPTION_KEY"])


def test_each_secret_can_come_from_a_file_named_in_the_config_file(tmp_path, monkeypatch):
    folder = tmp_path / "etc"
    folder.mkdir()
    secret_file(folder, "secret_key", SECRETS["IDP_SERVER_SECRET_KEY"] + "\n")
    secret_file(folder, "encryption_key", SECRETS["IDP_SERVER_ENCRYPTION_KEY"])
    smtp = secret_file(tmp_path, "smtp", "mail password with spaces \n")
    secret_file(folder, "db", "postgresql://idp:pw@db/idp\n")
    path = write(folder, '[server]\nissuer = "https://idp.example.org"\nsecret_key_file = "secret_key"\n'
                         'encryption_key_file = "encryption_key"\n[database]\nurl_file = "db"\n'
                         '[messaging]\nemail_transport = "smtp"\nsms_transport = "console"\n'
                         f'smtp_password_file = "{smtp}"\n')
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)  # a relative path is the config file's folder's, wherever the provider starts
    settings = load(environ={"IDP_CONFIG": str(path)})
    assert settings.server.secret_key == SECRETS["IDP_SERVER_SECRET_KEY"]
    assert settings.server.encryption_key == SECRETS["IDP_SERVER_ENCRYPTION_KEY"]
    assert settings.database.url == "postgresql://idp:pw@db/idp"
    assert settings.messaging.smtp_password == "mail password with spaces "  # only the newline goes


def test_the_environment_wins_over_a_secret_file_named_in_the_config_file(tmp_path):
    secret_file(tmp_path, "smtp", "from the file")
    path = write(tmp_path, '[messaging]\nsmtp_password_file = "smtp"\n')
    settings = load(environ={**PRODUCTION, "IDP_CONFIG": str(path), "IDP_MESSAGING_SMTP_PASSWORD": "from the env"})
    assert settings.messaging.smtp_password == "from the env"


@pytest.mark.parametrize("broken", ["missing", "folder", "empty", "binary"])
def test_a_secret_file_that_cannot_be_read_stops_startup(tmp_path, broken):
    path = tmp_path / "secret"
    if broken == "folder":
        path.mkdir()
    elif broken == "empty":
        path.write_text("\n")
    elif broken == "binary":
        path.write_bytes(b"\xff\xfe\x00secret")
    said = {"missing": f"cannot read {path}: No such file or directory",
            "folder": f"cannot read {path}: Is a directory", "empty": f"{path} is empty",
            "binary": f"{path} is not UTF-8 text"}[broken]
    with pytest.raises(SettingsError) as caught:
        load(environ={**PRODUCTION, "IDP_MESSAGING_SMTP_PASSWORD_FILE": str(path)})
    assert str(caught.value) == f"setting messaging.smtp_password (IDP_MESSAGING_SMTP_PASSWORD_FILE): {said}"
    config = write(tmp_path, f'[messaging]\nsmtp_password_file = "{path}"\n')
    with pytest.raises(SettingsError) as caught:
        load(environ={**PRODUCTION, "IDP_CONFIG": str(config)})
    assert str(caught.value) == f"setting messaging.smtp_password_file: {said}"


def test_a_secret_given_both_as_a_value_and_as_a_file_stops_startup(tmp_path):
    path = secret_file(tmp_path, "secret", SECRETS["IDP_SERVER_SECRET_KEY"])
    with pytest.raises(SettingsError) as caught:
        load(environ={**PRODUCTION, "IDP_SERVER_SECRET_KEY_FILE": str(path)})
    assert str(caught.value) == ("setting server.secret_key: given both as IDP_SERVER_SECRET_KEY and as "
                                 "IDP_SERVER_SECRET_KEY_FILE; give one")
    config = write(tmp_path, f'[redis]\nurl = "redis://localhost"\nurl_file = "{path}"\n')
    with pytest.raises(SettingsError) as caught:
        load(environ={**PRODUCTION, "IDP_CONFIG": str(config)})
    assert str(caught.value) == "setting redis.url: given both as url and as url_file; give one"


def test_only_secrets_can_come_from_a_file(tmp_path):
    path = secret_file(tmp_path, "issuer", "https://idp.example.org")
    config = write(tmp_path, f'[server]\nissuer_file = "{path}"\n')
    with pytest.raises(SettingsError, match=r"^unknown setting server\.issuer_file$"):
        load(environ={**PRODUCTION, "IDP_CONFIG": str(config)})
    config = write(tmp_path, "[messaging]\nsmtp_password_file = 5\n")
    with pytest.raises(SettingsError, match=r"^setting messaging\.smtp_password_file: expected the path of a file"):
        load(environ={**PRODUCTION, "IDP_CONFIG": str(config)})


def test_an_unreadable_secret_file_stops_the_command_in_one_line(tmp_path, dev):
    missing = tmp_path / "run" / "secrets" / "idp_secret_key"
    assert_stops_with(start({**dev, "IDP_SERVER_SECRET_KEY_FILE": str(missing)}),
                      f"error: setting server.secret_key (IDP_SERVER_SECRET_KEY_FILE): cannot read {missing}: "
                      "No such file or directory")


# --- the deployment's floor under password policies (issue 18, OWASP ASVS 5.0 V6.2) ---------------

SEED_002 = "[password_policies.care]\nmin_length = 5\nmin_upper = 1\nmin_lower = 1\nmin_non_letters = 1\n"


def test_a_policy_under_the_floor_stops_startup(tmp_path, dev):
    """Seed 002's 5 characters are under the default floor of 8: `idp` refuses to start with it."""
    path = write(tmp_path, SEED_002)
    assert_stops_with(start({**dev, "IDP_CONFIG": str(path)}),
                      "error: setting [password_policies.care]: min_length 5 is below the floor "
                      "passwords.floor_min_length = 8; a deployment that must allow it lowers "
                      "passwords.floor_min_length on purpose")


def test_a_deployment_lowers_the_floor_on_purpose(tmp_path, dev):
    path = write(tmp_path, "[passwords]\nfloor_min_length = 5\n" + SEED_002)
    settings = load(environ={**dev, "IDP_CONFIG": str(path)})
    assert settings.password_policies["care"].min_length == 5
    assert settings.passwords.floor_min_length == 5


@pytest.mark.parametrize(("rule", "floor"), [
    ("min_length = 7", "floor_min_length = 7"),
    ("max_length = 40", "floor_max_length = 40"),
    ("not_common = false", "floor_not_common = false"),
    ("not_personal = false", "floor_not_personal = false"),
    ("max_age_days = 365", "floor_no_expiry = false"),
])
def test_every_weaker_rule_is_refused_and_names_its_floor(tmp_path, dev, rule, floor):
    named = floor.split(" = ")[0]
    weak = write(tmp_path, f"[password_policies.weak]\n{rule}\n")
    with pytest.raises(SettingsError, match=rf"^setting \[password_policies\.weak\]: .*passwords\.{named}"):
        load(environ={**dev, "IDP_CONFIG": str(weak)})
    lowered = write(tmp_path, f"[passwords]\n{floor}\n[password_policies.weak]\n{rule}\n")
    assert "weak" in load(environ={**dev, "IDP_CONFIG": str(lowered)}).password_policies


def test_the_floor_itself_must_make_sense(dev):
    with pytest.raises(SettingsError, match="floor_min_length <= floor_max_length"):
        load(environ={**dev, "IDP_PASSWORDS_FLOOR_MIN_LENGTH": "100"})


def test_the_built_in_policy_and_the_example_config_meet_the_default_floor(tmp_path, dev):
    settings = load(environ={**dev, "IDP_CONFIG": str(Path(__file__).parents[2] / "config.example.toml")})
    floor = settings.passwords
    assert (floor.floor_min_length, floor.floor_max_length, floor.floor_not_common, floor.floor_not_personal,
            floor.floor_no_expiry) == (8, 64, True, True, True)
    for policy in settings.password_policies.values():
        assert policy.min_length >= 8 and policy.max_length >= 64 and policy.not_common and policy.not_personal
        assert policy.max_age_days == 0


def test_new_rsa_keys_are_3072_bits_by_default_and_2048_only_in_dev_mode(dev):
    assert load(environ=PRODUCTION).keys.rsa_bits == 3072
    assert load(environ={**dev, "IDP_KEYS_RSA_BITS": "2048"}).keys.rsa_bits == 2048
    assert load(environ={**PRODUCTION, "IDP_TOKENS_CODE_SECONDS": "600", "IDP_CODES_TTL_SECONDS": "600"})
