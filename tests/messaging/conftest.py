"""Real servers on loopback for the transports: an SMTP server (aiosmtpd) and an SMS gateway (http.server)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.helpers import free_port
from tests.oidc.backchannel_receiver import BackchannelReceiver

SMTP_USER, SMTP_PASSWORD = "idp-mailer", "smtp-secret-password"


@dataclass
class Gateway:
    """A stand-in SMS gateway: answers each POST with the next scripted status (then 200), keeps all."""

    url: str
    statuses: list[int] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)


@pytest.fixture
def gateway():
    state = Gateway(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                status = state.statuses.pop(0) if state.statuses else 200
                state.requests.append({"path": self.path, "headers": dict(self.headers), "raw": raw,
                                       "status": status})
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def delivered_bodies(gw: Gateway) -> list[str]:
    """The SMS texts the gateway accepted (2xx)."""
    return [json.loads(r["raw"])["body"] for r in gw.requests if 200 <= r["status"] < 300]


class Collector:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.messages: list = []

    async def handle_DATA(  # noqa: N802 (aiosmtpd calls it by this name)
            self, server, session, envelope):
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                              "data": envelope.content, "login": session.auth_data,
                              "tls": server.transport.get_extra_info("ssl_object") is not None})
        return "250 OK"


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == \
        (SMTP_USER.encode(), SMTP_PASSWORD.encode())
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> Path:
    """A self-signed certificate for 127.0.0.1 (key and certificate in one PEM file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path_factory.mktemp("tls") / "server.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return path


@pytest.fixture
def client_tls(certificate) -> ssl.SSLContext:
    """What the transport verifies the test server with: it trusts only the self-signed certificate."""
    return ssl.create_default_context(cafile=str(certificate))


def _server_tls(certificate: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certificate))
    return context


@pytest.fixture
def smtp_server():
    """A plain SMTP relay on loopback (smtp_security none)."""
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    controller.collector = collector
    yield controller
    controller.stop()


@pytest.fixture
def smtp_starttls_server(certificate):
    """SMTP that requires STARTTLS and a login (only allowed over TLS)."""
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port(),
                            tls_context=_server_tls(certificate),
                            require_starttls=True, auth_required=True, authenticator=_authenticate)
    controller.start()
    controller.collector = collector
    yield controller
    controller.stop()


@pytest.fixture
def smtp_tls_server(certificate):
    """SMTP over implicit TLS (port 465 style)."""
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port(),
                            ssl_context=_server_tls(certificate))
    controller.start()
    controller.collector = collector
    yield controller
    controller.stop()


@pytest.fixture
def listening_portal(client, make_portal):
    """A portal whose back-channel endpoint refuses the first `fail_first` POSTs: (portal, receiver)."""
    opened: list[BackchannelReceiver] = []

    def make(fail_first: int = 0):
        receiver = BackchannelReceiver(fail_first=fail_first).__enter__()
        opened.append(receiver)
        portal = make_portal(backchannel_logout_uri=receiver.uri)
        receiver.client_id, receiver.algorithms = portal.client_id, [portal.id_token_alg]
        receiver.jwks = client.get("/jwks.json").get_json()
        return portal, receiver

    yield make
    for receiver in opened:
        receiver.__exit__()
