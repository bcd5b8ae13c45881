"""Unbound extension singletons; create_app binds them."""

import logging
import sqlite3
from typing import Any, cast

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from limits import RateLimitItem
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from redis.exceptions import RedisError
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
# Counts taken outside a route's decorator (limit_test, limit_hit) while Redis fails: this process's memory.
_memory_counts = FixedWindowRateLimiter(MemoryStorage())
_log = logging.getLogger("idp.limits")
_counting_in_memory = False


def _counted(method: str, limit: RateLimitItem, *identifiers: str) -> bool:
    """Flask-Limiter's counter (Redis, or its own in-memory fallback once a route found Redis gone); when Redis
    fails under it, this process's memory, so a limit still holds and nothing is a 500. Logged once each way."""
    global _counting_in_memory
    try:
        result = bool(getattr(limiter.limiter, method)(limit, *identifiers))
    except (RedisError, OSError) as exc:
        if not _counting_in_memory:
            _log.warning("rate limit storage unreachable, counting in memory: %s", exc)
            _counting_in_memory = True
        return bool(getattr(_memory_counts, method)(limit, *identifiers))
    if _counting_in_memory:
        _log.info("rate limit storage answers again")
        _counting_in_memory = False
    return result


def limit_test(limit: RateLimitItem, *identifiers: str) -> bool:
    """Whether one more hit stays within `limit` for these identifiers."""
    return _counted("test", limit, *identifiers)


def limit_hit(limit: RateLimitItem, *identifiers: str) -> bool:
    """Count one hit; whether it stayed within `limit`."""
    return _counted("hit", limit, *identifiers)


def rows_changed(statement: Executable, params: dict[str, Any] | None = None) -> int:
    """Run an UPDATE or DELETE in the current session; how many rows its condition held for (a conditional
    UPDATE that finds 0 rows lost a race)."""
    return cast("CursorResult[Any]", db.session.execute(statement, params)).rowcount


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
