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
    assert spec.pop("()") == "pythonjsonlogger.json.JsonFormatter"
    return JsonFormatter(**spec)


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
