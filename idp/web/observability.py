"""What operators and their machines ask: is the process up (/health/live), can it serve (/health/ready, and
/health as its short form), and the Prometheus metrics (/metrics, only when enabled, behind a bearer token)."""

from __future__ import annotations

import hmac
import time

import redis
from flask import Blueprint, Flask, Response, abort, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select, text

from idp import clock, metrics
from idp.extensions import csrf, db
from idp.models.outbox import OutboxMessage

bp = Blueprint("observability", __name__)
csrf.exempt(bp)

OK = "ok"
SKIPPED = "not configured"


def _database() -> str:
    db.session.execute(text("SELECT 1")).scalar_one()
    return OK


def _redis() -> str:
    url = current_app.extensions["idp.settings"].redis.url
    if not url:
        return SKIPPED
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return OK


def _signing_keys() -> str:
    keys = current_app.extensions["idp.keys"]
    for alg in ("RS256", "ES256"):
        keys.signing_key(alg)  # raises when this worker holds no active key of the algorithm
    return OK


CHECKS = (("database", _database), ("redis", _redis), ("signing_keys", _signing_keys))


def readiness() -> tuple[dict[str, str], dict[str, str]]:
    """(passed, failed): each check's result, or for a failed one what went wrong (one line)."""
    passed, failed = {}, {}
    for name, check in CHECKS:
        try:
            passed[name] = check()
        except Exception as exc:  # noqa: BLE001 (any failure of a dependency means not ready; named in the body)
            failed[name] = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            current_app.logger.warning("readiness check %s failed: %s", name, failed[name])
            if name == "database":
                db.session.rollback()
    db.session.remove()
    return passed, failed


@bp.get("/health/live")
def live() -> Response:
    """The process answers: a supervisor restarts it when this fails."""
    return jsonify(status=OK)


@bp.get("/health/ready")
def ready() -> ResponseReturnValue:
    """The database answers a query, Redis (when configured) a PING, and this worker holds its signing keys;
    else 503 naming what failed (a load balancer sends no traffic here meanwhile)."""
    passed, failed = readiness()
    if failed:
        return jsonify(status="unavailable", failed=failed, checks=passed), 503
    return jsonify(status=OK, checks=passed)


@bp.get("/health")
def health() -> ResponseReturnValue:
    """/health/ready in short: {"status": "ok"}, or 503 naming what failed."""
    _passed, failed = readiness()
    if failed:
        return jsonify(status="unavailable", failed=failed), 503
    return jsonify(status=OK)


@bp.get("/metrics")
def scrape() -> Response:
    settings = current_app.extensions["idp.settings"].metrics
    if not settings.enabled:
        abort(404)
    sent = request.headers.get("Authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {settings.token}".encode()):
        response = jsonify(error="a bearer token is required (setting metrics.token)")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    depth, oldest = db.session.execute(select(func.count(OutboxMessage.id), func.min(OutboxMessage.created_at))
                                       .where(OutboxMessage.status == "pending")).one()
    age = max(0.0, (clock.now() - clock.aware(oldest)).total_seconds()) if oldest is not None else 0.0
    body, content_type = metrics.exposition(depth, age)
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})


def _start() -> None:
    g.observability_started = time.perf_counter()


def _finish(response: Response) -> Response:
    started = g.pop("observability_started", None)
    if started is not None:
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.observe_request(endpoint, request.method, time.perf_counter() - started)
    return response


def install(app: Flask) -> None:
    """Time every request for the latency histogram (by route pattern: link tokens never become labels)."""
    app.before_request(_start)
    app.after_request(_finish)
