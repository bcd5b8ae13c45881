"""Logging: one line per event on standard error, as JSON (outside dev mode) or text, each carrying the request id;
secrets in request targets (codes, tokens, link tokens, passwords) are redacted from every line, and so are e-mail
addresses (their domain stays) and phone numbers, wherever they come from (an SMTP refusal names the recipient).

No Flask here: the request id middleware is plain WSGI, and gunicorn's own loggers (idp/serving.py) send their
lines through the same handler, so access and error lines look like the app's.
"""

from __future__ import annotations

import contextvars
import logging
import logging.config
import re
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

JSON, TEXT = "json", "text"
HEADER = "X-Request-Id"
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# Query and form parameters whose value is a secret or lets someone act as the person (RFC 6749, RFC 7009,
# OIDC logout, ours): their value never reaches a log line. state and nonce are not secrets.
SECRET_PARAMETERS = ("code", "token", "access_token", "refresh_token", "id_token", "id_token_hint",
                     "client_secret", "client_assertion", "code_verifier", "password", "logout_token",
                     "assertion", "subject_token")
# Paths whose last part is a link token sent by mail or SMS.
LINK_PREFIXES = ("/activate/", "/reset/", "/register/", "/account/email/")
_LINK_ROUTES_WITHOUT_TOKEN = {"/reset/done", "/reset/phone"}
REDACTED = "[redacted]"

_NAMES = "|".join(SECRET_PARAMETERS)
_PREFIXES = "|".join(re.escape(p) for p in LINK_PREFIXES)
_PARAMETER = re.compile(rf"(?P<key>(?<![A-Za-z0-9_])(?:{_NAMES}))=(?P<value>[^&\s\"'#;]+)", re.IGNORECASE)
_LINK = re.compile(rf"(?P<prefix>{_PREFIXES})(?P<token>[^/?\s\"'#]+)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@(?P<domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
# Nine or more digits, maybe after a + and with spaces or dashes between them: a phone number, never an id or time.
_PHONE = re.compile(r"(?<![\w/.:-])\+?\d(?:[ -]?\d){8,14}(?![\w-])")


def _link(match: re.Match[str]) -> str:
    if match.group("prefix") + match.group("token") in _LINK_ROUTES_WITHOUT_TOKEN:
        return match.group(0)
    return match.group("prefix") + REDACTED


def redact(text: str) -> str:
    """`text` with the value of every secret parameter, every link token, the name part of every e-mail address
    and every phone number replaced by [redacted]."""
    text = _PARAMETER.sub(lambda m: f"{m.group('key')}={REDACTED}", text)
    text = _EMAIL.sub(lambda m: f"{REDACTED}@{m.group('domain')}", text)
    text = _PHONE.sub(REDACTED, text)
    return _LINK.sub(_link, text)


SECURITY_LOGGER = "idp.security"


def refused(what: str, **where: object) -> None:
    """One WARNING line on the idp.security logger for a request refused by a security control (OWASP ASVS 5.0
    16.3.2, 16.3.3): what refused it and where (`refused: csrf method=POST path=/account/password`). Callers pass
    names, paths and client ids, never a secret; link tokens in a path are redacted like every line's."""
    details = " ".join(f"{key}={value}" for key, value in where.items())
    logging.getLogger(SECURITY_LOGGER).warning("refused: %s %s", what, details)


def accept_request_id(raw: str | None) -> str:
    """The caller's X-Request-Id when it is short and made of safe characters (a proxy's id), else a new one."""
    if raw and _SAFE_ID.fullmatch(raw):
        return raw
    return secrets.token_hex(16)


class RequestId:
    """WSGI middleware (outermost): take or make the request id, keep it for every log line of the request (also
    gunicorn's access line after the response), and return it in the response's X-Request-Id."""

    def __init__(self, app: Callable[..., Iterable[bytes]]):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        rid = accept_request_id(environ.get("HTTP_X_REQUEST_ID"))
        environ["idp.request_id"] = rid
        request_id.set(rid)  # not reset here: the server's access line comes after the response; the next
        # request in this thread sets its own, and the gunicorn logger clears it after its access line

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers = [(k, v) for k, v in headers if k.lower() != HEADER.lower()]
            headers.append((HEADER, rid))
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


class Context(logging.Filter):
    """On every record passing a handler: the request id, and the message with its secrets redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        for key in ("path", "target", "url"):
            value = getattr(record, key, None)
            if isinstance(value, str):
                setattr(record, key, redact(value))
        return True


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def utc_time(record: logging.LogRecord) -> str:
    """A line's time in UTC, ISO 8601 with its offset (2026-12-07T12:25:42.123+00:00), whatever the machine's zone."""
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging's)
        return utc_time(record)


class JsonLineFormatter(JsonFormatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging's)
        return utc_time(record)


def config(fmt: str, level: str = "INFO") -> dict[str, Any]:
    """The logging.config dict: one stderr handler on the root logger; gunicorn's and the app's loggers propagate
    to it (existing loggers stay enabled)."""
    formatter: dict[str, Any]
    if fmt == JSON:
        formatter = {"()": JsonLineFormatter,
                     "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                     "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"}}
    else:
        formatter = {"()": TextFormatter, "fmt": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": Context}},
        "formatters": {"main": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "main", "filters": ["context"]}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
            "werkzeug": {"level": "INFO", "handlers": [], "propagate": True},
        },
    }


def configure(fmt: str, level: str = "INFO") -> None:
    """Install the configuration (entry points only: the server, the demo, the worker; never create_app, so tests
    keep their own log capture)."""
    logging.config.dictConfig(config(fmt, level))
