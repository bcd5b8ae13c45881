"""/health/ready of a real `idp serve` through outages (issue 17 part 5): not ready while PostgreSQL or Redis is
unreachable (also when it hangs: connect timeouts, so the check answers), ready again by itself afterwards; a
person meanwhile sees a calm page, and nothing is half-written. gunicorn opens no control socket that instances
on one host would share."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from sqlalchemy import create_engine, func, select

from idp import create_app
from idp.accounts.users import create_user
from idp.extensions import db
from idp.models import AuditEvent, LoginFailure, SigningKey
from idp.portals.registry import register
from tests.conftest import base_settings
from tests.faults.conftest import REDIS, proxy_to
from tests.faults.proxy import HANG, REFUSE
from tests.helpers import csrf_token, free_port
from tests.unit.test_cli import Running, dev_env

PASSWORD = "correct horse battery"
SOMETHING_WENT_WRONG_NL = "Er ging iets mis"
NOT_CORRECT_NL = "Het e-mailadres of wachtwoord is niet juist."


def server_env(tmp_path: Path, database_url: str, redis_url: str) -> dict[str, str]:
    """Settings for `idp serve`, with a home and a runtime folder of the test's own: gunicorn would put its
    control socket in one of them."""
    home, runtime = tmp_path / "home", tmp_path / "run"
    home.mkdir(exist_ok=True)
    runtime.mkdir(exist_ok=True)
    return {**dev_env(tmp_path, database_url), "IDP_REDIS_URL": redis_url, "HOME": str(home),
            "XDG_RUNTIME_DIR": str(runtime), "IDP_LOGGING_FORMAT": "text"}


def launch(env: dict[str, str], tmp_path: Path) -> tuple:
    """The arguments of `servers` for `idp serve` with one worker on a free port."""
    port = free_port()
    return ({**env, "IDP_SERVER_ISSUER": f"http://127.0.0.1:{port}"},
            ["serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"], tmp_path, port)


def start(servers, env: dict[str, str], tmp_path: Path) -> Running:
    server = servers(*launch(env, tmp_path))
    assert server.wait_until_up().status_code == 200
    return server


def ready(server: Running) -> requests.Response:
    return requests.get(server.base + "/health/ready", timeout=30)  # the check answers by itself, well before


def poll_ready(server: Running, status: int) -> dict:
    for _ in range(300):
        response = ready(server)
        if response.status_code == status:
            return response.json()
    pytest.fail(f"/health/ready never answered {status}")


def no_control_socket(env: dict[str, str]) -> None:
    for folder in (env["HOME"], env["XDG_RUNTIME_DIR"]):
        assert list(Path(folder).rglob("*")) == [], folder


def sign_in_page(server: Running, client_id: str) -> tuple[requests.Session, str]:
    browser = requests.Session()
    response = browser.get(server.base + "/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": "http://127.0.0.1:9/cb",
        "scope": "openid", "state": "s", "nonce": "n", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256"}), allow_redirects=False, timeout=30)
    assert response.status_code == 302, response.text
    return browser, server.base + response.headers["Location"]


def text(response: requests.Response) -> str:
    return re.sub(r"\s+", " ", response.text)


def prepare(database_url: str, tmp_path: Path, key_rows) -> str:
    """What `idp init`, `clients add` and `users add` would leave (without their start-up times): the signing keys,
    a portal and Anna. Returns the portal's client_id."""
    app = create_app(base_settings(tmp_path, database_url))
    with app.app_context():
        for row in key_rows:
            db.session.add(SigningKey(**row))
        client_id = register("Huisarts", ["http://127.0.0.1:9/cb"], first_party=True).client.client_id
        create_user("anna@example.org", PASSWORD)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return client_id


@pytest.mark.slow
def test_ready_follows_postgresql_and_a_sign_in_meanwhile_writes_nothing(postgres, key_rows, tmp_path, servers):
    database = proxy_to(postgres)
    cache = proxy_to(REDIS) if REDIS else None
    try:
        client_id = prepare(postgres, tmp_path, key_rows)
        env = server_env(tmp_path, database.url_for(postgres), cache.url_for(REDIS) if cache else "")
        server = start(servers, env, tmp_path)
        assert ready(server).json()["status"] == "ok"
        browser, login = sign_in_page(server, client_id)
        page = browser.get(login, timeout=30)
        engine = create_engine(postgres)  # the test looks at the database directly, not through the proxy

        def written() -> tuple[int, int]:
            with engine.connect() as conn:
                return (conn.scalar(select(func.count()).select_from(AuditEvent)),
                        conn.scalar(select(func.count()).select_from(LoginFailure)))

        before = written()
        for mode in (REFUSE, HANG):  # hanging: the connect timeout gives up, so the check still answers
            database.cut(mode)
            body = poll_ready(server, 503)
            assert set(body["failed"]) == {"database"}, body
            if mode == REFUSE:
                # The person typing a wrong password meanwhile sees a calm page; nothing of the attempt is kept.
                refused = browser.post(login, data={"csrf_token": csrf_token(page.text), "stage": "password",
                                                    "username": "anna@example.org", "password": "wrong"}, timeout=30)
                assert refused.status_code == 500
                assert SOMETHING_WENT_WRONG_NL in text(refused) and "Traceback" not in refused.text
            database.restore()
            assert poll_ready(server, 200)["status"] == "ok"
            assert written() == before
        # Back: the same sign-in page takes the wrong password, and the lockout counts it.
        page = browser.get(login, timeout=30)
        counted = browser.post(login, data={"csrf_token": csrf_token(page.text), "stage": "password",
                                            "username": "anna@example.org", "password": "wrong"}, timeout=30)
        assert NOT_CORRECT_NL in text(counted)
        assert written()[1] == before[1] + 1
        engine.dispose()
        no_control_socket(env)
    finally:
        database.stop()
        if cache is not None:
            cache.stop()


@pytest.mark.slow
def test_ready_follows_redis_and_gunicorn_leaves_nothing_in_home(sqlite_template, key_rows, redis_proxy, tmp_path,
                                                                   servers):
    shutil.copy(sqlite_template, tmp_path / "idp.sqlite")
    url = f"sqlite:///{tmp_path}/idp.sqlite"
    prepare(url, tmp_path, key_rows)
    env = server_env(tmp_path, url, redis_proxy.url_for(REDIS))
    server = start(servers, env, tmp_path)
    for mode in (REFUSE, HANG):  # hanging: the PING gives up after its timeout, so the check still answers
        redis_proxy.cut(mode)
        body = poll_ready(server, 503)
        assert set(body["failed"]) == {"redis"}, body
        assert body["checks"] == {"database": "ok", "signing_keys": "ok"}
        redis_proxy.restore()
        assert poll_ready(server, 200)["checks"] == {"database": "ok", "redis": "ok", "signing_keys": "ok"}
    # No control socket (gunicorn 25.1+ would put one per user in $XDG_RUNTIME_DIR or ~/.gunicorn, where a second
    # instance on the host takes it over): nothing at all in either folder, so instances share nothing there.
    no_control_socket(env)
    assert server.stop() == 0
