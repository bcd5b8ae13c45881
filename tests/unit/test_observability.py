"""Observability in one process (issue 17 part 4): the request id, redaction, the health checks, the metrics and
their settings. tests/unit/test_observability_server.py does the same against `idp serve` (gunicorn)."""

from __future__ import annotations

import json
import logging
import re

import pytest
from prometheus_client import REGISTRY
from pythonjsonlogger.json import JsonFormatter

from idp import create_app, logs
from idp.settings import SettingsError, load
from tests.conftest import base_settings
from tests.helpers import RelyingParty, free_port

METRICS_TOKEN = "metrics-token-0123456789-abcdefghijklmnop"


class Captured(logging.Handler):
    """The JSON lines the production handler would write (its filter and formatter), kept in a list."""

    def __init__(self):
        super().__init__()
        self.addFilter(logs.Context())
        self.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s %(request_id)s"))
        self.lines: list[dict] = []

    def emit(self, record):
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def captured():
    handler = Captured()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(level)


def closed_port_url(scheme: str) -> str:
    return f"{scheme}://postgres@127.0.0.1:{free_port()}/nothing_here"


# --- redaction and the request id ------------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "secret"), [
    ("GET /activate/Qx7-linktoken_1 HTTP/1.1", "Qx7-linktoken_1"),
    ("POST /activate/Qx7-linktoken_1/rules", "Qx7-linktoken_1"),
    ("GET /reset/ResetTok3n", "ResetTok3n"),
    ("GET /register/RegTok3n?x=1", "RegTok3n"),
    ("GET /account/email/MailTok3n", "MailTok3n"),
    ("GET /cb?code=AuthCode123&state=s1", "AuthCode123"),
    ("GET /userinfo?access_token=at-secret", "at-secret"),
    ("GET /logout?id_token_hint=eyJhbGciOi.payload.sig&post_logout_redirect_uri=x", "eyJhbGciOi.payload.sig"),
    ("POST /token refresh_token=rt-secret&grant_type=refresh_token", "rt-secret"),
    ("POST /revoke token=tok-secret", "tok-secret"),
    ("client_secret=cs-secret&password=hunter2", "cs-secret"),
    ("client_secret=cs-secret&password=hunter2", "hunter2"),
    ("code_verifier=verifier-secret", "verifier-secret"),
])
def test_secrets_are_redacted_from_a_line(line, secret):
    cleaned = logs.redact(line)
    assert secret not in cleaned
    assert logs.REDACTED in cleaned


def test_what_is_not_a_secret_stays():
    line = "GET /authorize?response_type=code&state=s1&code_challenge=abc&nonce=n1 /reset/done /reset/phone /reset"
    assert logs.redact(line) == line


@pytest.mark.parametrize(("sent", "kept"), [
    ("proxy-7f3a.01:2", True),
    ("a" * 64, True),
    ("a" * 65, False),
    ("two words", False),
    ("x\r\nSet-Cookie: a=b", False),
    ("<script>", False),
    ("", False),
])
def test_a_request_id_from_the_caller_is_kept_only_when_short_and_safe(app, sent, kept):
    response = app.test_client().get("/health/live", environ_overrides={"HTTP_X_REQUEST_ID": sent} if sent else {})
    returned = response.headers["X-Request-Id"]
    if kept:
        assert returned == sent
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", returned)
    assert response.headers.getlist("X-Request-Id") == [returned]


def test_every_line_of_a_request_carries_its_id_and_no_secret(app, captured):
    broken = create_app(app.extensions["idp.settings"].replace(redis={"url": closed_port_url("redis")}))
    broken.config["TESTING"] = True
    response = broken.test_client().get("/health/ready?code=AuthCode123", headers={"X-Request-Id": "req-42"})
    assert response.status_code == 503
    lines = [line for line in captured if line["name"] == "idp.app"]
    assert lines, captured
    assert {line["request_id"] for line in lines} == {"req-42"}
    assert any("readiness check redis failed" in line["message"] for line in lines)
    logging.getLogger("idp.test").info("GET /activate/%s?token=%s", "LinkTok3n", "Tok3n")
    assert captured[-1]["message"] == "GET /activate/[redacted]?token=[redacted]"


