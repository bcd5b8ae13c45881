"""Outages injected through a proxy of our own (tests/faults/proxy.py): the shared PostgreSQL and Redis stay up."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

from tests.faults.proxy import Proxy

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
