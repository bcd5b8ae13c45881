"""The conformance suite's provider: one real server per database backend, shared by the suite's tests.

Each backend gets a database of its own (the server thread must not see another fixture truncate its
tables): a copy of nothing on SQLite, and a sibling database `<name>_conformance` on PostgreSQL.
"""

from __future__ import annotations

import pytest

from tests.conformance.browser import Browser
from tests.conformance.live import LiveProvider, provider_on_backend
from tests.conftest import BACKENDS


@pytest.fixture(scope="session", params=BACKENDS)
def provider(request, tmp_path_factory, logout_receiver) -> LiveProvider:
    with provider_on_backend(request.param, tmp_path_factory.mktemp(f"conformance-{request.param}"),
                             "conformance", logout_receiver) as live:
        yield live


@pytest.fixture
def browser(provider) -> Browser:
    """A fresh browser (own cookie jar) for each test: no SSO session leaks between stories."""
    return Browser(provider.issuer)


@pytest.fixture
def strict_rp(provider):
    """StrictRP for a registered portal by name: strict_rp("confidential", auth="post")."""
    from tests.conformance.strict_rp import StrictRP

    def make(name: str = "confidential", auth: str = "basic") -> StrictRP:
        return StrictRP(provider.issuer, provider.portals[name], auth)

    return make
