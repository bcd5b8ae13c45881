"""`idp clients sync` and the declared portals as an operator meets them: the real console script in a subprocess.

`idp init` and `idp serve` sync too; `clients update|rotate-secret|remove` refuse a declared portal in one line and
change nothing.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

import pytest
import requests

from tests.unit import test_cli
from tests.unit.test_cli import (
    BIN,
    clean_environ,
    free_port,
    ok,
    ok_json,
    refused,
    row_counts,
    run,
    token_with_secret,
)

# The console-script fixtures of test_cli.py: a database `idp init` prepared once, copied for each test.
initialised, fresh, env, servers = test_cli.initialised, test_cli.fresh, test_cli.env, test_cli.servers

PORTALS = """
[[portals]]
client_id = "reporting"
name = "Rapportages"
service = true
secret_file = "reporting.secret"

[[portals]]
client_id = "huisarts"
name = "Huisartsportaal"
redirect_uris = ["http://127.0.0.1:9001/callback"]
secret_file = "huisarts.secret"
mfa = "required"

[portals.profile]
sms_prefix = true
"""


def write_secret(path: Path, mode: int = 0o600) -> str:
    secret = secrets.token_urlsafe(32)
    path.write_text(secret + "\n")
    path.chmod(mode)
    return secret


@pytest.fixture
def declaring(env, tmp_path) -> dict[str, str]:
    """The CLI's settings with a config file that declares two portals, each secret in its owner-only file."""
    config = tmp_path / "config.toml"
    config.write_text(PORTALS)
    for name in ("reporting", "huisarts"):
        write_secret(tmp_path / f"{name}.secret")
    return {**env, "IDP_CONFIG": str(config)}


def secret_of(settings: dict[str, str], name: str) -> str:
    return (Path(settings["IDP_CONFIG"]).parent / f"{name}.secret").read_text().strip()


def declare(settings: dict[str, str], text: str) -> None:
    Path(settings["IDP_CONFIG"]).write_text(text)


