"""Fixtures: the app on SQLite (and PostgreSQL when IDP_TEST_DATABASE_URL is set), users and portals in one line.

The schema is built by running the Alembic migrations once per backend; each test then gets clean tables.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from idp import create_app
from idp.settings import Settings, load

TEST_ENCRYPTION_KEY = "test-encryption-key-0123456789-abcdefghijklmnop"
TEST_SECRET_KEY = "test-secret-key-0123456789-abcdefghijklmnopqrstuv"
ISSUER = "http://localhost"

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("IDP_TEST_DATABASE_URL") else [])


def base_settings(tmp: Path, database_url: str, config: Path | None = None, **sections) -> Settings:
    """The tests' settings; `config`: also read this config file (IDP_CONFIG), e.g. to declare portals."""
    env = {
        "IDP_SERVER_DEV_MODE": "true",
        "IDP_SERVER_ISSUER": ISSUER,
        "IDP_SERVER_SECRET_KEY": TEST_SECRET_KEY,
        "IDP_SERVER_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
        "IDP_SERVER_INSTANCE_PATH": str(tmp),
        "IDP_DATABASE_URL": database_url,
        "IDP_PASSWORDS_BCRYPT_ROUNDS": "4",
        "IDP_KEYS_RSA_BITS": "2048",
        "IDP_LOGOUT_BACKCHANNEL_RETRY_SECONDS": "0.05",
        "IDP_LOGOUT_BACKCHANNEL_TIMEOUT_SECONDS": "2",
        # Throttling has its own tests (tests/flows/test_throttling.py); elsewhere it must not interfere.
        "IDP_LIMITS_SIGN_IN_PER_IP": "100000 per minute",
        "IDP_LIMITS_SIGN_IN_PER_ACCOUNT": "100000 per minute",
    }
    if config is not None:
        env["IDP_CONFIG"] = str(config)
    settings = load(environ=env)
    return settings.replace(**sections) if sections else settings


def _migrate(app) -> None:
    from flask_migrate import upgrade

    from idp.extensions import db

    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        # Closing every connection checkpoints SQLite's write-ahead log into the file, so it can be copied.
        db.engine.dispose()


@pytest.fixture(scope="session")
def key_rows(tmp_path_factory):
    """Signing keys generated once per run (RSA generation is slow) and inserted into each test's database."""
    tmp = tmp_path_factory.mktemp("keys")
    url = f"sqlite:///{tmp}/keys.sqlite"
    app = create_app(base_settings(tmp, url))
    _migrate(app)
    from idp.extensions import db
    from idp.oidc.keys import ensure_keys
    from idp.runtime import crypto

    with app.app_context():
        rows = ensure_keys(crypto())
        db.session.commit()
        return [{"kid": r.kid, "alg": r.alg, "private_jwk_encrypted": r.private_jwk_encrypted,
                 "created_at": r.created_at} for r in rows]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("template")
    path = tmp / "template.sqlite"
    _migrate(create_app(base_settings(tmp, f"sqlite:///{path}")))
    return path


@pytest.fixture(scope="session")
def postgres_url():
    url = os.environ["IDP_TEST_DATABASE_URL"]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    _migrate(create_app(base_settings(Path("/tmp"), url)))
    return url


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"))]
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "idp.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    return url


@pytest.fixture
def settings_overrides():
    """Override in a test module to change settings: {"tokens": {"code_seconds": 5}}."""
    return {}


@pytest.fixture
def settings(tmp_path, database_url, settings_overrides):
    return base_settings(tmp_path, database_url, **settings_overrides)


@pytest.fixture
def app(settings, key_rows):
    app = create_app(settings)
    app.config["TESTING"] = True
    from idp.extensions import db, limiter
    from idp.models import SigningKey

    with app.app_context():
        # Throttling counts per IP, every test client is 127.0.0.1, and Redis keeps counts between tests.
        limiter.reset()
        for row in key_rows:
            db.session.add(SigningKey(**row))
        db.session.commit()
        yield app
        # A back-channel logout retried in its thread must not write while the next test empties the tables.
        from idp.messaging import stop_background

        stop_background(app)
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    from tests.helpers import browser

    return browser(app)


@pytest.fixture
def make_user(app):
    from idp.accounts.users import create_user
    from idp.extensions import db

    counter = iter(range(1, 10_000))

    def make(email: str | None = None, password: str = "correct horse battery", **kw):
        user = create_user(email or f"user{next(counter)}@example.org", password, **kw)
        db.session.commit()
        return user

    return make


@pytest.fixture
def user(make_user):
    return make_user("anna@example.org", "correct horse battery", name="Anna de Vries", phone="+31612345678",
                     phone_verified=True)


@pytest.fixture(scope="session")
def logout_receiver():
    """A portal's back-channel logout endpoint on a real port (the live-server suites: conformance, api)."""
    from tests.conformance.live import LogoutReceiver

    receiver = LogoutReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def make_portal(app):
    from idp.extensions import db
    from idp.portals.registry import register

    counter = iter(range(1, 10_000))

    def make(name: str | None = None, **kw):
        n = next(counter)
        kw.setdefault("redirect_uris", [f"http://127.0.0.1:{9000 + n}/callback"])
        kw.setdefault("post_logout_redirect_uris", [f"http://127.0.0.1:{9000 + n}/logged-out"])
        kw.setdefault("first_party", True)
        registered = register(name or f"Portal {n}", kw.pop("redirect_uris"), **kw)
        db.session.commit()
        registered.client.secret = registered.secret  # plaintext kept on the test object only
        return registered.client

    return make


@pytest.fixture
def portal(make_portal):
    return make_portal("Huisartsportaal")


@pytest.fixture
def rp(client, portal):
    from tests.helpers import RelyingParty

    return RelyingParty(client, portal)


@pytest.fixture
def frozen(time_machine) -> datetime:
    """Stops the clock at the real now (whole seconds) and returns that instant; a test moves on from it with
    time_machine.shift(...), so every date it compares is relative to the data it made, never a fixed day."""
    start = datetime.now(UTC).replace(microsecond=0)
    time_machine.move_to(start, tick=False)
    return start
