"""Two provider processes behind one load balancer (issue 17 part 7): real `idp serve` processes on two loopback
ports, sharing one PostgreSQL database and one Redis database, as two machines would.

Nothing a person does may depend on which instance answers: a sign-in started on one finishes on the other, and
wrong passwords and wrong codes count on both together. A key rotated elsewhere is served by both within
keys.refresh_seconds. PostgreSQL only (SQLite is one machine's file): skipped without IDP_TEST_DATABASE_URL and
IDP_TEST_REDIS_URL, a failure instead under CI=true, where they must be set.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import redis
import requests

from tests.conftest import TEST_ENCRYPTION_KEY, TEST_SECRET_KEY, _truncate_postgres
from tests.helpers import csrf_token, free_port, pkce_pair
from tests.unit.test_cli import BIN, clean_environ

PASSWORD = "correct horse battery"
WRONG = "not my password"
LOCKED = "This account is locked because a wrong password was entered too many times."
CODE_SPENT = "Too many wrong tries for this code. Ask for a new code."
REFRESH_SECONDS = 1  # keys.refresh_seconds for the test: a rotation elsewhere is seen within a second

pytestmark = pytest.mark.slow


def required(variable: str) -> str:
    value = os.environ.get(variable)
    if not value:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{variable} is not set, and CI must run the two-instance test on PostgreSQL and Redis")
        pytest.skip(f"two instances need PostgreSQL and Redis ({variable})")
    return value


@dataclass
class Instance:
    base: str
    process: subprocess.Popen
    log: Path


@dataclass
class Installation:
    env: dict[str, str]
    a: Instance
    b: Instance
    portal: dict
    mfa_portal: dict

    def idp(self, *args: str) -> str:
        done = subprocess.run([str(BIN / "idp"), *args], env=self.env, capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout


def start(env: dict[str, str], port: int, log: Path) -> Instance:
    with log.open("w") as out:
        process = subprocess.Popen([str(BIN / "idp"), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                                    "--threads", "4"], env=env, stdout=out, stderr=subprocess.STDOUT)
    return Instance(f"http://127.0.0.1:{port}", process, log)


def wait_until_up(instance: Instance) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if instance.process.poll() is not None:
            pytest.fail(f"idp serve exited with {instance.process.returncode}: {instance.log.read_text()}")
        try:
            if requests.get(instance.base + "/health/ready", timeout=(2, 10)).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.1)
    pytest.fail(f"idp serve did not come up: {instance.log.read_text()}")


def stop(instance: Instance) -> None:
    if instance.process.poll() is None:
        instance.process.send_signal(signal.SIGINT)
        try:
            instance.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            instance.process.kill()
            instance.process.wait()


@pytest.fixture(scope="module")
def installation(tmp_path_factory, request) -> Iterator[Installation]:
    """One installation for the module (starting it is most of the time): each test has a person of its own, and
    the key rotation comes last."""
    required("IDP_TEST_DATABASE_URL")
    redis_url = required("IDP_TEST_REDIS_URL")
    postgres_url = request.getfixturevalue("postgres_url")  # the schema, migrated once per run
    tmp_path = tmp_path_factory.mktemp("two-instances")
    _truncate_postgres(postgres_url)
    redis.Redis.from_url(redis_url).flushdb()  # the test's own Redis database: no counts of earlier tests
    port_a, port_b = free_port(), free_port()
    env = {
        **clean_environ(),
        "IDP_SERVER_DEV_MODE": "true",  # plain-http loopback; the SMS codes go to the shared instance folder
        "IDP_SERVER_ISSUER": f"http://127.0.0.1:{port_a}",  # one issuer: the load balancer's name
        "IDP_SERVER_SECRET_KEY": TEST_SECRET_KEY,
        "IDP_SERVER_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
        "IDP_SERVER_INSTANCE_PATH": str(tmp_path / "instance"),
        "IDP_DATABASE_URL": postgres_url,
        "IDP_REDIS_URL": redis_url,
        "IDP_PASSWORDS_BCRYPT_ROUNDS": "4",
        "IDP_KEYS_REFRESH_SECONDS": str(REFRESH_SECONDS),
    }
    setup = Installation(env, None, None, {}, {})  # type: ignore[arg-type]
    setup.idp("init")
    setup.portal = json.loads(setup.idp("clients", "add", "--name", "Patientenportaal", "--redirect-uri",
                                        "http://127.0.0.1:9013/callback", "--first-party", "--json"))
    setup.mfa_portal = json.loads(setup.idp("clients", "add", "--name", "Bestelportaal", "--redirect-uri",
                                            "http://127.0.0.1:9014/callback", "--first-party", "--mfa", "required",
                                            "--mfa-factor", "email", "--json"))
    for email in ("anna@example.org", "bob@example.org"):
        setup.idp("users", "add", "--email", email, "--password", PASSWORD)
    setup.idp("users", "add", "--email", "sam@example.org", "--password", PASSWORD, "--name", "Sam de Boer")
    a = b = None
    try:
        a = start(env, port_a, tmp_path / "a.log")
        b = start(env, port_b, tmp_path / "b.log")
        wait_until_up(a)
        wait_until_up(b)
        yield Installation(env, a, b, setup.portal, setup.mfa_portal)
    finally:
        for instance in (a, b):
            if instance is not None:
                stop(instance)
        _truncate_postgres(postgres_url)


class Person:
    """A browser: one cookie jar, which (as a browser's) sends the provider's cookies to either port."""

    def __init__(self, portal: dict):
        self.portal = portal
        self.session = requests.Session()
        self.session.headers["Accept-Language"] = "en"

    def start(self, at: Instance) -> str:
        """GET /authorize at one instance: the URL (on that instance) of the sign-in page it parks the request at."""
        self.verifier, challenge = pkce_pair()
        params = {"response_type": "code", "client_id": self.portal["client_id"], "scope": "openid",
                  "redirect_uri": self.portal["redirect_uris"][0], "state": "s1", "nonce": "n1",
                  "code_challenge": challenge, "code_challenge_method": "S256", "ui_locales": "en"}
        response = self.session.get(at.base + "/authorize", params=params, allow_redirects=False, timeout=10)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login/"), response.text
        return response.headers["Location"]

    def page(self, at: Instance, path: str) -> str:
        response = self.session.get(at.base + path, timeout=10)
        assert response.status_code == 200, response.text[-500:]
        return response.text

    def post(self, at: Instance, path: str, form_from: str, **data: str) -> requests.Response:
        return self.session.post(at.base + path, allow_redirects=False, timeout=30,
                                 data={"csrf_token": csrf_token(form_from), **data})

    def password(self, at: Instance, path: str, form_from: str, email: str, password: str) -> requests.Response:
        return self.post(at, path, form_from, stage="password", username=email, password=password)


def code_of(callback: str) -> str:
    query = parse_qs(urlparse(callback).query)
    assert query["state"] == ["s1"]
    return query["code"][0]


def test_a_sign_in_started_on_one_instance_finishes_on_the_other(installation):
    a, b, portal = installation.a, installation.b, installation.portal
    anna = Person(portal)
    login = anna.start(a)
    page = anna.page(a, login)  # the login page comes from a

    response = anna.password(b, login, page, "anna@example.org", PASSWORD)  # the password goes to b

    assert response.status_code == 302 and response.headers["Location"].startswith(portal["redirect_uris"][0] + "?")
    tokens = requests.post(a.base + "/token", auth=(portal["client_id"], portal["client_secret"]), timeout=10, data={
        "grant_type": "authorization_code", "code": code_of(response.headers["Location"]),
        "redirect_uri": portal["redirect_uris"][0], "code_verifier": anna.verifier})
    assert tokens.status_code == 200, tokens.text
    userinfo = requests.get(b.base + "/userinfo", timeout=10,
                            headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}).json()
    assert userinfo["sub"]
    # The code was spent on a: b refuses it too.
    again = requests.post(b.base + "/token", auth=(portal["client_id"], portal["client_secret"]), timeout=10, data={
        "grant_type": "authorization_code", "code": code_of(response.headers["Location"]),
        "redirect_uri": portal["redirect_uris"][0], "code_verifier": anna.verifier})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_wrong_passwords_on_both_instances_lock_the_account_together(installation):
    a, b = installation.a, installation.b
    bob = Person(installation.portal)
    login = bob.start(a)
    page = bob.page(a, login)
    for at in (a, b, a, b):  # four wrong passwords, spread over both: not locked yet (lockout.max_failures 5)
        refused = bob.password(at, login, page, "bob@example.org", WRONG)
        assert "Location" not in refused.headers and LOCKED not in refused.text
        page = refused.text
    bob.password(b, login, page, "bob@example.org", WRONG)  # the fifth

    for at in (a, b):  # now locked on both: the right password is refused everywhere
        refused = bob.password(at, login, page, "bob@example.org", PASSWORD)
        assert LOCKED in refused.text
        assert "Location" not in refused.headers
    assert json.loads(installation.idp("users", "unlock", "bob@example.org", "--json"))["unlocked"] is True


def test_wrong_codes_on_both_instances_use_up_the_code_together(installation):
    a, b = installation.a, installation.b
    sam = Person(installation.mfa_portal)
    login = sam.start(a)
    page = sam.page(a, login)
    response = sam.password(b, login, page, "sam@example.org", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == login  # on to the second step
    page = sam.page(b, login)
    assert "Set up a second step" in page  # the portal asks for one; sam has none yet: a code by e-mail
    page = sam.post(a, login, page, stage="enrol", action="choose:email").text
    code = newest_code(b)
    wrong = "".join(str((int(c) + 1) % 10) if c.isdigit() else chr((ord(c) - 64) % 26 + 65) for c in code)

    for at in (a, b, a, b, a):  # codes.max_attempts (5) wrong tries, spread over both
        response = sam.post(at, login, page, stage="enrol", action="confirm", code=wrong)
        assert "Location" not in response.headers
        page = response.text

    assert CODE_SPENT in page
    for at in (b, a):  # the right code no longer helps, on either instance
        refused = sam.post(at, login, page, stage="enrol", action="confirm", code=code)
        assert "Location" not in refused.headers and CODE_SPENT in refused.text


def newest_code(at: Instance) -> str:
    """The code of the newest message in the development inbox (sent after the sign-in's commit, by a thread)."""
    deadline = time.monotonic() + 30
    while True:
        inbox = requests.get(at.base + "/dev/inbox", timeout=10).text
        found = re.search(r"code is\s+([A-Z0-9]{6,10})\b", re.sub(r"<[^>]+>", " ", inbox))
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert found, inbox[-800:]
    return found.group(1)


def test_a_key_rotated_on_one_instance_is_served_by_the_other_within_the_refresh_interval(installation):
    a, b = installation.a, installation.b
    before = {key["kid"] for key in requests.get(b.base + "/jwks.json", timeout=10).json()["keys"]}

    out = installation.idp("keys", "rotate", "--alg", "RS256")  # a third process: the operator's
    new_kid = out.split()[1]
    assert new_kid not in before

    for instance in (b, a):
        deadline = time.monotonic() + 30 * REFRESH_SECONDS  # polled with a generous bound, not a timed assertion
        published: set[str] = set()
        while time.monotonic() < deadline:
            published = {key["kid"] for key in requests.get(instance.base + "/jwks.json", timeout=10).json()["keys"]}
            if new_kid in published:
                break
            time.sleep(0.2)
        assert published == before | {new_kid}, instance.base
