"""Each transport against the real thing on loopback: a file, stderr, an SMTP server, an SMS gateway."""

from __future__ import annotations

import dataclasses
import email
import json
import threading
from datetime import UTC, datetime
from email import policy

import pytest

from idp.messaging import transports
from idp.messaging.transports import Envelope, TransportError
from idp.settings import MessagingSettings
from tests.messaging.conftest import SMTP_PASSWORD, SMTP_USER

CREATED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
MAIL = Envelope("email", "anna@example.org", "Your sign-in code for Huisartsportaal",
                "Your code is CGMDPP\n\nÉén link: https://idp.example/password\n", CREATED)
SMS = Envelope("sms", "+31612345678", None, 'Code 4821-305917 "quoted" \\ and {to}', CREATED)


def smtp_settings(server, **kw) -> MessagingSettings:
    return dataclasses.replace(MessagingSettings(), smtp_host=server.hostname, smtp_port=server.port,
                               mail_from="Inlogdienst <no-reply@idp.example>", smtp_timeout_seconds=5, **kw)


def received(server) -> email.message.EmailMessage:
    [message] = server.collector.messages
    return email.message_from_bytes(message["data"], policy=policy.default)


def test_file_transport_appends_one_json_object_per_line(tmp_path):
    path = tmp_path / "sub" / "outbox.jsonl"
    transports.to_file(MAIL, path)
    transports.to_file(SMS, path)
    first, second = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert first == {"channel": "email", "to": "anna@example.org", "subject": MAIL.subject, "body": MAIL.body,
                     "created_at": "2026-03-01T09:30:00+00:00"}
    assert second["channel"] == "sms" and second["subject"] is None and second["body"] == SMS.body


def test_file_transport_writers_at_the_same_time_never_interleave(tmp_path):
    path = tmp_path / "outbox.jsonl"
    long_body = Envelope("email", "a@example.org", "s", "x" * 20_000, CREATED)
    threads = [threading.Thread(target=lambda: [transports.to_file(long_body, path) for _ in range(10)])
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = path.read_text().splitlines()
    assert len(lines) == 40 and all(json.loads(line)["body"] == long_body.body for line in lines)


def test_file_transport_relative_path_lives_in_the_instance_folder(app):
    assert transports.file_path(MessagingSettings(file_path="mail.jsonl")) == \
        transports.Path(app.instance_path) / "mail.jsonl"


def test_console_transport_prints_to_standard_error(capsys):
    transports.to_console(MAIL)
    out, err = capsys.readouterr()
    assert out == ""
    assert "anna@example.org" in err and "Subject: Your sign-in code for Huisartsportaal" in err
    assert "CGMDPP" in err


def test_smtp_without_tls_delivers_a_plain_utf8_mail(smtp_server):
    transports.to_smtp(MAIL, smtp_settings(smtp_server, smtp_security="none"))
    [raw] = smtp_server.collector.messages
    assert raw["to"] == ["anna@example.org"] and raw["from"] == "no-reply@idp.example"
    message = received(smtp_server)
    assert message["Subject"] == "Your sign-in code for Huisartsportaal"
    assert message["From"] == "Inlogdienst <no-reply@idp.example>" and message["To"] == "anna@example.org"
    assert message["Message-ID"].endswith("@idp.example>") and message["Date"]
    assert message.get_content_type() == "text/plain" and message.get_content_charset() == "utf-8"
    assert message.get_content().replace("\r\n", "\n") == MAIL.body  # SMTP lines end in CRLF


def test_smtp_with_starttls_and_login(smtp_starttls_server, client_tls):
    cfg = smtp_settings(smtp_starttls_server, smtp_security="starttls", smtp_username=SMTP_USER,
                        smtp_password=SMTP_PASSWORD)
    transports.to_smtp(MAIL, cfg, ssl_context=client_tls)
    [raw] = smtp_starttls_server.collector.messages
    assert raw["tls"] and raw["login"].login == SMTP_USER.encode()
    assert "CGMDPP" in received(smtp_starttls_server).get_content()


def test_smtp_wrong_password_fails_without_repeating_the_server_text(smtp_starttls_server, client_tls):
    cfg = smtp_settings(smtp_starttls_server, smtp_security="starttls", smtp_username=SMTP_USER,
                        smtp_password="wrong")
    with pytest.raises(TransportError) as failure:
        transports.to_smtp(MAIL, cfg, ssl_context=client_tls)
    assert str(failure.value) == "SMTP 535 (SMTPAuthenticationError)"
    assert smtp_starttls_server.collector.messages == []


def test_smtp_starttls_refuses_a_certificate_it_cannot_verify(smtp_starttls_server):
    cfg = smtp_settings(smtp_starttls_server, smtp_security="starttls", smtp_username=SMTP_USER,
                        smtp_password=SMTP_PASSWORD)
    with pytest.raises(TransportError, match="SSLCertVerificationError"):
        transports.to_smtp(MAIL, cfg)  # the default context trusts only real CAs
    assert smtp_starttls_server.collector.messages == []


def test_smtp_with_implicit_tls(smtp_tls_server, client_tls):
    transports.to_smtp(MAIL, smtp_settings(smtp_tls_server, smtp_security="tls"), ssl_context=client_tls)
    assert smtp_tls_server.collector.messages[0]["tls"]
    assert received(smtp_tls_server)["Subject"] == MAIL.subject


def test_smtp_server_down_is_a_failure():
    cfg = dataclasses.replace(MessagingSettings(), smtp_host="127.0.0.1", smtp_port=1, smtp_security="none")
    with pytest.raises(TransportError, match="ConnectionRefusedError"):
        transports.to_smtp(MAIL, cfg)


def test_http_gateway_gets_the_auth_header_and_a_json_body(gateway):
    cfg = dataclasses.replace(MessagingSettings(), http_url=gateway.url, http_auth_header="Bearer gw-123",
                              http_body_template='{"recipient": "{to}", "text": "{body}", "sender": "IDP"}')
    transports.to_http(SMS, cfg)
    [request] = gateway.requests
    assert request["path"] == "/sms"
    assert request["headers"]["Authorization"] == "Bearer gw-123"
    assert request["headers"]["Content-Type"] == "application/json"
    assert json.loads(request["raw"]) == {"recipient": "+31612345678", "text": SMS.body, "sender": "IDP"}


def test_http_gateway_without_auth_header_sends_none(gateway):
    transports.to_http(SMS, dataclasses.replace(MessagingSettings(), http_url=gateway.url))
    assert "Authorization" not in gateway.requests[0]["headers"]
    assert json.loads(gateway.requests[0]["raw"]) == {"to": "+31612345678", "body": SMS.body}


@pytest.mark.parametrize("status", [500, 401, 302])
def test_http_gateway_answer_other_than_2xx_is_a_failure(gateway, status):
    gateway.statuses = [status]
    with pytest.raises(TransportError, match=f"HTTP {status}"):
        transports.to_http(SMS, dataclasses.replace(MessagingSettings(), http_url=gateway.url))


def test_http_gateway_unreachable_is_a_failure():
    cfg = dataclasses.replace(MessagingSettings(), http_url="http://127.0.0.1:1/sms", http_timeout_seconds=2)
    with pytest.raises(TransportError, match="ConnectionError"):
        transports.to_http(SMS, cfg)


def test_a_channel_without_its_transport_is_a_failure():
    with pytest.raises(TransportError):
        transports.send(SMS, dataclasses.replace(MessagingSettings(), sms_transport="smtp"))
