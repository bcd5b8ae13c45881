"""The conformance suite's provider: one real server per database backend, shared by the suite's tests.

Each backend gets a database of its own (the server thread must not see another fixture truncate its
tables): a copy of nothing on SQLite, and a sibling database `<name>_conformance` on PostgreSQL.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.conformance.browser import Browser
from tests.conformance.live import LiveProvider, LogoutReceiver, start_provider
from tests.conftest import BACKENDS


def _conformance_database(base_url: str, create: bool) -> str:
    """(Re)create, or drop, the sibling database `<name>_conformance` next to IDP_TEST_DATABASE_URL's."""
    url = make_url(base_url)
    name = f"{url.database}_conformance"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def logout_receiver():
    receiver = LogoutReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def provider(request, tmp_path_factory, logout_receiver) -> LiveProvider:
    tmp = tmp_path_factory.mktemp(f"conformance-{request.param}")
    postgres = os.environ.get("IDP_TEST_DATABASE_URL") if request.param == "postgresql" else None
    database_url = _conformance_database(postgres, create=True) if postgres else f"sqlite:///{tmp}/idp.sqlite"
    live, server = start_provider(tmp, database_url, logout_receiver)
    yield live
    server.stop()
    from idp.extensions import db

    with live.app.app_context():
        db.engine.dispose()
    if postgres:
        _conformance_database(postgres, create=False)


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
