"""Schemathesis against the running provider: every operation of idp/openapi.yaml with generated requests, valid
and invalid, carrying the credentials its real caller holds. No answer is a 500, and every answer (an error
above all) has a status code, content type and body its description names (RFC 6749 §5.2, RFC 6750 §3,
RFC 7009, RFC 7662, RFC 7644 §3.12).

Bounded: a few dozen examples per operation, no shrinking, derandomized under CI (the same examples every run).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from idp import resources

SCHEMA = schemathesis.openapi.from_path(resources.OPENAPI)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.mark.slow
@SCHEMA.parametrize()
@settings(max_examples=25, deadline=None, database=None, derandomize=bool(os.environ.get("CI")),
          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
def test_every_answer_is_described(case, callers):
    response = case.call(base_url=callers.base, headers=callers.headers_for(case.operation.path), timeout=30)
    case.validate_response(response, checks=CHECKS)


# The operations that need credentials (all but the public documents, the health checks and SCIM's
# ServiceProviderConfig): refused without them, every refusal as described (RFC 6749 §5.2, RFC 6750 §3, RFC 7644).
GUARDED = SCHEMA.include(path_regex="^/(token|revoke|introspect|userinfo|scim/v2)").exclude(
    path="/scim/v2/ServiceProviderConfig")


@pytest.mark.slow
@pytest.mark.parametrize("callers", ["sqlite"], indirect=True)  # refused before any query: one backend is enough
@GUARDED.parametrize()
@settings(max_examples=5, deadline=None, database=None, derandomize=bool(os.environ.get("CI")),
          phases=[Phase.generate], suppress_health_check=list(HealthCheck))
def test_every_refusal_is_described(case, callers):
    for headers in callers.refused_headers_for(case.operation.path):
        response = case.call(base_url=callers.base, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS)
        # Refused; or Flask's own answer to OPTIONS (the Allow header, no body), which schemathesis also sends.
        refused = response.status_code >= 400 or (case.method == "OPTIONS" and response.content == b"")
        assert refused, (case.method, response.status_code, response.text[:200])
