"""OWASP ASVS 5.0 V16.4.1: a log line cannot be forged from what a person types (issue 18 part 2)."""

from __future__ import annotations

import json
import logging

from pythonjsonlogger.json import JsonFormatter

from idp import logs


def production_formatter() -> logging.Formatter:
    """The formatter of the production handler (logging.format = json), built from idp.logs' own config."""
    spec = dict(logs.config(logs.JSON)["formatters"]["main"])
    assert spec.pop("()") == "pythonjsonlogger.json.JsonFormatter"
    return JsonFormatter(**spec)


def test_a_typed_name_with_newlines_and_json_stays_inside_one_log_line():
    forged = 'anna\n{"time": "2026-01-01", "level": "INFO", "message": "admin signed in"}\r\x1b[2J'
    record = logging.LogRecord("idp.app", logging.WARNING, __file__, 1, "sign-in refused for %s", (forged,), None)
    logs.Context().filter(record)

    line = production_formatter().format(record)

    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    parsed = json.loads(line)
    assert parsed["message"] == f"sign-in refused for {forged}"
    assert parsed["level"] == "WARNING" and parsed["logger"] == "idp.app"
