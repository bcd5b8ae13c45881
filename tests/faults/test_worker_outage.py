"""`idp worker` through a PostgreSQL outage (issue 17 part 5): a real worker process, its database behind a proxy
that the test cuts. It must stay up, say so once, and deliver what was queued meanwhile when the database is back.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from idp import create_app
from idp.accounts.users import create_user
from idp.extensions import db
from idp.messaging import send
from idp.models import OutboxMessage
from tests.conftest import base_settings
from tests.faults.conftest import proxy_to
from tests.faults.proxy import HANG, REFUSE
from tests.messaging.conftest import delivered_bodies, gateway  # noqa: F401 (a fixture)
from tests.unit.test_cli import BIN, Running, clean_environ, dev_env

OUTAGE_LOGGED = "idp worker pass failed, retrying"
RECOVERY_LOGGED = "idp worker pass works again"


def wait_for(what: str, check, timeout: float = 60.0):
    """Poll `check` until it returns something true (no timed assertion: the timeout only ends a hung test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    pytest.fail(f"gave up waiting for {what}")


class Worker(Running):
    """A real `idp worker`, its output in worker.log; stopped like a server (SIGINT)."""

    def __init__(self, env: dict[str, str], folder: Path):
        self.log = folder / "worker.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen([str(BIN / "idp"), "worker", "--interval", "0.2"],
                                            env={**clean_environ(), **env}, cwd=folder, stdout=out,
                                            stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text()


@pytest.mark.slow
@pytest.mark.parametrize("mode", [REFUSE, HANG])
def test_the_worker_rides_out_a_database_outage_and_delivers_what_was_queued_meanwhile(
        mode, postgres, gateway, tmp_path):  # noqa: F811 (the gateway fixture)
    proxy = proxy_to(postgres)
    app = create_app(base_settings(tmp_path, postgres))  # the test's own way in: not through the proxy
    env = {**dev_env(tmp_path, proxy.url_for(postgres)), "IDP_LOGGING_FORMAT": "text",
           "IDP_MESSAGING_SMS_TRANSPORT": "http", "IDP_MESSAGING_HTTP_URL": gateway.url}
    worker = None
    try:
        with app.app_context():
            user = create_user("anna@example.org", "correct horse battery")
            db.session.commit()

            def queue(code: str) -> int:
                message = send("sms", "+31612345678", "login_code", user=user, locale="en", code=code, minutes=5,
                               portal="Huisartsportaal")
                db.session.commit()
                return message.id

            first = queue("111111")
            worker = Worker(env, tmp_path)
            wait_for("the first message sent and recorded", lambda: "deliveries: 1 sent" in worker.output())

            proxy.cut(mode)
            during = queue("222222")
            wait_for("the worker to notice the outage", lambda: OUTAGE_LOGGED in worker.output())
            time.sleep(2.5)  # the outage goes on: more failed passes, each backing off
            assert worker.process.poll() is None, worker.output()
            assert not any(b.startswith("222222") for b in delivered_bodies(gateway))

            proxy.restore()
            wait_for("the message queued during the outage",
                     lambda: any(b.startswith("222222") for b in delivered_bodies(gateway)))
            wait_for("the recovery in the log", lambda: RECOVERY_LOGGED in worker.output())
            assert worker.process.poll() is None, worker.output()

            db.session.expire_all()
            assert {m.id: (m.status, m.attempts) for m in OutboxMessage.query.all()} == {
                first: ("sent", 1), during: ("sent", 1)}
            assert delivered_bodies(gateway) == [
                f"{code} is your sign-in code for Huisartsportaal, valid for 5 minutes. Never share it."
                for code in ("111111", "222222")]
            output = worker.output()
            assert output.count(OUTAGE_LOGGED) == 1 and output.count(RECOVERY_LOGGED) == 1, output
            assert "Traceback" not in output
        assert worker.stop() == 0
    finally:
        if worker is not None:
            worker.stop()
        proxy.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
