"""Unbound extension singletons; create_app binds them."""

import sqlite3
from typing import Any, cast

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Executable, event
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.orm import DeclarativeBase

from idp.i18n import Babel


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
# Storage (memory, or Redis when redis.url is set) is chosen in create_app.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)


def rows_changed(statement: Executable) -> int:
    """Run an UPDATE or DELETE in the current session; how many rows its condition held for (a conditional
    UPDATE that finds 0 rows lost a race)."""
    return cast("CursorResult[Any]", db.session.execute(statement)).rowcount


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection, _record) -> None:
    """SQLite per connection: enforce foreign keys (ON DELETE CASCADE / SET NULL), and write-ahead logging.

    WAL lets readers go on while one writer commits. synchronous stays FULL: a commit that marks a code
    used or a refresh token rotated must survive a power cut, or the token becomes usable again.
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
