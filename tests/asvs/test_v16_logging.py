"""OWASP ASVS 5.0 V16: a log line cannot be forged from what a person types (16.4.1), an unexpected error is
logged with its traceback while the person sees none (16.3.4, 16.5.1), a refused console action is logged
(16.3.2) (issue 18 part 2)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import select

from idp import clock, logs, sessions
from idp.extensions import db
from idp.models import SsoSession, User
from idp.runtime import settings
from tests.flows.admin_helpers import make_world
from tests.helpers import browser


def production_formatter() -> logging.Formatter:
    """The formatter of the production handler (logging.format = json), built from idp.logs' own config."""
    spec = dict(logs.config(logs.JSON)["formatters"]["main"])
    factory = spec.pop("()")
    assert issubclass(factory, JsonFormatter)
    formatter: logging.Formatter = factory(**spec)
    return formatter


def test_a_typed_name_with_newlines_and_json_stays_inside_one_log_line():
    forged = 'anna\n{"time": "2026-01-01", "level": "INFO", "message": "admin signed in"}\r\x1b[2J'
    record = logging.LogRecord("idp.app", logging.WARNING, __file__, 1, "sign-in refused for %s", (forged,), None)
    logs.Context().filter(record)

    line = production_formatter().format(record)

    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    parsed = json.loads(line)
    assert parsed["message"] == f"sign-in refused for {forged}"
    assert parsed["level"] == "WARNING" and parsed["logger"] == "idp.app"


def test_an_unexpected_error_is_logged_with_its_traceback_and_the_person_sees_none(app, client, caplog):
    def fail():
        raise RuntimeError("database password hunter2 in the traceback")

    app.add_url_rule("/asvs/broken", "asvs_broken", fail)

    with caplog.at_level(logging.ERROR):
        response = client.get("/asvs/broken")

    assert response.status_code == 500
    assert "hunter2" not in response.get_data(as_text=True)
    [record] = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)



def console_browser(app, person: User):
    """A browser whose session proved a second factor a minute ago (what the console asks), no sign-in pages."""
    mfa = settings().mfa
    _session, token = sessions.start(person, amr=["pwd", "sms", "mfa"], acr=mfa.acr_mfa,
                                     auth_time=clock.now() - timedelta(minutes=1))
    db.session.commit()
    client = browser(app)
    client.set_cookie(sessions.cookie_name(False), token)
    return client


def test_a_console_action_the_role_may_not_take_is_refused_and_logged(app, caplog):
    world = make_world()
    helpdesk, pro = world["helpdesk"], world["pro"]
    client = console_browser(app, helpdesk)

    with caplog.at_level(logging.INFO, logger=app.logger.name):
        response = client.get(f"/admin/people/{pro.sub}/disable")

    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(User, pro.id).disabled_at is None
    refused = [r.getMessage() for r in caplog.records if r.getMessage().startswith("admin console refused")]
    assert len(refused) == 1
    assert db.session.scalars(select(SsoSession).where(SsoSession.user_id == helpdesk.id)).one().ended_at is None


# --- 16.3.2 and 16.3.3: refusals by a security control leave a line on the idp.security logger ------------

def refusals(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logs.SECURITY_LOGGER and r.levelno == logging.WARNING]


def test_a_refused_csrf_token_is_logged_and_changes_nothing(app, client, caplog):
    with caplog.at_level(logging.WARNING, logger=logs.SECURITY_LOGGER):
        response = client.post("/reset", data={"csrf_token": "forged", "email": "anna@example.org"})
    assert response.status_code == 400
    [line] = refusals(caplog)
    assert line.startswith("refused: csrf method=POST path=/reset reason=")


def test_a_control_character_is_refused_and_logged(app, client, caplog):
    with caplog.at_level(logging.WARNING, logger=logs.SECURITY_LOGGER):
        client.get("/authorize?client_id=a%00b")
    assert refusals(caplog) == ["refused: control characters method=GET path=/authorize status=400"]


def test_a_wrong_client_secret_is_logged_with_the_client_id_and_never_the_secret(app, client, portal, caplog):
    with caplog.at_level(logging.WARNING, logger=logs.SECURITY_LOGGER):
        response = client.post("/token", data={"grant_type": "client_credentials", "client_id": portal.client_id,
                                               "client_secret": "guessed-secret-123"})
    assert response.get_json()["error"] == "invalid_client"
    [line] = refusals(caplog)
    assert line == f"refused: client authentication endpoint=token client_id={portal.client_id!r}"
    assert "guessed-secret-123" not in caplog.text


def test_a_refused_bearer_token_is_logged_at_userinfo_and_scim(app, client, caplog):
    with caplog.at_level(logging.WARNING, logger=logs.SECURITY_LOGGER):
        userinfo = client.get("/userinfo", headers={"Authorization": "Bearer not-a-token-we-issued"})
        scim = client.get("/scim/v2/Users", headers={"Authorization": "Bearer not-a-token-we-issued"})
    assert userinfo.status_code == 401 and 'error="invalid_token"' in userinfo.headers["WWW-Authenticate"]
    assert scim.status_code == 401
    assert refusals(caplog) == ["refused: bearer token path=/userinfo", "refused: bearer token path=/scim/v2"]
    assert "not-a-token-we-issued" not in caplog.text


def test_a_signed_in_person_without_an_admin_role_gets_403_and_a_line(app, user, caplog):
    client = console_browser(app, user)
    with caplog.at_level(logging.WARNING, logger=logs.SECURITY_LOGGER):
        response = client.get("/admin/people")
    assert response.status_code == 403
    assert "Zoek" not in response.get_data(as_text=True)
    assert refusals(caplog) == ["refused: forbidden method=GET path=/admin/people status=403"]
