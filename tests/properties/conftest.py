"""Hypothesis profiles for the property tests, and a provider without a database for the pure functions.

The default profile runs 100 examples and no deadline (two shared cores: timing would only make tests flaky);
with the CI environment variable set the "ci" profile derandomizes, so a CI run is reproducible. A test that
uses a database fixture asks fewer examples itself (`DB_EXAMPLES`).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from idp import create_app
from idp.demo import with_demo_policies
from tests.conftest import base_settings

settings.register_profile("default", max_examples=100, deadline=None)
settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")

# Examples that share one test's database (the app fixture is per test, not per example): they must leave it as
# they found it or tolerate what earlier examples left, which each such test says how it does.
DB_EXAMPLES = settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                               HealthCheck.too_slow])


@pytest.fixture(scope="module")
def pure_app(tmp_path_factory):
    """The provider with the demo's password policies, in an app context, for functions that read settings or
    translate but never touch the database (which is never created)."""
    tmp = tmp_path_factory.mktemp("pure")
    app = create_app(with_demo_policies(base_settings(tmp, f"sqlite:///{tmp}/never-created.sqlite")))
    with app.test_request_context():
        yield app
