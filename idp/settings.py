"""Typed settings: defaults, then a TOML file (IDP_CONFIG), then IDP_<SECTION>_<KEY> environment variables.

Every field is documented in config.example.toml; tests/unit/test_config_example.py keeps the two in step.
A secret (SECRET_SETTINGS) may instead be read from a file: `<key>_file` in the TOML file, IDP_<SECTION>_<KEY>_FILE
in the environment. Other IDP_* variables are not ours (a platform sets them, e.g. Kubernetes' IDP_PORT for a
service named idp): they are ignored, and named in the log at debug level.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, get_origin, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from limits import parse_many

from idp.files import NotPrivate, private_file, read_private

log = logging.getLogger(__name__)


class SettingsError(click.ClickException):
    """A bad setting: the message is one line naming the key.

    A ClickException so that `flask --app idp ...` (which builds the app inside click) also stops with
    that one line and exit code 2 instead of a traceback.
    """

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.message}", err=True, file=file)


@dataclass
class ServerSettings:
    issuer: str = "http://127.0.0.1:5000"
    dev_mode: bool = False
    secret_key: str = ""
    encryption_key: str = ""
    encryption_keys: list[str] = field(default_factory=list)
    hash_key: str = ""
    proxy_hops: int = 0
    instance_path: str = "instance"

    def field_encryption_keys(self) -> list[str]:
        """The encryption keys, newest first: encryption_keys, or the single encryption_key of older configs."""
        return list(self.encryption_keys) or ([self.encryption_key] if self.encryption_key else [])


@dataclass
class LoggingSettings:
    """Log lines on standard error: "json" (one object a line, for a log collector) or "text"; empty: text in dev
    mode, json outside it. Every line carries the request id; secrets in request targets are redacted."""

    format: str = ""
    level: str = "INFO"


@dataclass
class MetricsSettings:
    """Prometheus metrics at /metrics: off unless enabled; a scraper sends `Authorization: Bearer <token>`."""

    enabled: bool = False
    token: str = ""


@dataclass
class DatabaseSettings:
    url: str = "sqlite:///idp.sqlite"


@dataclass
class RedisSettings:
    url: str = ""


@dataclass
class PasswordSettings:
    bcrypt_rounds: int = 12
    default_policy: str = "standard"
    # The floor under every password policy (OWASP ASVS 5.0 V6.2): a policy weaker than it stops the start.
    # A deployment that must serve a weaker portal policy (seed 002: 5 characters) lowers it on purpose.
    floor_min_length: int = 8
    floor_max_length: int = 64
    floor_not_common: bool = True
    floor_not_personal: bool = True
    floor_no_expiry: bool = True  # no policy forces a periodic change (max_age_days); NIST SP 800-63B, ASVS 6.2.10


@dataclass
class PasswordPolicy:
    """A named set of password rules; portals name one (`clients add --password-policy`)."""
    min_length: int = 10
    max_length: int = 128
    min_upper: int = 0
    min_lower: int = 0
    min_digits: int = 0
    min_special: int = 0
    min_non_letters: int = 0
    special_characters: str = "!%&@#$^*?_~"
    not_personal: bool = True
    not_common: bool = True
    history: int = 0
    max_age_days: int = 0
    # Words of the deployment and its portals (organisation, portal and product names) that a password may not
    # contain, in any case (OWASP ASVS 6.1.2, 6.2.11); with not_common, part of the "common" rule.
    context_words: list[str] = field(default_factory=list)


def _builtin_policies() -> dict[str, PasswordPolicy]:
    return {"standard": PasswordPolicy()}


@dataclass
class SessionSettings:
    idle_minutes: int = 30
    absolute_hours: int = 12
    login_minutes: int = 30


@dataclass
class TokenSettings:
    code_seconds: int = 60
    access_token_seconds: int = 600
    id_token_seconds: int = 600
    refresh_token_days: int = 30
    # A rotated refresh token lives refresh_token_days from its rotation, but never past the sign-in it comes
    # from plus refresh_token_max_days (OWASP ASVS 5.0 10.4.8): a family in daily use still ends.
    refresh_token_max_days: int = 90
    # JWT access tokens (RFC 9068, portals with access_token_format "jwt"): they cannot be revoked before they
    # expire, so they live briefly; signed with ES256 by default (about 8x cheaper to sign than RS256).
    jwt_access_token_seconds: int = 300
    jwt_access_token_alg: str = "ES256"


@dataclass
class KeySettings:
    """Signing keys: a new key is published this long before it signs (portals cache the JWKS); each process
    re-reads the keys from the database at least this often (a rotation elsewhere is seen within it)."""

    algorithm: str = "RS256"
    rsa_bits: int = 3072  # 128 bits of security (OWASP ASVS 5.0 11.2.3); 2048 only in dev mode
    publish_seconds: int = 600
    refresh_seconds: float = 30.0


@dataclass
class LogoutSettings:
    """The back-channel logout channel of the delivery queue: its POST's timeout and its retry schedule."""

    backchannel_timeout_seconds: float = 5.0
    # 12 attempts, the waits doubling from 10 s: the last one about 5.7 hours after the logout.
    backchannel_attempts: int = 12
    backchannel_retry_seconds: float = 10.0
    backchannel_attempts_at_once: int = 2  # made by the after-commit thread; the rest by `idp worker`


