"""`idp clients add|update --access-token-format`: the real console script sets a portal's access token format
(opaque by default, or RFC 9068 jwt), `idp clients show` tells it, and the provider issues tokens accordingly."""

from __future__ import annotations

from tests.unit import test_cli
from tests.unit.test_cli import ok_json, run, token_with_secret
from tests.unit.test_cli_orgs import query

env = test_cli.env
fresh = test_cli.fresh
initialised = test_cli.initialised


def test_a_service_gets_jwt_access_tokens_and_back(env):
    added = ok_json(env, "clients", "add", "--name", "Declaratieservice", "--service", "--scope", "scim",
                    "--access-token-format", "jwt")
    assert added["access_token_format"] == "jwt"
    assert ok_json(env, "clients", "show", added["client_id"])["access_token_format"] == "jwt"
    assert query(env, "SELECT access_token_format FROM client WHERE client_id = :c", c=added["client_id"]) == [
        ("jwt",)]
    before = query(env, "SELECT count(*) FROM token")
    response = token_with_secret(env, added["client_id"], added["client_secret"])
    assert response.status_code == 200 and response.get_json()["access_token"].count(".") == 2
    assert query(env, "SELECT count(*) FROM token") == before  # no row for a JWT access token

    updated = ok_json(env, "clients", "update", added["client_id"], "--access-token-format", "opaque")
    assert updated["access_token_format"] == "opaque"
    assert "." not in token_with_secret(env, added["client_id"], added["client_secret"]).get_json()["access_token"]


def test_opaque_is_the_default_and_an_unknown_format_is_refused(env):
    added = ok_json(env, "clients", "add", "--name", "Huisarts", "--redirect-uri", "http://127.0.0.1:9001/cb")
    assert added["access_token_format"] == "opaque"
    result = run(env, "clients", "add", "--name", "X", "--redirect-uri", "http://127.0.0.1:9001/cb",
                 "--access-token-format", "paseto")
    assert result.returncode == 2 and "'paseto' is not one of 'opaque', 'jwt'" in result.stderr
    assert query(env, "SELECT client_id FROM client WHERE name = 'X'") == []
