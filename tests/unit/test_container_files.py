"""Dockerfile, compose.yaml and deploy/: no Docker engine runs here, so what can be checked without one is.

The image's build is the wheel's (tests/unit/test_wheel.py builds, installs and signs in with it); here: the
compose file's settings are accepted by the provider as they stand, every command the files run exists with
those options, the health check asks a route that exists, the image runs as an account of its own, and the
secrets `make up` makes are private and kept.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import yaml

from idp import settings as settings_module
from idp.app import create_app
from idp.cli import cli_group
from tests.conftest import base_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
IDP_SERVICES = ("init", "web", "worker")


def make_secrets(folder: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "deploy" / "make_secrets.py"), str(folder)], check=True)


def parses(argv: list[str]) -> click.Context:
    """The idp command line `argv` names a command that takes these options (callbacks such as the port check
    are not run)."""
    assert argv[0] == "idp"
    group = cli_group()
    command = group.get_command(click.Context(group), argv[1])
    assert command is not None, argv
    return command.make_context(argv[1], list(argv[2:]), resilient_parsing=True)


def test_the_compose_settings_are_accepted_by_the_provider_outside_dev_mode(tmp_path):
    make_secrets(tmp_path)
    for name in IDP_SERVICES:
        service = COMPOSE["services"][name]
        environ = {key: str(value).replace("/run/secrets/", f"{tmp_path}/") for key, value in
                   service["environment"].items()}
        assert set(service["secrets"]) == {Path(v).name for k, v in service["environment"].items()
                                           if k.endswith("_FILE")}
        loaded = settings_module.load(environ=environ)
        assert loaded.server.dev_mode is False
        assert loaded.server.issuer == "https://localhost:8443" and loaded.server.proxy_hops == 1
        url = loaded.database.url
        assert url.startswith("postgresql+psycopg://idp:") and url.endswith("@db:5432/idp")
        assert loaded.redis.url == "redis://redis:6379/0"
        assert (loaded.messaging.email_transport, loaded.messaging.smtp_host) == ("smtp", "mail")


def test_every_command_the_files_run_exists_with_its_options():
    for name in IDP_SERVICES:
        parses(COMPOSE["services"][name]["command"])
    cmd = re.search(r'^CMD (\[.*\])$', DOCKERFILE, re.M)
    assert cmd is not None
    served = parses(yaml.safe_load(cmd.group(1)))
    assert served.params["bind"] == "0.0.0.0:8000"
    web = parses(COMPOSE["services"]["web"]["command"])
    port = web.params["bind"].rsplit(":", 1)[1]
    assert f"reverse_proxy web:{port}" in (ROOT / "deploy" / "Caddyfile").read_text()


def test_the_health_check_asks_for_readiness_on_the_served_port(tmp_path):
    check = re.search(r"urlopen\('http://127\.0\.0\.1:(\d+)(/[a-z/]+)'", DOCKERFILE)
    assert check is not None
    assert check.group(1) == "8000"
    app = create_app(base_settings(tmp_path, f"sqlite:///{tmp_path}/idp.sqlite"))
    assert check.group(2) in {rule.rule for rule in app.url_map.iter_rules()}
    assert check.group(2) == "/health/ready"


def test_the_image_runs_as_an_account_of_its_own_and_copies_only_what_exists():
    final_stage = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    user = re.search(r"^USER (\S+)$", final_stage, re.M)
    assert user is not None and user.group(1) not in ("root", "0")
    assert "useradd --system --uid 10001 --user-group --home-dir /var/lib/idp" in final_stage
    assert "HEALTHCHECK" in final_stage
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, re.M):
        for name in source.split():
            assert (ROOT / name).exists(), name
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "idp" not in ignored and "templates" not in ignored and "migrations" not in ignored


def test_the_secrets_are_private_and_kept_when_made_again(tmp_path):
    folder = tmp_path / "secrets"
    make_secrets(folder)
    first = {path.name: path.read_text() for path in folder.iterdir()}
    assert set(first) == {"secret_key", "encryption_key", "postgres_password", "database_url"}
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    for path in folder.iterdir():
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        assert len(path.read_text().strip()) >= 32
    assert first["postgres_password"].strip() in first["database_url"]
    assert first["secret_key"] != first["encryption_key"]
    make_secrets(folder)
    assert {path.name: path.read_text() for path in folder.iterdir()} == first
