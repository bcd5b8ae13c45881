"""idp/openapi.yaml: valid OpenAPI 3.1, served as shipped at /openapi.yaml, and in step with the routes: every
operation it describes is a route of the app, and every route that answers JSON is described in it."""

from __future__ import annotations

import re

import schemathesis
import yaml
from werkzeug.exceptions import MethodNotAllowed, NotFound

from idp import resources

# The probe below sends no session, cookie or credentials: what answers JSON then is an API of the provider. The
# pages' own JSON (the live password rules, the data export download) needs a signed-in browser: not described.
JSON_TYPES = ("application/json", "application/scim+json")


def description() -> dict:
    return yaml.safe_load(resources.OPENAPI.read_text())


def operations() -> list[tuple[str, str]]:
    return [(path, method.upper()) for path, item in description()["paths"].items()
            for method in item if method in ("get", "put", "post", "delete", "patch")]


def test_the_description_is_valid_openapi_3_1():
    assert description()["openapi"] == "3.1.0"
    schema = schemathesis.openapi.from_path(resources.OPENAPI)
    schema.validate()  # against the OpenAPI 3.1 meta-schema; raises when invalid
    assert len(list(schema.get_all_operations())) == len(operations())  # every $ref resolves


def test_the_provider_serves_the_file_it_ships(client):
    response = client.get("/openapi.yaml")
    assert response.status_code == 200
    assert response.get_data() == resources.OPENAPI.read_bytes()
    assert response.mimetype == "application/yaml"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    again = client.get("/openapi.yaml", headers={"If-None-Match": response.headers["ETag"]})
    assert (again.status_code, again.get_data()) == (304, b"")


def test_every_described_operation_is_a_route(app):
    adapter = app.url_map.bind("localhost")
    missing = []
    for path, method in operations():
        try:
            adapter.match(re.sub(r"\{[^}]+\}", "x", path), method)
        except (NotFound, MethodNotAllowed):
            missing.append(f"{method} {path}")
    assert missing == []


def _probe_paths(app) -> list[tuple[str, str, str]]:
    """(rule, method, a concrete path) for every route of the app (a placeholder filled with 1)."""
    return [(rule.rule, method, re.sub(r"<[^>]+>", "1", rule.rule))
            for rule in app.url_map.iter_rules() if rule.endpoint != "static"
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


def test_every_route_that_answers_json_is_described(app, client):
    adapter = app.url_map.bind("localhost")
    described = {(adapter.match(re.sub(r"\{[^}]+\}", "x", path), method)[0], method) for path, method in operations()}
    answered_json = {}
    for rule, method, path in _probe_paths(app):
        if client.open(path, method=method).mimetype in JSON_TYPES:
            answered_json[adapter.match(path, method)[0], method] = f"{method} {rule}"
    assert [shown for key, shown in answered_json.items() if key not in described] == []
    # The probe does find the API: these answer JSON without credentials too.
    assert {("oidc.token", "POST"), ("oidc.userinfo", "GET"), ("scim.endpoint", "PATCH"),
            ("observability.live", "GET")} <= answered_json.keys()