@dataclass
class I18nSettings:
    default_locale: str = "nl"


@dataclass
class LimitSettings:
    sign_in_per_ip: str = "60 per minute"
    sign_in_per_account: str = "10 per minute"
    links_per_ip: str = "30 per hour"
    links_per_account: str = "5 per hour"


@dataclass
class MfaSettings:
    required_for_everyone: bool = False
    required_roles: list[str] = field(default_factory=list)
    acr_password: str = "urn:idp:acr:password"
    acr_mfa: str = "urn:idp:acr:mfa"
    totp_issuer: str = "idp"


@dataclass
class LockoutSettings:
    max_failures: int = 5
    cooldown_minutes: int = 0
    help_contact: str = ""


@dataclass
class AccountSettings:
    activation_hours: int = 72
    reset_minutes: int = 60
    registration_hours: int = 24
    birth_date_attempts: int = 3
    activation_phone: bool = True
    reset_phone: bool = False
    reset_asks_username: bool = False


@dataclass
class DelegationSettings:
    """Acting for someone else (idp/delegation): the Dutch age rules (WGBO), applied to the represented person's
    date of birth at every use, and when both people are told that a delegation ends."""

    parental_until: int = 12  # below this age a parent or guardian linked by an admin acts for the child alone
    consent_from: int = 12  # from this age the child's own consent can be given (and from parental_until it must)
    adult_from: int = 16  # from this age only the person's written consent; parental delegations end here
    time_zone: str = "Europe/Amsterdam"  # where a birthday begins
    notice_days: int = 14  # days before a delegation ends that both people are told
    invitation_days: int = 14  # days a contact person has to accept a client's invitation


@dataclass
class CodeSettings:
    sms_length: int = 6
    email_length: int = 6
    sms_prefix: bool = False
    ttl_seconds: int = 300
    max_attempts: int = 5
    resend_seconds: int = 30
    per_user_per_hour: int = 10
    per_phone_per_hour: int = 5


@dataclass
class MessagingSettings:
    """E-mail and SMS: their transports and their retry schedule in the delivery queue."""

    email_transport: str = ""  # empty: "file" in dev mode; outside it, refused (it must be named)
    sms_transport: str = ""
    file_path: str = "outbox.jsonl"
    deliver_after_commit: bool = False
    max_attempts: int = 8
    retry_seconds: float = 30.0
    # A message carrying a one-time code: retried within seconds, and never after the code expires.
    code_max_attempts: int = 10
    code_retry_seconds: float = 2.0
    retention_hours: int = 24
    mail_from: str = "idp <no-reply@localhost>"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: float = 10.0
    http_url: str = ""
    http_auth_header: str = ""
    http_body_template: str = '{"to": "{to}", "body": "{body}"}'
    http_timeout_seconds: float = 10.0


@dataclass
class DeclaredPortal:
    """A portal declared in the config file ([[portals]]): `idp clients sync` makes its registration match.

    The keys are those of `idp clients add`; a key left out has that command's default. The URIs, factors,
    policy and profile values are checked by the portal registry's own rules when the app is built
    (idp/portals/declared.py `validate`); the secret is read here from `secret_file`, never from the file itself.
    """

    client_id: str = ""
    name: str = ""
    redirect_uris: list[str] = field(default_factory=list)
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    backchannel_logout_uri: str = ""
    first_party: bool = False
    public: bool = False
    service: bool = False
    pkce_required: bool = True
    id_token_alg: str = ""  # empty: keys.algorithm
    access_token_format: str = "opaque"  # or "jwt" (RFC 9068)
    mfa: str = "optional"
    mfa_factors: list[str] = field(default_factory=list)  # empty: every factor
    trusted_device_days: int = 7
    password_policy: str = ""  # empty: passwords.default_policy
    help_contact: str = ""
    email_domains: list[str] = field(default_factory=list)
    registration: bool = False
    secret_file: str = ""  # absolute once loaded (a relative path is taken from the config file's folder)
    profile: dict[str, Any] = field(default_factory=dict)

    def secret(self) -> str | None:
        """The client secret from `secret_file`, read now (None for a public portal: it has none)."""
        if self.public:
            return None
        return _read_secret(self.client_id, self.secret_file)


