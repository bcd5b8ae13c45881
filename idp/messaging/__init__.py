"""Messaging: the one durable retry queue (queue.py) and its channels: e-mail and SMS (outbox.py, through
transports.py) and back-channel logout (backchannel.py). Importing the package registers every channel."""

from __future__ import annotations

from idp.messaging import backchannel, outbox
from idp.messaging.outbox import Sender, latest, render, send
from idp.messaging.queue import (
    dead_letters,
    deliver_due,
    deliver_in_background,
    erase_old,
    pending,
    read,
    retry_all_dead,
    retry_dead,
    stop_background,
    wait_for_background,
)

__all__ = ["Sender", "backchannel", "dead_letters", "deliver_due", "deliver_in_background", "erase_old", "latest",
           "outbox", "pending", "read", "render", "retry_all_dead", "retry_dead", "send", "stop_background",
           "wait_for_background"]