# --- health ------------------------------------------------------------------------------------------------

def test_live_and_ready_when_everything_is_up(app):
    client = app.test_client()
    assert (client.get("/health/live").status_code, client.get("/health/live").get_json()) == (200, {"status": "ok"})
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "not configured",
                                                           "signing_keys": "ok"}}
    assert (client.get("/health").status_code, client.get("/health").get_json()) == (200, {"status": "ok"})


def test_a_database_that_does_not_answer_is_named_and_the_process_still_lives(tmp_path):
    broken = create_app(base_settings(tmp_path, closed_port_url("postgresql")))
    client = broken.test_client()
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["status"] == "unavailable"
    assert "database" in body["failed"] and "Connection refused" in body["failed"]["database"]
    assert "signing_keys" in body["failed"]  # they are read from the database it cannot reach
    assert "database" not in body["checks"]
    short = client.get("/health")
    assert short.status_code == 503 and set(short.get_json()["failed"]) == set(body["failed"])
    assert (client.get("/health/live").status_code, client.get("/health/live").get_json()) == (200, {"status": "ok"})


def test_a_redis_that_does_not_answer_is_named(app):
    broken = create_app(app.extensions["idp.settings"].replace(redis={"url": closed_port_url("redis")}))
    ready = broken.test_client().get("/health/ready")
    assert ready.status_code == 503
    body = ready.get_json()
    assert list(body["failed"]) == ["redis"]
    assert body["checks"] == {"database": "ok", "signing_keys": "ok"}


def test_a_worker_without_signing_keys_is_not_ready(app):
    from idp.extensions import db
    from idp.models import SigningKey

    db.session.query(SigningKey).delete()
    db.session.commit()
    app.extensions["idp.keys"].invalidate()
    body = app.test_client().get("/health/ready").get_json()
    assert list(body["failed"]) == ["signing_keys"] and "no active" in body["failed"]["signing_keys"]


# --- metrics ---------------------------------------------------------------------------------------------------

def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_are_off_unless_enabled(app):
    assert app.test_client().get("/metrics").status_code == 404


@pytest.mark.parametrize("settings_overrides", [{"metrics": {"enabled": True, "token": METRICS_TOKEN}}])
def test_metrics_need_the_bearer_token(app):
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": METRICS_TOKEN},
                    {"Authorization": f"Bearer {METRICS_TOKEN}x"}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401 and b"idp_" not in refused.data
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200 and scraped.mimetype == "text/plain"
    assert "idp_outbox_pending 0.0" in scraped.get_data(as_text=True)


@pytest.mark.parametrize("settings_overrides", [{"metrics": {"enabled": True, "token": METRICS_TOKEN}}])
def test_counters_move_after_a_sign_in_and_a_token_request(app, client, user, make_portal):
    before = {
        "ok": sample("idp_sign_ins_total", factor="password", outcome="success"),
        "wrong": sample("idp_sign_ins_total", factor="password", outcome="failure"),
        "session": sample("idp_sign_ins_total", factor="session", outcome="success"),
        "code": sample("idp_tokens_issued_total", grant_type="authorization_code"),
        "refresh": sample("idp_tokens_issued_total", grant_type="refresh_token"),
        "latency": sample("idp_request_duration_seconds_count", endpoint="/token", method="POST"),
    }
    rp = RelyingParty(client, make_portal("Huisarts", mfa="off"))
    login = rp.authorize().location
    assert rp.submit_password(login, "anna@example.org", "wrong password").status_code == 200
    tokens = rp.exchange(rp.sign_in("anna@example.org", "correct horse battery")["code"]).get_json()
    refreshed = rp.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()

    assert sample("idp_sign_ins_total", factor="password", outcome="success") == before["ok"] + 1
    assert sample("idp_sign_ins_total", factor="password", outcome="failure") == before["wrong"] + 1
    assert sample("idp_sign_ins_total", factor="session", outcome="success") == before["session"] + 1
    assert sample("idp_tokens_issued_total", grant_type="authorization_code") == before["code"] + 1
    assert sample("idp_tokens_issued_total", grant_type="refresh_token") == before["refresh"] + 1
    assert sample("idp_request_duration_seconds_count", endpoint="/token", method="POST") == before["latency"] + 2

    text = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).get_data(True)
    assert 'idp_tokens_issued_total{grant_type="authorization_code"}' in text
    assert 'idp_sign_ins_total{factor="password",outcome="success"}' in text