@dataclass
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    passwords: PasswordSettings = field(default_factory=PasswordSettings)
    session: SessionSettings = field(default_factory=SessionSettings)
    tokens: TokenSettings = field(default_factory=TokenSettings)
    keys: KeySettings = field(default_factory=KeySettings)
    logout: LogoutSettings = field(default_factory=LogoutSettings)
    i18n: I18nSettings = field(default_factory=I18nSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    mfa: MfaSettings = field(default_factory=MfaSettings)
    lockout: LockoutSettings = field(default_factory=LockoutSettings)
    accounts: AccountSettings = field(default_factory=AccountSettings)
    delegation: DelegationSettings = field(default_factory=DelegationSettings)
    codes: CodeSettings = field(default_factory=CodeSettings)
    messaging: MessagingSettings = field(default_factory=MessagingSettings)
    password_policies: dict[str, PasswordPolicy] = field(default_factory=_builtin_policies)
    portals: list[DeclaredPortal] = field(default_factory=list)
    config_path: str = ""  # the config file read (absolute), "" when none: where declared portals live

    @property
    def issuer(self) -> str:
        return self.server.issuer.rstrip("/")

    def replace(self, **sections: dict[str, Any]) -> Settings:
        """A copy with some keys changed, validated like a file: replace(tokens={"code_seconds": 5})."""
        data = as_dict(self)
        for section, values in sections.items():
            data.setdefault(section, {}).update(values)
        return _build(data, origin="override")


# Named tables ([password_policies.<name>]) and the declared portals ([[portals]]), unlike the fixed sections,
# are set in the file only; config_path is where the file was found, not a setting.
POLICIES = "password_policies"
PORTALS = "portals"
CONFIG_PATH = "config_path"
SECTIONS: dict[str, type] = {f.name: f.default_factory for f in dataclasses.fields(Settings)  # type: ignore[misc]
                             if f.name not in {POLICIES, PORTALS, CONFIG_PATH}}


def as_dict(settings: Settings) -> dict[str, Any]:
    return dataclasses.asdict(settings)


def _coerce(section: str, key: str, kind: type, value: Any, origin: str) -> Any:
    name = f"{section}.{key}"
    if get_origin(kind) is list:  # a list of strings; in the environment separated by commas
        if origin == "environment" and isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise SettingsError(f"setting {name}: expected a list of strings, got {value!r}")
        return list(value)
    if origin == "environment" and isinstance(value, str):
        try:
            if kind is bool:
                lowered = value.strip().lower()
                if lowered not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
                    raise ValueError
                return lowered in {"1", "true", "yes", "on"}
            if kind is int:
                return int(value)
            if kind is float:
                return float(value)
        except ValueError:
            raise SettingsError(f"setting {name}: expected {kind.__name__}, got {value!r}") from None
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SettingsError(f"setting {name}: expected {kind.__name__}, got {type(value).__name__} {value!r}")
    return value


def _fields(cls: type, section: str, values: dict[str, Any], origin: str) -> dict[str, Any]:
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in known:
            raise SettingsError(f"unknown setting {section}.{key}")
        kwargs[key] = _coerce(section, key, hints[key], value, origin)
    return kwargs


def _policies(tables: Any, origin: str) -> dict[str, PasswordPolicy]:
    """The built-in policies, then those of the file (a table per name), each rule defaulting as documented."""
    if not isinstance(tables, dict):
        raise SettingsError(f"setting [{POLICIES}] must hold tables such as [{POLICIES}.standard]")
    policies = _builtin_policies()
    for name, values in tables.items():
        if not isinstance(values, dict):
            raise SettingsError(f"setting [{POLICIES}.{name}] must be a table")
        policies[name] = PasswordPolicy(**_fields(PasswordPolicy, f"{POLICIES}.{name}", values, origin))
    return policies


_PORTAL_KEYS = tuple(f.name for f in dataclasses.fields(DeclaredPortal))
MIN_SECRET_LENGTH = 32


def _read_secret(client_id: str, secret_file: str) -> str:
    """A declared portal's secret: the file's text without surrounding whitespace, owner-only, long enough."""
    try:
        secret = read_private(Path(secret_file)).strip()
    except NotPrivate as exc:
        raise SettingsError(f"setting portals.{client_id}.secret_file: {exc}") from None
    if len(secret) < MIN_SECRET_LENGTH or any(c.isspace() for c in secret):
        raise SettingsError(f"setting portals.{client_id}.secret_file: the secret must be one word of at least "
                            f"{MIN_SECRET_LENGTH} characters (e.g. `openssl rand -base64 32`)")
    return secret


def _portals(tables: Any, origin: str) -> list[DeclaredPortal]:
    """The [[portals]] tables: known keys of the right type, a client_id and a name each, no client_id twice, the
    secret from an owner-only secret_file for a confidential portal and none for a public one."""
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise SettingsError(f"setting {PORTALS}: declare each portal as a [[{PORTALS}]] table")
    portals: list[DeclaredPortal] = []
    for number, values in enumerate(tables, 1):
        client_id = values.get("client_id")
        if not isinstance(client_id, str) or not client_id.strip():
            raise SettingsError(f"setting {PORTALS}[{number}].client_id: every [[{PORTALS}]] needs a client_id")
        where = f"{PORTALS}.{client_id}"
        if any(p.client_id == client_id for p in portals):
            raise SettingsError(f"setting {where}: client_id {client_id!r} is declared twice")
        for key in ("secret", "client_secret"):
            if key in values:
                raise SettingsError(f"setting {where}.{key}: a secret never goes in the config file; put it in a "
                                    "file only the provider's account can read (chmod 600) and name it in secret_file")
        unknown = sorted(set(values) - set(_PORTAL_KEYS))
        if unknown:
            raise SettingsError(f"unknown setting {where}.{unknown[0]} (known: {', '.join(_PORTAL_KEYS)})")
        profile = values.get("profile", {})
        if not isinstance(profile, dict):
            raise SettingsError(f"setting {where}.profile: must be a table ([{PORTALS}.profile] under its portal)")
        plain = {k: v for k, v in values.items() if k != "profile"}
        portal = DeclaredPortal(**_fields(DeclaredPortal, where, plain, origin),
                                profile={k: _profile_value(f"{where}.profile.{k}", v) for k, v in profile.items()})
        if not portal.name.strip():
            raise SettingsError(f"setting {where}.name: every portal needs a name")
        if portal.public and portal.secret_file:
            raise SettingsError(f"setting {where}.secret_file: a public portal has no secret; remove secret_file")
        if not portal.public and not portal.secret_file:
            raise SettingsError(f"setting {where}.secret_file: required (a file holding the client secret, "
                                "owner-only), or public = true for a portal without a secret")
        portal.secret()  # readable, owner-only and long enough now, not first at `idp clients sync`
        portals.append(portal)
    return portals


def _profile_item(value: Any) -> bool:
    """An item of a listed profile value: text or a number (withheld_claims), or a pair of texts (help_by_role)."""
    if isinstance(value, list):
        return all(isinstance(v, str) for v in value)
    return isinstance(value, str | int) and not isinstance(value, bool)


def _profile_value(name: str, value: Any) -> Any:
    """A profile value as `clients update --profile` would take it; a table (help_by_role) as its pairs."""
    if isinstance(value, dict):
        if not all(isinstance(v, str) for v in value.values()):
            raise SettingsError(f"setting {name}: a table of texts expected")
        return [[k, v] for k, v in value.items()]
    if isinstance(value, list) and all(_profile_item(v) for v in value):
        return list(value)
    if isinstance(value, str | int | bool):
        return value
    raise SettingsError(f"setting {name}: expected text, a number, true or false, or a list, got {value!r}")


def _build(data: dict[str, Any], origin: str) -> Settings:
    sections: dict[str, Any] = {}
    for section, values in data.items():
        if section == POLICIES:
            sections[section] = _policies(values, origin)
            continue
        if section == PORTALS:
            sections[section] = _portals(values, origin)
            continue
        if section == CONFIG_PATH:
            sections[section] = str(values)
            continue
        if section not in SECTIONS:
            raise SettingsError(f"unknown setting section [{section}]")
        if not isinstance(values, dict):
            raise SettingsError(f"setting [{section}] must be a table")
        sections[section] = SECTIONS[section](**_fields(SECTIONS[section], section, values, origin))
    return Settings(**sections)


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for section, values in extra.items():
        if section == PORTALS:
            base[section] = values
            continue
        if section not in SECTIONS and section != POLICIES:
            raise SettingsError(f"unknown setting section [{section}]")
        if not isinstance(values, dict):
            raise SettingsError(f"setting [{section}] must be a table")
        base.setdefault(section, {}).update(values)


# The settings whose values are secrets (or hold one: a password in a URL, the SMS gateway's token): each may be
# given as the content of a file instead, as container platforms hand out secrets (Docker and Kubernetes secrets).
SECRET_SETTINGS = (
    ("server", "secret_key"), ("server", "encryption_key"), ("server", "encryption_keys"), ("server", "hash_key"),
    ("database", "url"), ("redis", "url"),
    ("messaging", "smtp_password"), ("messaging", "http_auth_header"),
)
FILE_SUFFIX = "_file"
NOT_SETTINGS = ("IDP_CONFIG",)  # IDP_* variables of ours that are not settings (IDP_TEST_* are the tests')


def _read_setting_file(name: str, path: str) -> str:
    """A secret from a file: its text without the trailing newline; a file that cannot be read, or is empty, stops
    start-up with one line naming the setting and the file."""
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"setting {name}: cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"setting {name}: {path} is not UTF-8 text") from None
    value = text.rstrip("\r\n")
    if not value:
        raise SettingsError(f"setting {name}: {path} is empty")
    return value


def _file_value(section: str, key: str, text: str) -> Any:
    """A secret read from a file named in the config file, as the TOML value it replaces."""
    if get_origin(get_type_hints(SECTIONS[section])[key]) is list:  # one item a line
        return [line.strip() for line in text.splitlines() if line.strip()]
    return text


def _secret_files(data: dict[str, Any], folder: Path) -> None:
    """`<key>_file = "/path"` in the config file: the secret <key> is that file's content. A relative path is taken
    from the config file's folder; naming both <key> and <key>_file is refused."""
    for section, key in SECRET_SETTINGS:
        values = data.get(section)
        name = key + FILE_SUFFIX
        if not isinstance(values, dict) or name not in values:
            continue
        path = values.pop(name)
        if not isinstance(path, str) or not path:
            raise SettingsError(f"setting {section}.{name}: expected the path of a file, got {path!r}")
        if key in values:
            raise SettingsError(f"setting {section}.{key}: given both as {key} and as {name}; give one")
        text = _read_setting_file(f"{section}.{name}", str(folder / Path(path).expanduser()))
        values[key] = _file_value(section, key, text)


def environment_names() -> dict[str, tuple[str, str, bool]]:
    """Every IDP_* variable read as a setting: name -> (section, key, whether it names a file holding the value)."""
    names = {}
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            names[f"IDP_{section}_{f.name}".upper()] = (section, f.name, False)
            if (section, f.name) in SECRET_SETTINGS:
                names[f"IDP_{section}_{f.name}{FILE_SUFFIX}".upper()] = (section, f.name, True)
    return names


def _environment(environ: dict[str, str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    names = environment_names()
    ignored = []
    for var, value in sorted(environ.items()):
        if not var.startswith("IDP_") or var in NOT_SETTINGS or var.startswith("IDP_TEST_"):
            continue
        if var not in names:
            ignored.append(var)
            continue
        section, key, from_file = names[var]
        if from_file:
            plain = var.removesuffix(FILE_SUFFIX.upper())
            if plain in environ:
                raise SettingsError(f"setting {section}.{key}: given both as {plain} and as {var}; give one")
            value = _file_value(section, key, _read_setting_file(f"{section}.{key} ({var})", value))
        found.setdefault(section, {})[key] = value
    if ignored:
        # Only the names: a value may be anybody's secret.
        log.debug("ignored environment variables that are not idp settings: %s", ", ".join(ignored))
    return found


def _anchor_secret_files(tables: Any, folder: Path) -> None:
    """A relative secret_file is taken from the config file's folder, wherever the provider is started."""
    for values in tables if isinstance(tables, list) else ():
        if isinstance(values, dict) and isinstance(values.get("secret_file"), str) and values["secret_file"]:
            values["secret_file"] = str(folder / Path(values["secret_file"]).expanduser())


def load(path: str | os.PathLike | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read settings from defaults, the TOML file (argument or IDP_CONFIG) and IDP_* variables; validate."""
    environ = dict(os.environ if environ is None else environ)
    path = path or environ.get("IDP_CONFIG")
    data: dict[str, Any] = {}
    if path:
        try:
            with open(path, "rb") as fh:
                _merge(data, tomllib.load(fh))
        except FileNotFoundError:
            raise SettingsError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path}: {exc}") from None
        data[CONFIG_PATH] = str(Path(path).resolve())
        _anchor_secret_files(data.get(PORTALS), Path(data[CONFIG_PATH]).parent)
        _secret_files(data, Path(data[CONFIG_PATH]).parent)
    file_settings = _build(data, origin="file")
    merged = as_dict(file_settings)
    env = _environment(environ)
    env_typed = as_dict(_build(env, origin="environment"))
    for section, values in env.items():
        for key in values:
            merged[section][key] = env_typed[section][key]
    settings = _build(merged, origin="file")
    validate(settings)
    return settings


JWKS_CACHE_SECONDS = 300  # /jwks.json and discovery are served with this max-age
MAX_CODE_SECONDS = 600  # authorization codes and sent codes

_POSITIVE = (
    ("tokens", "code_seconds"), ("tokens", "access_token_seconds"), ("tokens", "id_token_seconds"),
    ("tokens", "jwt_access_token_seconds"), ("tokens", "refresh_token_days"),
    ("tokens", "refresh_token_max_days"), ("session", "idle_minutes"),
    ("session", "absolute_hours"),
    ("session", "login_minutes"), ("logout", "backchannel_timeout_seconds"), ("logout", "backchannel_attempts"),
    ("logout", "backchannel_attempts_at_once"), ("messaging", "code_max_attempts"), ("keys", "refresh_seconds"),
    ("lockout", "max_failures"), ("accounts", "activation_hours"), ("accounts", "reset_minutes"),
    ("accounts", "registration_hours"), ("accounts", "birth_date_attempts"), ("codes", "ttl_seconds"),
    ("codes", "max_attempts"), ("codes", "per_user_per_hour"),
    ("codes", "per_phone_per_hour"), ("messaging", "max_attempts"), ("messaging", "retention_hours"),
    ("messaging", "smtp_port"), ("messaging", "smtp_timeout_seconds"), ("messaging", "http_timeout_seconds"),
)


def _check_rate(name: str, value: str) -> None:

    try:
        parse_many(value)
    except ValueError:
        raise SettingsError(f"setting {name}: not a rate such as \"10 per minute\": {value!r}") from None


def validate(settings: Settings) -> None:
    """Refuse insecure or impossible values; in dev mode fill secrets from the instance folder."""
    server = settings.server
    if not server.issuer.startswith(("https://", "http://")):
        raise SettingsError(f"setting server.issuer: must be an http(s) URL, got {server.issuer!r}")
    if server.proxy_hops < 0:
        raise SettingsError("setting server.proxy_hops: must be 0 or more")
    if settings.keys.algorithm not in {"RS256", "ES256"}:
        raise SettingsError(f"setting keys.algorithm: must be RS256 or ES256, got {settings.keys.algorithm!r}")
    if settings.tokens.jwt_access_token_alg not in {"RS256", "ES256"}:
        raise SettingsError("setting tokens.jwt_access_token_alg: must be RS256 or ES256, got "
                            f"{settings.tokens.jwt_access_token_alg!r}")
    if settings.keys.rsa_bits not in {2048, 3072, 4096}:
        raise SettingsError(f"setting keys.rsa_bits: must be 2048, 3072 or 4096, got {settings.keys.rsa_bits}")
    if settings.tokens.refresh_token_max_days < settings.tokens.refresh_token_days:
        raise SettingsError("setting tokens.refresh_token_max_days: must be at least tokens.refresh_token_days")
    if settings.keys.rsa_bits < 3072 and not server.dev_mode:
        raise SettingsError("setting keys.rsa_bits: must be 3072 or 4096 outside dev mode (2048-bit RSA gives about "
                            "112 bits of security, under the 128 of OWASP ASVS 11.2.3)")
    for section, key in (("tokens", "code_seconds"), ("codes", "ttl_seconds")):
        if getattr(getattr(settings, section), key) > MAX_CODE_SECONDS:
            raise SettingsError(f"setting {section}.{key}: at most {MAX_CODE_SECONDS} (a one-time code lives at "
                                "most 10 minutes, OWASP ASVS 6.5.5 and 10.4.3)")
    for key in ("sign_in_per_ip", "sign_in_per_account", "links_per_ip", "links_per_account"):
        _check_rate(f"limits.{key}", getattr(settings.limits, key))
    if not 4 <= settings.passwords.bcrypt_rounds <= 16:
        raise SettingsError("setting passwords.bcrypt_rounds: must be between 4 and 16")
    for section, key in _POSITIVE:
        if getattr(getattr(settings, section), key) <= 0:
            raise SettingsError(f"setting {section}.{key}: must be positive")
    if settings.logout.backchannel_retry_seconds < 0:
        raise SettingsError("setting logout.backchannel_retry_seconds: must be 0 or more")
    if settings.messaging.code_retry_seconds < 0:
        raise SettingsError("setting messaging.code_retry_seconds: must be 0 or more")
    if settings.i18n.default_locale not in {"nl", "en"}:
        raise SettingsError("setting i18n.default_locale: must be nl or en")
    _validate_factors(settings)
    _validate_observability(settings)
    _validate_delegation(settings.delegation)
    _validate_policies(settings)
    if settings.keys.publish_seconds < 0:
        raise SettingsError("setting keys.publish_seconds: must be 0 or more")
    if not server.dev_mode and settings.keys.publish_seconds < JWKS_CACHE_SECONDS:
        raise SettingsError(f"setting keys.publish_seconds: must be at least {JWKS_CACHE_SECONDS} outside dev mode "
                            "(portals may cache /jwks.json that long)")
    _validate_encryption_keys(server)
    if server.dev_mode:
        _fill_dev_secrets(settings)
        return
    if not server.issuer.startswith("https://"):
        raise SettingsError("setting server.issuer: must use https outside dev mode")
    for key in ("secret_key", "encryption_key"):
        value = server.field_encryption_keys()[:1] if key == "encryption_key" else [server.secret_key]
        if not value or len(value[0]) < 32:
            raise SettingsError(f"setting server.{key}: required outside dev mode, a random value of at least "
                                f"32 characters (IDP_SERVER_{key.upper()}, or IDP_SERVER_{key.upper()}_FILE naming "
                                "a file holding it)" + ("; or several as server.encryption_keys, newest first"
                                                        if key == "encryption_key" else ""))
    for name, values in (("encryption_keys", server.encryption_keys), ("hash_key", [server.hash_key])):
        if any(0 < len(v) < 32 for v in values):
            raise SettingsError(f"setting server.{name}: each a random value of at least 32 characters")
    for key, usual in (("email_transport", "smtp"), ("sms_transport", "http")):
        if not getattr(settings.messaging, key):
            # The file transport writes codes and links in plain text: outside dev mode only when named.
            raise SettingsError(f"setting messaging.{key}: required outside dev mode ({usual}; console or file "
                                "only for a test installation)")


def _validate_observability(settings: Settings) -> None:
    logs = settings.logging
    if not logs.format:
        logs.format = "text" if settings.server.dev_mode else "json"
    if logs.format not in {"json", "text"}:
        raise SettingsError(f"setting logging.format: must be json or text, got {logs.format!r}")
    logs.level = logs.level.upper()
    if logs.level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError(f"setting logging.level: must be DEBUG, INFO, WARNING or ERROR, got {logs.level!r}")
    metrics = settings.metrics
    if metrics.enabled and (len(metrics.token) < 32 or any(c.isspace() for c in metrics.token)):
        raise SettingsError("setting metrics.token: required when metrics.enabled, a random value of at least 32 "
                            "characters (IDP_METRICS_TOKEN); the scraper sends it as a bearer token")


def _validate_delegation(rules: DelegationSettings) -> None:
    if not 0 < rules.consent_from <= rules.parental_until <= rules.adult_from <= 120:
        raise SettingsError("settings delegation.*: need 0 < consent_from <= parental_until <= adult_from <= 120")
    if rules.notice_days < 0:
        raise SettingsError("setting delegation.notice_days: must be 0 or more")
    if not 1 <= rules.invitation_days <= 365:
        raise SettingsError("setting delegation.invitation_days: must be 1 to 365")
    try:
        ZoneInfo(rules.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"setting delegation.time_zone: not a known time zone: {rules.time_zone!r}") from None


MAX_HISTORY = 24


def _validate_policies(settings: Settings) -> None:
    if settings.passwords.default_policy not in settings.password_policies:
        raise SettingsError(f"setting passwords.default_policy: no policy named {settings.passwords.default_policy!r} "
                            f"(define [{POLICIES}.{settings.passwords.default_policy}])")
    for name, policy in settings.password_policies.items():
        where = f"setting [{POLICIES}.{name}]"
        counts = (policy.min_upper, policy.min_lower, policy.min_digits, policy.min_special, policy.min_non_letters,
                  policy.history, policy.max_age_days)
        if any(n < 0 for n in counts):
            raise SettingsError(f"{where}: minimum counts, history and max_age_days must be 0 or more")
        if not 1 <= policy.min_length <= policy.max_length <= 1024:
            raise SettingsError(f"{where}: needs 1 <= min_length <= max_length <= 1024")
        if policy.min_upper + policy.min_lower + policy.min_digits + policy.min_special > policy.max_length:
            raise SettingsError(f"{where}: the minimum counts add up to more than max_length")
        if policy.history > MAX_HISTORY:
            raise SettingsError(
                f"{where}: history is at most {MAX_HISTORY} (each earlier password costs a bcrypt check)")
        if policy.min_special and not policy.special_characters:
            raise SettingsError(f"{where}: min_special needs special_characters")
        if any(len(word.strip()) < 4 for word in policy.context_words):
            raise SettingsError(f"{where}: context_words are words of at least 4 characters")
        _check_floor(where, policy, settings.passwords)


def _check_floor(where: str, policy: PasswordPolicy, floor: PasswordSettings) -> None:
    """A policy weaker than the deployment's floor is refused, so the provider does not start with it."""
    if not 1 <= floor.floor_min_length <= floor.floor_max_length <= 1024:
        raise SettingsError("settings passwords.floor_min_length and floor_max_length: need 1 <= floor_min_length "
                            "<= floor_max_length <= 1024")
    lower = "; a deployment that must allow it lowers passwords.{} on purpose"
    if policy.min_length < floor.floor_min_length:
        raise SettingsError(f"{where}: min_length {policy.min_length} is below the floor passwords.floor_min_length "
                            f"= {floor.floor_min_length}" + lower.format("floor_min_length"))
    if policy.max_length < floor.floor_max_length:
        raise SettingsError(f"{where}: max_length {policy.max_length} refuses passphrases the floor allows "
                            f"(passwords.floor_max_length = {floor.floor_max_length})"
                            + lower.format("floor_max_length"))
    if floor.floor_not_common and not policy.not_common:
        raise SettingsError(f"{where}: not_common = false is below the floor passwords.floor_not_common"
                            + lower.format("floor_not_common"))
    if floor.floor_no_expiry and policy.max_age_days:
        raise SettingsError(f"{where}: max_age_days = {policy.max_age_days} forces periodic changes, below the floor "
                            "passwords.floor_no_expiry" + lower.format("floor_no_expiry"))
    if floor.floor_not_personal and not policy.not_personal:
        raise SettingsError(f"{where}: not_personal = false is below the floor passwords.floor_not_personal"
                            + lower.format("floor_not_personal"))


def _validate_factors(settings: Settings) -> None:
    codes, messaging, mfa = settings.codes, settings.messaging, settings.mfa
    if not 6 <= codes.sms_length <= 10 or not 6 <= codes.email_length <= 10:
        raise SettingsError("setting codes.sms_length and codes.email_length: must be between 6 and 10")
    if settings.lockout.cooldown_minutes < 0:
        raise SettingsError("setting lockout.cooldown_minutes: must be 0 (until an admin unlocks) or more")
    if codes.resend_seconds < 0 or messaging.retry_seconds < 0:
        raise SettingsError("setting codes.resend_seconds and messaging.retry_seconds: must be 0 or more")
    for key in ("email_transport", "sms_transport"):
        if settings.server.dev_mode and not getattr(messaging, key):
            setattr(messaging, key, "file")  # outside dev mode an empty one is refused at the end of validate()
    if messaging.email_transport not in {"", "file", "smtp", "console"}:
        raise SettingsError(f"setting messaging.email_transport: must be file, smtp or console, "
                            f"got {messaging.email_transport!r}")
    if messaging.sms_transport not in {"", "file", "http", "console"}:
        raise SettingsError(f"setting messaging.sms_transport: must be file, http or console, "
                            f"got {messaging.sms_transport!r}")
    if messaging.smtp_security not in {"starttls", "tls", "none"}:
        raise SettingsError("setting messaging.smtp_security: must be starttls, tls or none")
    if messaging.sms_transport == "http" and not messaging.http_url.startswith(("https://", "http://")):
        raise SettingsError("setting messaging.http_url: the SMS gateway URL is required for the http transport")
    if not mfa.acr_password or not mfa.acr_mfa or mfa.acr_password == mfa.acr_mfa:
        raise SettingsError("setting mfa.acr_password and mfa.acr_mfa: two different, non-empty names")


def _validate_encryption_keys(server: ServerSettings) -> None:
    if server.encryption_keys and server.encryption_key:
        raise SettingsError("setting server.encryption_key and server.encryption_keys: give one (encryption_keys "
                            "lists every key, newest first)")
    if len(set(server.encryption_keys)) != len(server.encryption_keys) or not all(server.encryption_keys):
        raise SettingsError("setting server.encryption_keys: each key once, none empty")


def _fill_dev_secrets(settings: Settings) -> None:
    """Dev mode keeps generated secrets in the instance folder so restarts keep sessions and keys readable."""
    server = settings.server
    if server.secret_key and server.field_encryption_keys():
        return
    store = Path(server.instance_path) / "dev-secrets.toml"
    saved: dict[str, str] = {}
    if store.exists():
        saved = tomllib.loads(store.read_text())
    changed = False
    for key in ("secret_key", "encryption_key"):
        if not getattr(server, key) and not (key == "encryption_key" and server.encryption_keys):
            if key not in saved:
                saved[key] = secrets.token_urlsafe(48)
                changed = True
            setattr(server, key, saved[key])
    if changed:
        private_file(store).write_text("".join(f'{k} = "{v}"\n' for k, v in saved.items()))
