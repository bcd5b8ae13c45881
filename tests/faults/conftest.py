"""Outages injected through a proxy of our own (tests/faults/proxy.py): the shared PostgreSQL and Redis stay up."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

from tests.conftest import _truncate_postgres
from tests.faults.proxy import Proxy
from tests.unit.test_cli import servers  # noqa: F401 (the fixture that stops the `idp serve` processes a test starts)

REDIS = os.environ.get("IDP_TEST_REDIS_URL")


def proxy_to(url: str) -> Proxy:
    parts = urlsplit(url)
    return Proxy(parts.hostname or "127.0.0.1", parts.port or {"redis": 6379}.get(parts.scheme, 5432))


@pytest.fixture
def redis_proxy():
    if not REDIS:
        pytest.skip("IDP_TEST_REDIS_URL is not set")
    proxy = proxy_to(REDIS)
    yield proxy
    proxy.stop()


@pytest.fixture
def postgres(request):
    """The test PostgreSQL database, migrated and empty (a database outage is a PostgreSQL matter)."""
    if not os.environ.get("IDP_TEST_DATABASE_URL"):
        pytest.skip("IDP_TEST_DATABASE_URL is not set")
    url = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    return url
