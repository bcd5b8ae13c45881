"""The provider on a real loopback port, with its portals and a back-channel logout receiver.

Everything a relying party sees goes over real HTTP: the server is werkzeug's threaded WSGI server,
started in a thread of the test process (so time-machine moves its clock too).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from sqlalchemy import create_engine, make_url, text
from werkzeug.serving import make_server

from idp import create_app
from tests.conftest import _migrate, base_settings

PASSWORD = "correct horse battery"
EMAIL = "anna@example.org"


@dataclass
class Portal:
    """What a portal developer holds after `idp clients add`: its id, secret and registered URIs."""

    client_id: str
    secret: str | None
    redirect_uri: str
    post_logout_redirect_uri: str
    id_token_alg: str = "RS256"
    backchannel_logout_uri: str | None = None


@dataclass
class LiveProvider:
    issuer: str
    app: object
    portals: dict[str, Portal] = field(default_factory=dict)
    sub: str = ""


class LogoutReceiver:
    """A portal's back-channel logout endpoint: records each POSTed logout_token and answers 200."""

    def __init__(self) -> None:
        self.tokens: queue.Queue[str] = queue.Queue()
        received = self.tokens

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                self.send_response(200)
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                received.put(form.get("logout_token", [""])[0])
                self.server.content_types.append(self.headers.get("Content-Type", ""))

            def log_message(self, *args) -> None:
                """Quiet: test output is for failures."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.content_types = []
        self.url = f"http://127.0.0.1:{self.server.server_port}/backchannel-logout"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> LogoutReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def next_token(self, timeout: float = 15.0) -> str:
        """The next logout token delivered; waits for the provider's delivery thread, fails if none comes."""
        return self.tokens.get(timeout=timeout)


class ServerThread:
    """werkzeug's threaded server on 127.0.0.1 and a free port, chosen before the app exists."""

    def __init__(self) -> None:
        self._app = None
        self.server = make_server("127.0.0.1", 0, self._dispatch, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _dispatch(self, environ, start_response):
        return self._app(environ, start_response)

    def serve(self, app) -> None:
        self._app = app
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _register_portals(base: int, receiver: LogoutReceiver) -> dict[str, Portal]:
    """The portals of the suite, registered as `idp clients add` would (not committed)."""
    from idp.portals.registry import register

    specs = {
        "confidential": {"first_party": True},
        "public": {"first_party": True, "public": True},
        "backchannel": {"first_party": True, "backchannel_logout_uri": receiver.url},
        "es256": {"first_party": True, "id_token_alg": "ES256"},
    }
    portals = {}
    for n, (name, options) in enumerate(specs.items()):
        redirect_uri = f"http://127.0.0.1:{base + n}/callback"
        logged_out = f"http://127.0.0.1:{base + n}/logged-out"
        registered = register(f"Portal {name}", [redirect_uri], post_logout_redirect_uris=[logged_out], **options)
        portals[name] = Portal(
            client_id=registered.client.client_id,
            secret=registered.secret,
            redirect_uri=redirect_uri,
            post_logout_redirect_uri=logged_out,
            id_token_alg=options.get("id_token_alg", "RS256"),
            backchannel_logout_uri=options.get("backchannel_logout_uri"),
        )
    return portals


def start_provider(tmp: Path, database_url: str, receiver: LogoutReceiver, **sections
                   ) -> tuple[LiveProvider, ServerThread]:
    """Migrate a fresh database, create keys, portals and Anna, and serve the provider on a real port; `sections`
    change settings (as Settings.replace)."""
    from idp.accounts.users import create_user
    from idp.extensions import db
    from idp.oidc.keys import ensure_keys
    from idp.runtime import crypto

    server = ServerThread()
    issuer = f"http://127.0.0.1:{server.port}"
    settings = base_settings(tmp, database_url, server={"issuer": issuer}, **sections)
    app = create_app(settings)
    _migrate(app)
    with app.app_context():
        ensure_keys(crypto(), settings.keys.rsa_bits)
        portals = _register_portals(9100, receiver)
        user = create_user(EMAIL, PASSWORD, name="Anna de Vries", phone="+31612345678")
        db.session.commit()
        sub = user.sub
        db.session.remove()
    server.serve(app)
    return LiveProvider(issuer=issuer, app=app, portals=portals, sub=sub), server


@contextmanager
def provider_on_backend(backend: str, tmp: Path, suffix: str, receiver: LogoutReceiver, **sections
                        ) -> Iterator[LiveProvider]:
    """The live provider on a database of its own: a file in `tmp` on SQLite, or on PostgreSQL the sibling
    database `<name>_<suffix>` next to IDP_TEST_DATABASE_URL's (made afresh, dropped afterwards). A server
    thread must not share its tables with fixtures that truncate them."""
    postgres = os.environ.get("IDP_TEST_DATABASE_URL") if backend == "postgresql" else None
    database_url = _sibling_database(postgres, suffix, create=True) if postgres else f"sqlite:///{tmp}/idp.sqlite"
    live, server = start_provider(tmp, database_url, receiver, **sections)
    try:
        yield live
    finally:
        server.stop()
        from idp.extensions import db

        with live.app.app_context():
            db.engine.dispose()
        if postgres:
            _sibling_database(postgres, suffix, create=False)


def _sibling_database(base_url: str, suffix: str, create: bool) -> str:
    """(Re)create, or drop, the database `<name>_<suffix>` on the server of `base_url`; returns its URL."""
    url = make_url(base_url)
    name = f"{url.database}_{suffix}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)
