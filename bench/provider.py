"""Start the provider (and the bare Flask app) under gunicorn on loopback, with a fresh database."""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Gunicorn:
    """One set of gunicorn settings, used alike for the provider and the bare app."""

    workers: int
    threads: int
    keepalive: int = 30

    def args(self, port: int, app: str) -> list[str]:
        return [sys.executable, "-m", "gunicorn", "--bind", f"{HOST}:{port}", "--workers", str(self.workers),
                "--threads", str(self.threads), "--worker-class", "gthread", "--keep-alive", str(self.keepalive),
                "--reuse-port", "--log-level", "warning", app]


def lifted_rate_limits() -> dict[str, str]:
    """IDP_* overrides that lift every per-IP/per-account rate limit the provider has.

    All load comes from one address (127.0.0.1) and one account: left in place, the brute-force
    limits would answer 429 within a second and the bench would measure the limiter, not the provider.
    The limiter still counts every request, so its cost stays in the numbers. Read from the settings
    themselves, so a limit added later is lifted too.
    """
    import dataclasses

    from idp.settings import SECTIONS

    lifted = {}
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            if isinstance(f.default, str) and " per " in f.default:
                lifted[f"IDP_{section}_{f.name}".upper()] = "1000000 per minute"
    return lifted


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def reset_postgres(url: str) -> None:
    """Empty the benchmark database (created when missing): the bench owns it, every run starts clean."""
    import psycopg
    from psycopg import sql

    target = psycopg.conninfo.conninfo_to_dict(url)
    name = target["dbname"]
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


class Instance:
    """A provider with its own instance folder, database and port; setup goes through the `idp` CLI."""

    def __init__(self, database: str, gunicorn: Gunicorn, bcrypt_rounds: int, sqlite_wal: bool = False):
        self.tmp = tempfile.TemporaryDirectory(prefix="idp-bench-")
        self.port = free_port()
        self.issuer = f"http://{HOST}:{self.port}"
        self.database = database or f"sqlite:///{self.tmp.name}/bench.sqlite"
        self.gunicorn = gunicorn
        self.sqlite_wal = sqlite_wal
        # Only our settings: the provider refuses unknown IDP_* variables, and a stray one would change it.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
        self.env = {
            **inherited,
            "IDP_SERVER_DEV_MODE": "true",
            "IDP_SERVER_ISSUER": self.issuer,
            "IDP_SERVER_INSTANCE_PATH": self.tmp.name,
            "IDP_SERVER_SECRET_KEY": secrets.token_urlsafe(48),
            "IDP_SERVER_ENCRYPTION_KEY": secrets.token_urlsafe(48),
            "IDP_DATABASE_URL": self.database,
            "IDP_PASSWORDS_BCRYPT_ROUNDS": str(bcrypt_rounds),
            **lifted_rate_limits(),
            # The lockout counts every attempt before its password is checked (so parallel guesses cannot
            # pass the limit): eight browsers signing in to one account at once would lock it.
            "IDP_LOCKOUT_MAX_FAILURES": "1000000",
        }
        self.proc: subprocess.Popen | None = None

    def idp(self, *args: str) -> str:
        done = subprocess.run([str(BIN / "idp"), *args], env=self.env, cwd=ROOT, capture_output=True,
                              text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"idp {' '.join(args[:2])} failed: {done.stderr.strip()[-500:]}")
        return done.stdout

    def setup(self, password: str) -> dict:
        """Schema, keys, one person, a first-party portal and a service client."""
        if self.database.startswith("postgresql"):
            reset_postgres(self.database)
        self.idp("init")
        if self.sqlite_wal and self.database.startswith("sqlite:///"):
            # An experiment, not the provider as shipped: WAL mode is stored in the database file.
            import sqlite3

            with sqlite3.connect(self.database.removeprefix("sqlite:///")) as conn:
                conn.execute("PRAGMA journal_mode=WAL")
        email = "bench@example.org"
        self.idp("users", "add", "--email", email, "--password", password, "--name", "Bench Person", "--json")
        portal = json.loads(self.idp("clients", "add", "--name", "Bench portal", "--redirect-uri",
                                     "http://127.0.0.1:9/cb", "--first-party", "--json"))
        service = json.loads(self.idp("clients", "add", "--name", "Bench service", "--service", "--json"))
        return {"email": email, "portal": portal, "service": service}

    def start(self, app: str = "idp.wsgi:app", extra_env: dict | None = None) -> None:
        env = {**self.env, **(extra_env or {})}
        self.proc = subprocess.Popen(self.gunicorn.args(self.port, app), env=env, cwd=ROOT,
                                     start_new_session=True)
        wait_ready(self.port, self.proc)

    def stop(self) -> None:
        stop(self.proc)
        self.proc = None

    def close(self) -> None:
        self.stop()
        self.tmp.cleanup()


def wait_ready(port: int, proc: subprocess.Popen, path: str = "/.well-known/openid-configuration") -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                conn.close()
                # every worker must have booted, not just the first one to answer
                time.sleep(1.0)
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn on port {port} did not answer within 60 s")


def stop(proc: subprocess.Popen | None) -> None:
    """Stop the gunicorn we started (its master by pid; the master stops its workers)."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def fetch(port: int, path: str) -> tuple[bytes, dict[str, str]]:
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: HTTP {response.status}")
    return body, {k.lower(): v for k, v in response.getheaders()}


class BareApp:
    """bare_app.py under the same gunicorn settings, serving the provider's own discovery and JWKS bytes."""

    def __init__(self, gunicorn: Gunicorn, discovery: bytes, jwks: bytes):
        self.tmp = tempfile.TemporaryDirectory(prefix="idp-bench-bare-")
        Path(self.tmp.name, "discovery.json").write_bytes(discovery)
        Path(self.tmp.name, "jwks.json").write_bytes(jwks)
        self.port = free_port()
        self.gunicorn = gunicorn
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Self:
        env = {**os.environ, "BENCH_BARE_DIR": self.tmp.name}
        self.proc = subprocess.Popen(self.gunicorn.args(self.port, "bare_app:app"), env=env,
                                     cwd=Path(__file__).parent, start_new_session=True)
        wait_ready(self.port, self.proc)
        return self

    def __exit__(self, *exc) -> None:
        stop(self.proc)
        self.tmp.cleanup()
