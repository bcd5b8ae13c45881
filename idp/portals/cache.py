"""Portals (clients) kept in memory for the OAuth endpoints, so a token request does not read its client's row.

Client rows change rarely (an admin registers, updates, rotates a secret, disables), but every token,
revocation, introspection and authorization request looks its client up: one SELECT through the ORM was
about a third of a client_credentials request's CPU time (bench/README.md). Each process keeps a copy of the
client's columns for at most `TTL_SECONDS`, and attaches a fresh instance of it to the request's session (no
SQL; relationships load as usual when used).

Changes take effect:
- at once in the process that made them: any commit that inserted, changed or deleted a Client through the
  ORM empties every cache of that process;
- within `TTL_SECONDS` in every other process (the other gunicorn workers, other instances, after an
  `idp clients ...` command): until then a disabled client, or a rotated secret's old value, may still
  authenticate there. Tokens a disabled client holds or gets meanwhile are refused at once everywhere
  (userinfo and introspection read the token's client from the database).
Unknown client_ids are not kept (nothing for a guesser to fill the memory with).
"""

from __future__ import annotations

import copy
import threading
import time
import weakref
from collections.abc import Callable
from itertools import chain
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import manager_of_class
from sqlalchemy.orm.util import identity_key

from idp.extensions import db
from idp.models import Client
from idp.portals import registry

TTL_SECONDS = 5.0
_CHANGED = "idp.clients_changed"
_caches: weakref.WeakSet[ClientCache] = weakref.WeakSet()


class ClientCache:
    def __init__(self, ttl: float = TTL_SECONDS, clock: Callable[[], float] = time.time) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, dict[str, Any]]] = {}
        self._generation = 0
        self._lock = threading.Lock()
        _caches.add(self)

    def find(self, client_id: str | None) -> Client | None:
        """The client with this client_id, attached to the current session, or None."""
        if not client_id or len(client_id) > 64:
            return None
        now = self._clock()
        entry = self._entries.get(client_id)
        if entry is not None and 0 <= now - entry[0] < self.ttl:  # a clock set back ends the entry too
            return _attach(entry[1])
        generation = self._generation
        client = registry.find(client_id)
        if client is not None:
            columns = {attr.key: copy.deepcopy(getattr(client, attr.key)) for attr in inspect(Client).column_attrs}
            with self._lock:
                if generation == self._generation:  # not emptied while we read: what we read may be kept
                    self._entries[client_id] = (now, columns)
        return client

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()


def _attach(columns: dict[str, Any]) -> Client:
    """A persistent Client in this request's session made from the kept columns, with no SQL: the instance the
    session already holds for that row, or a new one filled as a load fills it and added as detached (cheaper
    than merge, which copies every attribute once more)."""
    session = db.session()
    existing: Client | None = session.identity_map.get(identity_key(Client, columns["id"]))  # type: ignore[assignment]
    if existing is not None:
        return existing
    client: Client = _MANAGER.new_instance()
    # JSON lists and dicts are the request's own to change; the other values are immutable
    client.__dict__.update({k: copy.deepcopy(v) if isinstance(v, list | dict) else v for k, v in columns.items()})
    make_transient_to_detached(client)
    session.add(client)
    return client


_MANAGER = manager_of_class(Client)


def clear_all() -> None:
    for cache in list(_caches):
        cache.clear()


@event.listens_for(Session, "after_flush")
def _note_client_changes(session: Session, _context: object) -> None:
    if any(isinstance(obj, Client) for obj in chain(session.new, session.dirty, session.deleted)):
        session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _forget_changed_clients(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        clear_all()