def test_a_rolled_back_step_counts_nothing(app, user):
    from idp.audit import EventTag, record
    from idp.extensions import db

    before = sample("idp_sign_ins_total", factor="password", outcome="success")
    record(EventTag.LOGIN_PASSWORD_SUCCESS, user_id=user.id)
    db.session.rollback()
    assert sample("idp_sign_ins_total", factor="password", outcome="success") == before
    record(EventTag.LOGIN_PASSWORD_SUCCESS, user_id=user.id)
    db.session.commit()
    assert sample("idp_sign_ins_total", factor="password", outcome="success") == before + 1


# --- settings --------------------------------------------------------------------------------------------------

PRODUCTION = {
    "IDP_SERVER_ISSUER": "https://idp.example.org",
    "IDP_SERVER_SECRET_KEY": "production-secret-key-0123456789-abcdefghijklmn",
    "IDP_SERVER_ENCRYPTION_KEY": "production-encryption-key-0123456789-abcdefghij",
    "IDP_MESSAGING_EMAIL_TRANSPORT": "smtp",
    "IDP_MESSAGING_SMS_TRANSPORT": "console",
}


def test_logs_are_text_in_dev_mode_and_json_outside_it(tmp_path):
    assert base_settings(tmp_path, "sqlite://").logging.format == "text"
    assert load(environ=PRODUCTION).logging.format == "json"
    assert load(environ={**PRODUCTION, "IDP_LOGGING_FORMAT": "text"}).logging.format == "text"
    assert load(environ={**PRODUCTION, "IDP_LOGGING_LEVEL": "debug"}).logging.level == "DEBUG"


@pytest.mark.parametrize(("extra", "message"), [
    ({"IDP_LOGGING_FORMAT": "xml"}, "setting logging.format: must be json or text, got 'xml'"),
    ({"IDP_LOGGING_LEVEL": "loud"}, "setting logging.level: must be DEBUG, INFO, WARNING or ERROR, got 'LOUD'"),
    ({"IDP_METRICS_ENABLED": "true"}, "setting metrics.token: required when metrics.enabled"),
    ({"IDP_METRICS_ENABLED": "true", "IDP_METRICS_TOKEN": "short"}, "setting metrics.token: required when"),
])
def test_bad_observability_settings_are_one_line(extra, message):
    with pytest.raises(SettingsError) as refused:
        load(environ={**PRODUCTION, **extra})
    assert refused.value.message.startswith(message)


@pytest.mark.parametrize("fmt", [logs.JSON, logs.TEXT])
def test_a_lines_time_is_utc_with_its_offset_whatever_the_machines_zone(fmt, monkeypatch):
    """OWASP ASVS 5.0 16.2.2: log times in UTC (or with an offset); here the machine's zone is Amsterdam's."""
    import time

    monkeypatch.setenv("TZ", "Europe/Amsterdam")
    time.tzset()
    try:
        config = logs.config(fmt)["formatters"]["main"]
        factory = config.pop("()")
        formatter = factory(**config)
        record = logging.LogRecord("idp.test", logging.INFO, __file__, 1, "hello", None, None)
        record.created = 1_800_000_000.25  # 2027-01-15T08:00:00.250 UTC, 09:00 in Amsterdam
        record.request_id = "-"
        line = formatter.format(record)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    stamp = json.loads(line)["time"] if fmt == logs.JSON else line.split(" ")[0]
    assert stamp == "2027-01-15T08:00:00.250+00:00"