def test_init_registers_the_declared_portals_and_the_files_secret_gets_a_token(fresh, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(PORTALS)
    secret = write_secret(tmp_path / "reporting.secret")
    write_secret(tmp_path / "huisarts.secret")
    settings = {**fresh, "IDP_CONFIG": str(config)}

    printed = ok(settings, "init")
    assert printed.splitlines()[1:] == ["portal reporting: added", "portal huisarts: added"]
    shown = ok_json(settings, "clients", "show", "huisarts")
    assert shown["declared_in"] == str(config) and shown["mfa"] == "required"
    assert shown["profile"]["sms_prefix"] == {"value": True, "from": "portal"}
    assert "declared_in=" + str(config) in ok(settings, "clients", "show", "huisarts")
    response = token_with_secret(settings, "reporting", secret)
    assert response.status_code == 200 and response.get_json()["token_type"].lower() == "bearer"
    assert ok(settings, "init").splitlines()[1:] == []  # nothing changed, nothing to say


def test_sync_dry_run_says_what_would_change_and_changes_nothing(declaring):
    assert ok_json(declaring, "clients", "sync")["portals"] == [
        {"client_id": "reporting", "action": "add", "fields": [], "note": ""},
        {"client_id": "huisarts", "action": "add", "fields": [], "note": ""}]
    before = ok_json(declaring, "clients", "show", "huisarts")
    declare(declaring, PORTALS.replace("Huisartsportaal", "Huisarts De Linde").replace("sms_prefix = true",
                                                                                         "sms_prefix = false"))

    planned = ok_json(declaring, "clients", "sync", "--dry-run")
    assert planned["dry_run"] is True and planned["config"] == declaring["IDP_CONFIG"]
    assert planned["portals"][1] == {"client_id": "huisarts", "action": "update",
                                     "fields": ["name", "profile.sms_prefix"], "note": ""}
    assert ok(declaring, "clients", "sync", "--dry-run").splitlines() == [
        "portal reporting: unchanged", "portal huisarts: would be updated (name, profile.sms_prefix)"]
    assert ok_json(declaring, "clients", "show", "huisarts") == before

    assert ok(declaring, "clients", "sync").splitlines() == [
        "portal reporting: unchanged", "portal huisarts: updated (name, profile.sms_prefix)"]
    after = ok_json(declaring, "clients", "show", "huisarts")
    assert after["name"] == "Huisarts De Linde"
    assert after["profile"]["sms_prefix"] == {"value": False, "from": "portal"}
    assert {k: v for k, v in after.items() if k not in {"name", "profile"}} == {
        k: v for k, v in before.items() if k not in {"name", "profile"}}


@pytest.mark.parametrize("command", [["update", "huisarts", "--name", "Met de hand"], ["rotate-secret", "huisarts"],
                                     ["remove", "huisarts"]])
def test_a_declared_portal_is_changed_only_through_its_file(declaring, command):
    ok(declaring, "clients", "sync")
    before = ok_json(declaring, "clients", "show", "huisarts")
    assert refused(declaring, "clients", *command) == (
        f"error: portal huisarts is declared in {declaring['IDP_CONFIG']}; change it there and run idp clients sync")
    assert ok_json(declaring, "clients", "show", "huisarts") == before
    without_config = {k: v for k, v in declaring.items() if k != "IDP_CONFIG"}
    assert refused(without_config, "clients", *command).startswith("error: portal huisarts is declared in ")


def test_clients_add_refuses_a_client_id_the_file_declares(declaring):
    line = refused(declaring, "clients", "add", "--name", "Met de hand", "--client-id", "huisarts",
                   "--redirect-uri", "http://127.0.0.1:9005/callback")
    assert line == (f"error: portal huisarts is declared in {declaring['IDP_CONFIG']}; run idp clients sync to "
                    "register it")
    assert ok_json(declaring, "clients", "list") == []


def test_the_secret_stays_the_files_when_rotation_is_refused(declaring):
    ok(declaring, "clients", "sync")
    refused(declaring, "clients", "rotate-secret", "reporting")
    assert token_with_secret(declaring, "reporting", secret_of(declaring, "reporting")).status_code == 200


def test_a_portal_taken_out_of_the_file_is_reported_kept_and_then_the_operators(declaring):
    ok(declaring, "clients", "sync")
    declare(declaring, PORTALS[:PORTALS.index('[[portals]]\nclient_id = "huisarts"')])
    expected = (f"portal huisarts: no longer declared in {declaring['IDP_CONFIG']}; kept (remove it with "
                "`idp clients remove huisarts`)")
    assert ok(declaring, "clients", "sync").splitlines() == ["portal reporting: unchanged", expected]
    assert ok_json(declaring, "clients", "show", "huisarts")["name"] == "Huisartsportaal"
    assert ok(declaring, "clients", "remove", "huisarts").strip() == "removed huisarts"
    assert ok(declaring, "clients", "sync").splitlines() == ["portal reporting: unchanged"]


def test_a_secret_file_others_can_read_stops_every_command_and_writes_nothing(declaring):
    (Path(declaring["IDP_CONFIG"]).parent / "huisarts.secret").chmod(0o644)
    before = row_counts(declaring["IDP_DATABASE_URL"])
    path = Path(declaring["IDP_CONFIG"]).parent / "huisarts.secret"
    assert refused(declaring, "clients", "sync") == (
        f"error: setting portals.huisarts.secret_file: {path} is open to group or others (mode 0644); it must be "
        f"owner-only: chmod 600 {path}")
    assert row_counts(declaring["IDP_DATABASE_URL"]) == before


def test_an_unknown_key_stops_every_command(declaring):
    declare(declaring, PORTALS.replace('mfa = "required"', 'mfa = "required"\nmfa_policy = "strict"'))
    assert refused(declaring, "clients", "list").startswith(
        "error: unknown setting portals.huisarts.mfa_policy (known: client_id, name, redirect_uris, ")


def test_two_syncs_at_once_on_an_empty_database_both_succeed(declaring):
    """Two servers started together both sync: one registers the portals, the other finds them registered."""
    processes = [subprocess.Popen([str(BIN / "idp"), "clients", "sync", "--json"], env={**clean_environ(), **declaring},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in processes]
    assert [code for code, _, _ in results] == [0, 0], results
    actions = sorted(c["action"] for _, out, _ in results for c in json.loads(out)["portals"])
    assert actions.count("add") == 2  # each portal registered once, by one of them
    listed = ok_json(declaring, "clients", "list")
    assert sorted(c["client_id"] for c in listed) == ["huisarts", "reporting"]


@pytest.mark.slow
def test_serve_syncs_before_its_workers_start(declaring, tmp_path, servers):
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    server = servers({**declaring, "IDP_SERVER_ISSUER": issuer},
                     ["serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"], tmp_path, port)
    assert server.wait_until_up().status_code == 200
    response = requests.post(issuer + "/token", data={"grant_type": "client_credentials"},
                             auth=("reporting", secret_of(declaring, "reporting")), timeout=10)
    assert response.status_code == 200, response.text
    server.stop()
    assert server.out.read_text().splitlines()[:2] == ["portal reporting: added", "portal huisarts: added"]


def test_serve_refuses_a_change_the_file_may_not_make(declaring):
    ok(declaring, "clients", "sync")
    declare(declaring, PORTALS.replace("service = true", 'redirect_uris = ["http://127.0.0.1:9003/callback"]'))
    line = refused(declaring, "serve", "--bind", f"127.0.0.1:{free_port()}")
    assert line.startswith("error: portal reporting: service cannot change on a registered portal")
    assert run(declaring, "clients", "show", "reporting").returncode == 0
