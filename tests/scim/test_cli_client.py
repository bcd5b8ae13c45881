"""`idp clients add --service --scope scim [--organisation CODE]`: the real console script registers a SCIM
client, limited to one organisation or not; what is refused registers nothing."""

from __future__ import annotations

from tests.unit import test_cli
from tests.unit.test_cli import ok_json, refused
from tests.unit.test_cli_orgs import query

env = test_cli.env
fresh = test_cli.fresh
initialised = test_cli.initialised


def test_a_scim_client_for_one_organisation(env):
    org = ok_json(env, "orgs", "add", "--name", "Zorggroep Avondrood", "--kind", "care_provider", "--code", "avondrood")
    added = ok_json(env, "clients", "add", "--name", "HR Avondrood", "--service", "--scope", "scim",
                    "--organisation", "avondrood")
    assert (added["scope"], added["organisation"], added["grant_types"]) == (
        "scim", "avondrood", ["client_credentials"])
    assert added["client_secret"]
    assert query(env, "SELECT scope, organisation_id FROM client WHERE client_id = :c", c=added["client_id"]) == [
        ("scim", org["id"])]
    everyone = ok_json(env, "clients", "add", "--name", "HR concern", "--service", "--scope", "scim")
    assert (everyone["scope"], everyone["organisation"]) == ("scim", None)


def test_refused_scim_clients_are_not_registered(env):
    ok_json(env, "orgs", "add", "--name", "Zorggroep Avondrood", "--kind", "care_provider", "--code", "avondrood")
    assert refused(env, "clients", "add", "--name", "HR", "--service", "--organisation", "avondrood") == (
        "error: an --organisation limits a SCIM client: give --scope scim too")
    assert refused(env, "clients", "add", "--name", "HR", "--service", "--scope", "scim", "--organisation",
                   "elders") == "error: no organisation 'elders'"
    assert refused(env, "clients", "add", "--name", "HR", "--redirect-uri", "https://hr.example/cb", "--scope",
                   "scim").startswith("error: only a service client (--service) is given a --scope")
    assert query(env, "SELECT client_id FROM client WHERE name = 'HR'") == []
