"""How a message leaves: file (dev and tests), smtp (e-mail), http (an SMS gateway), console.

A transport raises on failure and the worker retries, unless the failure is permanent (an SMTP 5xx reply, an
SMS gateway's 4xx other than 408 and 429): then the message is dead at once. Exceptions carry short texts
without the body or the recipient, because the worker stores them in last_error.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import smtplib
import ssl
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

import requests
from flask import current_app

from idp.files import private_file
from idp.settings import MessagingSettings

_file_lock = threading.Lock()  # threads of this process; flock covers other processes


class TransportError(Exception):
    """A delivery failed; the text is safe to store (no body, no recipient, no secret). `permanent`: trying
    again cannot help (the server refused the message or the recipient for good)."""

    def __init__(self, text: str, *, permanent: bool = False):
        super().__init__(text)
        self.permanent = permanent


@dataclass(frozen=True)
class Envelope:
    """One decrypted message on its way out."""

    channel: str
    to: str
    subject: str | None
    body: str
    created_at: datetime
    message_id: str | None = None  # an e-mail's Message-ID, the same on every attempt (None: a new one)


def send(envelope: Envelope, cfg: MessagingSettings) -> None:
    """Hand the message to the transport the settings choose for its channel."""
    name = cfg.email_transport if envelope.channel == "email" else cfg.sms_transport
    if name == "file":
        to_file(envelope, file_path(cfg))
    elif name == "console":
        to_console(envelope)
    elif name == "smtp" and envelope.channel == "email":
        to_smtp(envelope, cfg)
    elif name == "http" and envelope.channel == "sms":
        to_http(envelope, cfg)
    else:
        raise TransportError(f"no transport {name!r} for {envelope.channel}")


def file_path(cfg: MessagingSettings) -> Path:
    """The file transport's file; a relative path lives in the instance folder."""
    path = Path(cfg.file_path)
    return path if path.is_absolute() else Path(current_app.instance_path) / path


def to_file(envelope: Envelope, path: Path) -> None:
    """Append one JSON object per line; locked, so concurrent writers never interleave. A write that fails (a
    full disk) leaves no half line behind for the retry's line to be glued to."""
    line = json.dumps({
        "channel": envelope.channel, "to": envelope.to, "subject": envelope.subject,
        "body": envelope.body, "created_at": envelope.created_at.isoformat(),
    }, ensure_ascii=False) + "\n"
    with _file_lock, private_file(path).open("ab", buffering=0) as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            end = os.lseek(fh.fileno(), 0, os.SEEK_END)
            rest = memoryview(line.encode())
            try:
                while rest:
                    rest = rest[os.write(fh.fileno(), rest):]
            except OSError:
                os.ftruncate(fh.fileno(), end)
                raise
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def to_console(envelope: Envelope) -> None:
    """Print the message to standard error (development without a mail server or phone)."""
    lines = [f"--- {envelope.channel} to {envelope.to}"]
    if envelope.subject:
        lines.append(f"Subject: {envelope.subject}")
    lines += [envelope.body.rstrip("\n"), "---"]
    print("\n".join(lines), file=sys.stderr, flush=True)  # noqa: T201 (the console transport is this print)


def new_message_id(mail_from: str) -> str:
    """A Message-ID at the sender's domain, made once per message (a resend keeps it: a duplicate after a crash
    can be recognised)."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)  # a domain, or make_msgid asks DNS for our FQDN


def email_message(envelope: Envelope, mail_from: str) -> EmailMessage:
    """A plain-text UTF-8 e-mail with the headers spam filters look for (Date, Message-ID)."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = envelope.to
    message["Subject"] = envelope.subject or ""
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = envelope.message_id or new_message_id(mail_from)
    message.set_content(envelope.body, charset="utf-8")
    return message


def to_smtp(envelope: Envelope, cfg: MessagingSettings, *, ssl_context: ssl.SSLContext | None = None) -> None:
    """Send by SMTP with STARTTLS, implicit TLS or none; log in when a user name is set.

    `ssl_context` is for tests with a self-signed server; the default verifies the host's certificate.
    """
    context = ssl_context or ssl.create_default_context()
    message = email_message(envelope, cfg.mail_from)
    try:
        if cfg.smtp_security == "tls":
            server: smtplib.SMTP = smtplib.SMTP_SSL(cfg.smtp_host, cfg.smtp_port,
                                                    timeout=cfg.smtp_timeout_seconds, context=context)
        else:
            server = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.smtp_timeout_seconds)
        with server:
            if cfg.smtp_security == "starttls":
                server.starttls(context=context)
            if cfg.smtp_username:
                server.login(cfg.smtp_username, cfg.smtp_password)
            server.send_message(message)
    except smtplib.SMTPResponseException as exc:
        # The server's text may quote the address or our login name: keep only the code.
        raise TransportError(f"SMTP {exc.smtp_code} ({type(exc).__name__})",
                             permanent=500 <= exc.smtp_code <= 599) from None
    except smtplib.SMTPRecipientsRefused as exc:
        # One recipient a message: refused for good (5xx) or for now (4xx).
        code = min((reply[0] for reply in exc.recipients.values()), default=0)
        raise TransportError(f"SMTP {code} ({type(exc).__name__})", permanent=500 <= code <= 599) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise TransportError(f"SMTP {type(exc).__name__}") from None


_PLACEHOLDER = re.compile(r"\{(to|body)\}")


def gateway_payload(template: str, to: str, body: str) -> str:
    """The gateway's JSON body: {to} and {body} become JSON-escaped strings (one pass, so a body that
    contains "{to}" stays as it is)."""
    values = {"to": json.dumps(to)[1:-1], "body": json.dumps(body)[1:-1]}
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


# A gateway's 4xx says the request itself is wrong (number, sender, account): sending it again cannot help;
# but a request timeout (408) or too many requests (429) can, as can 5xx and no answer at all.
_TRY_AGAIN = frozenset({408, 429})


def to_http(envelope: Envelope, cfg: MessagingSettings) -> None:
    """POST the SMS to the gateway; anything but 2xx is a failure (a 4xx but 408 and 429: a permanent one)."""
    headers = {"Content-Type": "application/json"}
    if cfg.http_auth_header:
        headers["Authorization"] = cfg.http_auth_header
    payload = gateway_payload(cfg.http_body_template, envelope.to, envelope.body)
    try:
        response = requests.post(cfg.http_url, data=payload.encode("utf-8"), headers=headers,
                                 timeout=cfg.http_timeout_seconds, allow_redirects=False)
    except requests.RequestException as exc:
        raise TransportError(f"HTTP {type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        code = response.status_code
        raise TransportError(f"HTTP {code}", permanent=400 <= code <= 499 and code not in _TRY_AGAIN)
