"""Alembic migrations: they build the schema the models describe, and go down and up again with data present.

Runs on SQLite and, when IDP_TEST_DATABASE_URL is set, on PostgreSQL (the `database_url` fixture).
"""

from __future__ import annotations

import re
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import JSON, func, inspect, select

from idp.extensions import db
from idp.models import Client, Token, User

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
PASSWORD = "correct horse battery"


def _compare_default(context, inspected_column, metadata_column, inspected_default, metadata_default,
                     rendered_metadata_default):
    """PostgreSQL cannot compare json values with '=': compare a JSON column's default as text instead."""
    if isinstance(metadata_column.type, JSON):
        text = str(getattr(metadata_default, "arg", metadata_default) or "")
        return (inspected_default or "").split("::")[0].strip("'") != text
    return None  # everything else: Alembic's own comparison


def differences() -> list:
    """What `flask db migrate` would generate now: nothing, when models and migrations agree."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "compare_server_default": _compare_default})
        return compare_metadata(context, db.metadata)


def current_revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def tables() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_migrations_build_the_schema_the_models_describe(app):
    assert tables() == set(db.metadata.tables)
    assert differences() == []


def test_down_and_up_again_with_data_present(app, rp, user):
    tokens = rp.tokens("anna@example.org", PASSWORD)
    assert tokens["refresh_token"]
    assert db.session.scalar(select(func.count()).select_from(Token)) == 1
    db.session.commit()
    db.session.remove()  # PostgreSQL: no open transaction may hold locks on the tables being dropped

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    # Step down one revision at a time, so every downgrade runs against the data the one above left.
    while current_revision() is not None:
        downgrade(directory=str(MIGRATIONS), revision="-1")
    assert tables() == set()

    upgrade(directory=str(MIGRATIONS))
    assert current_revision() == head
    assert differences() == []
    assert db.session.scalar(select(func.count()).select_from(User)) == 0

    # The rebuilt schema takes the same kinds of rows again.
    from idp.accounts.users import create_user
    from idp.portals.registry import register

    create_user("anna@example.org", PASSWORD)
    register("Huisartsportaal", ["http://127.0.0.1:9001/callback"])
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Client)) == 1


def test_revision_files_are_named_after_their_revision():
    script = ScriptDirectory(str(MIGRATIONS))
    revisions = list(script.walk_revisions())
    assert revisions, "no migrations found"
    for revision in revisions:
        name = Path(revision.path).name
        assert re.fullmatch(rf"{re.escape(revision.revision)}_[a-z0-9_]+\.py", name), name
    assert len(script.get_heads()) == 1  # one line of history, no forgotten branch
