"""A long outage of everything the provider depends on (issue 18 part 5): PostgreSQL, Redis, the SMTP relay and
the SMS gateway all down together for longer than two of `idp worker`'s longest waits (idp/outages.py), each
behind a proxy of our own. A person meanwhile sees a calm page; afterwards the provider and the worker carry on
by themselves: ready again, and what was queued delivered once, nothing dead. One test for all four (CI time)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, select

from idp import create_app, outages
from idp.extensions import db
from idp.messaging import send
from idp.models import OutboxMessage, User
from tests.conftest import base_settings
from tests.faults.conftest import REDIS, proxy_to
from tests.faults.proxy import Proxy
from tests.faults.test_readiness import (
    PASSWORD,
    SOMETHING_WENT_WRONG_NL,
    poll_ready,
    prepare,
    ready,
    server_env,
    sign_in_page,
    start,
    text,
)
from tests.faults.test_worker_outage import OUTAGE_LOGGED, RECOVERY_LOGGED, Worker, wait_for
from tests.helpers import csrf_token
from tests.messaging.conftest import delivered_bodies, gateway, smtp_server  # noqa: F401 (fixtures)

OUTAGE_SECONDS = 2 * outages.LONGEST_WAIT + 20  # the worker's waits reach 30 s after 31 s: two of them, and more
SMS_TEXT = "333333 is your sign-in code for Huisartsportaal, valid for 5 minutes. Never share it."


@pytest.mark.slow
def test_everything_down_for_minutes_and_back_by_itself(
        postgres, key_rows, gateway, smtp_server, tmp_path, servers):  # noqa: F811 (the fixtures)
    if not REDIS:
        pytest.skip("IDP_TEST_REDIS_URL is not set")
    database, cache = proxy_to(postgres), proxy_to(REDIS)
    smtp = Proxy("127.0.0.1", smtp_server.port)
    sms = Proxy("127.0.0.1", int(gateway.url.split(":")[2].split("/")[0]))
    proxies = (database, cache, smtp, sms)
    app = create_app(base_settings(tmp_path, postgres))  # the test's own way in: not through a proxy
    worker = None
    try:
        client_id = prepare(postgres, tmp_path, key_rows)
        env = {**server_env(tmp_path, database.url_for(postgres), cache.url_for(REDIS)),
               "IDP_MESSAGING_EMAIL_TRANSPORT": "smtp", "IDP_MESSAGING_SMTP_HOST": "127.0.0.1",
               "IDP_MESSAGING_SMTP_PORT": str(smtp.port), "IDP_MESSAGING_SMTP_SECURITY": "none",
               "IDP_MESSAGING_SMS_TRANSPORT": "http", "IDP_MESSAGING_HTTP_URL": sms.url_for(gateway.url)}
        server = start(servers, env, tmp_path)
        worker = Worker(env, tmp_path)
        browser, login = sign_in_page(server, client_id)
        sign_in = browser.get(login, timeout=30)
        reset = browser.get(server.base + "/reset", timeout=30)

        # The mail relay and the SMS gateway go first; a reset mail and a sign-in SMS are queued and tried once.
        smtp.cut()
        sms.cut()
        asked = browser.post(server.base + "/reset", timeout=30,
                             data={"csrf_token": csrf_token(reset.text), "email": "anna@example.org"})
        assert asked.status_code == 200, asked.text[-500:]
        with app.app_context():
            send("sms", "+31612345678", "login_code", user=db.session.scalar(select(User)), locale="en",
                 code="333333", minutes=5, portal="Huisartsportaal")
            db.session.commit()
        engine = create_engine(postgres)

        def rows() -> dict[str, tuple[str, int]]:
            with engine.connect() as conn:
                return {r.channel: (r.status, r.attempts) for r in conn.execute(select(OutboxMessage))}

        wait_for("a failed attempt at each", lambda: rows() == {"email": ("pending", 1), "sms": ("pending", 1)})

        # Then PostgreSQL and Redis: all four down together.
        database.cut()
        cache.cut()
        down_since = time.monotonic()
        assert set(poll_ready(server, 503)["failed"]) == {"database", "redis"}
        for refused in (
                browser.post(login, timeout=30, data={"csrf_token": csrf_token(sign_in.text), "stage": "password",
                                                      "username": "anna@example.org", "password": PASSWORD}),
                browser.post(server.base + "/reset", timeout=30,
                             data={"csrf_token": csrf_token(reset.text), "email": "anna@example.org"})):
            assert refused.status_code == 500
            assert SOMETHING_WENT_WRONG_NL in text(refused) and "Traceback" not in refused.text
        wait_for("the worker to notice", lambda: OUTAGE_LOGGED in worker.output())
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_since)))
        assert worker.process.poll() is None and server.process.poll() is None
        assert ready(server).status_code == 503

        for proxy in proxies:
            proxy.restore()
        assert poll_ready(server, 200)["status"] == "ok"
        # The worker's next pass comes at the end of its current wait (at most LONGEST_WAIT): each delivered once.
        wait_for("both messages sent", lambda: rows() == {"email": ("sent", 2), "sms": ("sent", 2)},
                 timeout=3 * outages.LONGEST_WAIT)
        assert [m["to"] for m in smtp_server.collector.messages] == [["anna@example.org"]]
        assert "/reset/" in smtp_server.collector.messages[0]["data"].decode()
        assert delivered_bodies(gateway) == [SMS_TEXT]
        assert RECOVERY_LOGGED in worker.output() and "Traceback" not in worker.output()
        # The provider takes the sign-in again, without a restart.
        sign_in = browser.get(login, timeout=30)
        done = browser.post(login, timeout=30, allow_redirects=False, data={
            "csrf_token": csrf_token(sign_in.text), "stage": "password", "username": "anna@example.org",
            "password": PASSWORD})
        assert done.status_code == 302 and done.headers["Location"].startswith("http://127.0.0.1:9/cb?code=")
        engine.dispose()
        assert worker.stop() == 0
    finally:
        if worker is not None:
            worker.stop()
        for proxy in proxies:
            proxy.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
