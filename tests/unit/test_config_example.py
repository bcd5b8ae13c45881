"""config.example.toml documents every option with its default: it and idp/settings.py must agree exactly."""

from __future__ import annotations

import secrets
import tomllib
from pathlib import Path

from idp import create_app
from idp.settings import Settings, as_dict, load

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def typed(table: dict) -> dict:
    """Values with their types, so 5 and 5.0 or "1" and 1 count as different."""
    return {section: {key: (type(value).__name__, value) for key, value in values.items()}
            for section, values in table.items()}


def settings_defaults() -> dict:
    """The defaults of the settings, without the declared portals (none by default; an example in comments) and
    the config file's path (not a setting)."""
    defaults = as_dict(Settings())
    assert defaults.pop("portals") == []
    assert defaults.pop("config_path") == ""
    return defaults


def test_example_lists_exactly_the_settings_with_their_defaults():
    example = tomllib.loads(EXAMPLE.read_text())
    defaults = settings_defaults()
    assert list(example) == list(defaults)  # same sections, in the same order
    for section in defaults:
        assert list(example[section]) == list(defaults[section]), section
    assert typed(example) == typed(defaults)


def test_every_option_has_a_line_of_explanation_above_it():
    lines = EXAMPLE.read_text().splitlines()
    options = [i for i, line in enumerate(lines) if line and not line.startswith(("#", "["))]
    defaults = settings_defaults()
    policies = defaults.pop("password_policies")  # named tables: count their rules
    assert len(options) == sum(len(v) for v in defaults.values()) + sum(len(v) for v in policies.values())
    for i in options:
        above = lines[i - 1]
        assert above.startswith("# ") and len(above) > 10, f"no explanation above {lines[i]!r}"


def test_the_example_is_a_valid_config_file(tmp_path):
    settings = load(environ={"IDP_CONFIG": str(EXAMPLE), "IDP_SERVER_DEV_MODE": "true",
                             "IDP_SERVER_INSTANCE_PATH": str(tmp_path)})
    assert settings.issuer == "http://127.0.0.1:5000"
    assert settings.passwords.bcrypt_rounds == 12


def test_the_commented_example_portal_is_a_valid_declaration(tmp_path):
    """Uncommented, with its secret file made as the comment says, the example portal loads and passes the
    registry's checks (create_app validates declared portals)."""
    text = EXAMPLE.read_text()
    start = text.index("# [[portals]]")
    portal = "\n".join(line.removeprefix("# ").removeprefix("#") for line in text[start:].splitlines())
    config = tmp_path / "config.toml"
    config.write_text(text + "\n" + portal + "\n")
    secret = tmp_path / "secrets" / "huisarts.secret"
    secret.parent.mkdir()
    secret.write_text(secrets.token_urlsafe(32) + "\n")
    secret.chmod(0o600)
    settings = load(environ={"IDP_CONFIG": str(config), "IDP_SERVER_DEV_MODE": "true",
                             "IDP_SERVER_INSTANCE_PATH": str(tmp_path),
                             "IDP_DATABASE_URL": f"sqlite:///{tmp_path}/idp.sqlite"})
    create_app(settings)
    [declared] = settings.portals
    assert declared.client_id == "huisarts" and declared.secret_file == str(secret)
    assert declared.mfa_factors == ["sms", "totp"]
    assert declared.profile["help_by_role"] == [["professional", "support@huisarts.example.org"]]
    assert settings.config_path == str(config)
