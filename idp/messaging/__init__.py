"""Messaging: the outbox (written with the change that sends it), the delivery worker and its transports."""

from __future__ import annotations

from flask import Flask

from idp.messaging.outbox import dead_letters, erase_old, read, render, retry_dead, send, wait_for_background
from idp.messaging.worker import deliver_due

__all__ = ["dead_letters", "deliver_due", "erase_old", "init_app", "read", "render", "retry_dead", "send",
           "wait_for_background"]


def init_app(app: Flask) -> None:
    """The development inbox exists only in dev mode: in production /dev/inbox is a plain 404."""
    if app.extensions["idp.settings"].server.dev_mode:
        from idp.messaging.views import bp

        app.register_blueprint(bp)
