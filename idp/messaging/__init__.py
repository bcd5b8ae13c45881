"""Messaging: the outbox (written with the change that sends it), the delivery worker and its transports."""

from __future__ import annotations

from idp.messaging.outbox import dead_letters, erase_old, render, retry_dead, send, wait_for_background
from idp.messaging.worker import deliver_due, read

__all__ = ["dead_letters", "deliver_due", "erase_old", "read", "render", "retry_dead", "send",
           "wait_for_background"]

