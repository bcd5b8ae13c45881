"""Work that must wait until the current transaction has committed: hand new messages to the transports, tell
portals of ended sessions, sign with a rotated key. The one way to run something after a commit.

Work is collected per database session in batches (one per key, so ten messages make one delivery run) and
runs once the outermost transaction commits. A rollback of the whole transaction drops every batch; a rolled
back savepoint drops nothing, so work must check that its rows still exist (their ORM state says so without
SQL). The work itself must not use the committed session: no SQL may run inside SQLAlchemy's after_commit
event, so it starts a thread with its own app context and session, or touches only memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from idp.extensions import db

_BATCHES = "idp.after_commit"  # Session.info key: {key: (run, [items])}
_HOOKED = "idp.after_commit.hooked"


def collect(key: str, item: Any, run: Callable[[list[Any]], None]) -> None:
    """Add `item` to this transaction's batch `key`; after the commit, `run(items)` is called once."""
    session = db.session()
    if not session.info.get(_HOOKED):
        session.info[_HOOKED] = True
        event.listen(session, "after_commit", _run)
        event.listen(session, "after_soft_rollback", _drop)
    batches: dict[str, tuple[Callable[[list[Any]], None], list[Any]]] = session.info.setdefault(_BATCHES, {})
    batches.setdefault(key, (run, []))[1].append(item)


def call(key: str, run: Callable[[], None]) -> None:
    """Call `run()` once after this transaction commits, however often it is asked for under this key."""
    collect(key, None, lambda _items: run())


def _run(session: Session) -> None:
    for run, items in session.info.pop(_BATCHES, {}).values():
        run(items)


def _drop(session: Session, previous: SessionTransaction) -> None:
    if not previous.nested:
        session.info.pop(_BATCHES, None)
