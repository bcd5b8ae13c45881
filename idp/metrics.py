"""Prometheus metrics (prometheus-client). The counters move from the audit trail (idp.audit.record hands each
event here once its transaction has committed), so sign-ins, codes and tokens are counted in one place.

Under gunicorn (`idp serve` with metrics enabled) PROMETHEUS_MULTIPROC_DIR is set before any worker starts, so
every worker writes its values to files there and a scrape of any worker adds them all up (prometheus-client's
multiprocess mode); the outbox gauges are read from the database at the scrape itself. No Flask here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

SIGN_INS = Counter("idp_sign_ins", "Sign-in steps checked, by factor and outcome", ["factor", "outcome"])
TOKENS = Counter("idp_tokens_issued", "Tokens issued at the token endpoint, by grant type", ["grant_type"])
CODES = Counter("idp_codes_sent", "One-time sign-in codes queued for sending, by channel", ["channel"])
LATENCY = Histogram("idp_request_duration_seconds", "Time to answer a request, by endpoint", ["endpoint", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))

# Audit tags (their string values, so this module needs nothing above it) and the sign-in factor they check.
_FACTOR_TAGS = {
    "login:password:success": "password",
    "login:password:failure": "password",
    "mfa:recovery:used": "recovery_code",
    "mfa:device:used": "trusted_device",
}
_CODE_CHECKS = {"mfa:code:accepted", "mfa:code:rejected"}
_COMPLETED = "login:session:started"


def count(events: Iterable[tuple[str, str, Mapping[str, Any]]]) -> None:
    """Count committed audit events: (tag, outcome, details)."""
    for tag, outcome, details in events:
        if tag in _FACTOR_TAGS:
            SIGN_INS.labels(_FACTOR_TAGS[tag], outcome).inc()
        elif tag in _CODE_CHECKS:
            SIGN_INS.labels(str(details.get("factor") or "code"), outcome).inc()
        elif tag == _COMPLETED:
            SIGN_INS.labels("session", outcome).inc()  # a sign-in completed: the session started
        elif tag == "mfa:code:sent":
            CODES.labels(str(details.get("factor") or "unknown")).inc()
        elif tag == "token:issued":
            TOKENS.labels(str(details.get("grant_type") or "unknown")).inc()


def observe_request(endpoint: str, method: str, seconds: float) -> None:
    LATENCY.labels(endpoint, method).observe(seconds)


class _Outbox(Collector):
    def __init__(self, depth: int, oldest_age: float):
        self.depth, self.oldest_age = depth, oldest_age

    def collect(self) -> Iterable[GaugeMetricFamily]:
        yield GaugeMetricFamily("idp_outbox_pending", "Messages waiting in the delivery queue", value=self.depth)
        yield GaugeMetricFamily("idp_outbox_oldest_pending_age_seconds",
                                "Age of the oldest message waiting in the delivery queue (0: none)",
                                value=self.oldest_age)


class _Default(Collector):
    def collect(self) -> Iterable[Any]:
        yield from REGISTRY.collect()


def exposition(outbox_depth: int, outbox_oldest_age: float) -> tuple[bytes, str]:
    """The text a scrape gets: every process's counters (multiprocess mode under gunicorn) and the outbox gauges."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_DIR):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Default())
    registry.register(_Outbox(outbox_depth, outbox_oldest_age))
    return generate_latest(registry), CONTENT_TYPE_LATEST


def process_exited(pid: int) -> None:
    """gunicorn's child_exit hook: drop a dead worker's live gauges (its counters are kept)."""
    if os.environ.get(MULTIPROC_DIR):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
