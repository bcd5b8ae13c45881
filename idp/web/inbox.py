"""The development inbox (/dev/inbox): the latest e-mails and SMS, so every flow can be tried without a phone.

Registered only in dev mode, and it checks again per request: it shows codes in plain text.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, render_template

from idp.messaging import latest, read
from idp.runtime import settings

bp = Blueprint("devinbox", __name__, url_prefix="/dev")

# Links in our own messages, and things that look like codes: "305917", "4821-305917", "CGMDPP".
_TOKEN = re.compile(r"(?P<link>https?://[^\s<>\"']+)|(?P<code>\b(?:\d{4}-)?\d{6,10}\b|\b[A-Z]{6,10}\b)")


def segments(text: str) -> list[tuple[str, str]]:
    """A line split into ("text" | "link" | "code", value) pieces, so the page can show codes large and
    links clickable while autoescaping the rest."""
    pieces: list[tuple[str, str]] = []
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() > position:
            pieces.append(("text", text[position:match.start()]))
        pieces.append((match.lastgroup or "text", match.group(0)))
        position = match.end()
    if position < len(text):
        pieces.append(("text", text[position:]))
    return pieces


@bp.before_request
def _dev_mode_only():
    if not settings().server.dev_mode:
        abort(404)


@bp.get("/inbox")
def inbox():
    messages = []
    for message in latest(50):
        to, subject, body = read(message)
        messages.append({
            "id": message.id, "created_at": message.created_at, "channel": message.channel,
            "template": message.template, "to": to, "subject": subject, "status": message.status,
            "attempts": message.attempts, "last_error": message.last_error,
            "lines": [segments(line) for line in body.rstrip("\n").splitlines()],
        })
    return render_template("dev/inbox.html", messages=messages)
