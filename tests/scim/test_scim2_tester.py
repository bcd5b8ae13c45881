"""scim2-tester against the provider served for real (werkzeug on a free port, in a thread): every check that
applies to what /scim/v2/ServiceProviderConfig advertises passes.

Excluded, with the reason:
- Group creation and everything that starts from a created Group (crud on resource type Group): a Group is a
  portal role, which exists while someone holds it and is named by a role name (lowercase, starting with a
  letter); the tester's groups are random UUIDs, often starting with a digit, and may have no members. Groups
  have their own tests (tests/scim/test_groups.py), on roles people hold.
- Removing `active` (check_remove_attribute, that one attribute): the provider always knows whether an account
  may sign in, so a removed `active` leaves the account as it is (active=false disables, active=true enables)
  rather than making it "unassigned". Every other removable attribute is checked.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
from scim2_client import BaseSyncSCIMClient
from scim2_tester import Status, check_server
from werkzeug.serving import make_server

from tests.helpers import free_port
from tests.scim.conftest import token_for

GOOD = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings_overrides(port):
    return {"server": {"issuer": f"http://127.0.0.1:{port}"}}  # meta.location must be where the server is


class RequestsEngine(BaseSyncSCIMClient):
    """scim2-client over `requests` (a dependency already), the base URL and the bearer token fixed."""

    def __init__(self, base_url: str, token: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def _url(self, endpoint: str) -> str:
        return endpoint if endpoint.startswith("http") else self.base_url + endpoint

    def _stays_under_base_url(self, endpoint: str) -> bool:
        return self._url(endpoint).startswith(self.base_url + "/") or self._url(endpoint) == self.base_url

    def _parse_json(self, response: Any) -> Any:
        return response.json()

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        if "content" in kwargs:
            kwargs["data"] = kwargs.pop("content")
        return self.session.request(method, self._url(url), timeout=10, **kwargs)


@pytest.fixture
def served(app, port):
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


def test_every_check_that_applies_passes(served, client, make_portal, make_user):
    make_user("anna@example.org", roles=["professional"])
    service = make_portal("HR-systeem", service=True, redirect_uris=[], post_logout_redirect_uris=[], scopes=["scim"])
    engine = RequestsEngine(served + "/scim/v2", token_for(client, service))
    results = check_server(engine, resource_types=["User"])
    results += check_server(engine, resource_types=["Group"], include_tags={"discovery", "misc"})
    ran = [r for r in results if r.status is not Status.SKIPPED]
    failed = [(r.title, r.resource_type, r.status.name, r.reason) for r in ran if r.status not in GOOD]
    excluded = ("check_remove_attribute", "User", "ERROR", "Attribute 'active' was not removed")
    assert excluded in failed  # still the one excluded (see the top): when it passes, drop the exclusion
    failed.remove(excluded)
    assert failed == [], '\n'.join(map(str, failed))
    titles = {r.title for r in ran}
    assert len(ran) > 20, titles
    assert any(r.resource_type == "User" and "crud:delete" in r.tags for r in ran), titles
