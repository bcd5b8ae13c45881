"""Alembic migrations: they build the schema the models describe, and go down and up again with data present.

Runs on SQLite and, when IDP_TEST_DATABASE_URL is set, on PostgreSQL (the `database_url` fixture).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import JSON, func, inspect, select, text

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


def test_pending_backchannel_logouts_move_into_the_queue_and_back(app, user, portal):
    from datetime import timedelta

    from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text

    from idp import clock, sessions
    from idp.messaging import read
    from idp.messaging.backchannel import logout_token
    from idp.models import OutboxMessage

    session, _ = sessions.start(user, amr=["pwd"], acr=None, auth_time=clock.now())
    token = logout_token(portal, session)
    db.session.commit()
    portal_id, user_id, client_id = portal.id, user.id, portal.client_id
    db.session.remove()
    downgrade(directory=str(MIGRATIONS), revision="0005")
    table = Table("logout_delivery", MetaData(), Column("id", Integer, primary_key=True), Column("client_id", Integer),
                  Column("logout_token", Text), Column("attempts", Integer),
                  Column("created_at", DateTime(timezone=True)), Column("next_attempt_at", DateTime(timezone=True)),
                  Column("delivered_at", DateTime(timezone=True)), Column("failed_at", DateTime(timezone=True)),
                  Column("last_error", String(500)))
    now = clock.now()
    due_at = now + timedelta(seconds=4)
    waiting = {"client_id": portal_id, "logout_token": token, "attempts": 2, "created_at": now,
               "next_attempt_at": due_at, "delivered_at": None, "failed_at": None, "last_error": "HTTP 503"}
    with db.engine.begin() as connection:
        connection.execute(table.insert(), [
            waiting,
            {**waiting, "logout_token": "delivered", "delivered_at": now},
            {**waiting, "logout_token": "given-up", "failed_at": now},
        ])

    upgrade(directory=str(MIGRATIONS))
    assert "logout_delivery" not in tables()
    [moved] = db.session.scalars(select(OutboxMessage)).all()  # only the pending one
    assert (moved.channel, moved.template, moved.status, moved.attempts, moved.last_error) == (
        "backchannel", "logout", "pending", 2, "HTTP 503")
    assert (moved.client_id, moved.user_id, moved.next_attempt_at) == (portal_id, user_id, due_at)
    assert read(moved) == (client_id, None, token)
    db.session.remove()

    downgrade(directory=str(MIGRATIONS), revision="0005")
    with db.engine.connect() as connection:
        back = connection.execute(select(table.c.client_id, table.c.logout_token, table.c.attempts,
                                         table.c.delivered_at, table.c.failed_at)).all()
        left = connection.execute(select(func.count()).select_from(OutboxMessage.__table__)).scalar_one()
    assert [tuple(row) for row in back] == [(portal_id, token, 2, None, None)] and left == 0
    upgrade(directory=str(MIGRATIONS))
    assert differences() == []


def test_delegations_go_down_and_up_again(app, make_user, make_portal):
    from datetime import timedelta

    from idp import clock
    from idp.delegation import create_principal, grant_parental
    from idp.models import Delegation

    parent = make_user("ouder@example.org", name="Petra Ouder")
    today = clock.now().date()
    child = create_principal("Sam Kind", today.replace(year=today.year - 8) - timedelta(days=1), "admin", clock.now())
    grant_parental("admin", parent, child, [], ["profile"], "passport seen", clock.now())
    db.session.commit()
    db.session.remove()

    downgrade(directory=str(MIGRATIONS), revision="0010")
    assert "delegation" not in tables()
    assert "no_login" not in {c["name"] for c in inspect(db.engine).get_columns("user_account")}
    assert db.session.scalar(select(func.count()).select_from(User)) == 2  # the accounts stay
    db.session.remove()  # PostgreSQL: no open transaction may hold locks on the tables being altered

    upgrade(directory=str(MIGRATIONS))
    assert differences() == []
    assert db.session.scalar(select(func.count()).select_from(Delegation)) == 0
    assert db.session.scalars(select(User.no_login)).all() == [False, False]  # the default for the rows kept


def test_the_acting_person_of_audit_rows_goes_down_and_up_again(app, make_user):
    """0013: audit rows written under a delegation before it get their delegate as the acting person."""
    from idp import clock
    from idp.delegation import create_principal, grant_parental
    from idp.models import AuditEvent

    parent = make_user("ouder@example.org", name="Petra Ouder")
    today = clock.now().date()
    child = create_principal("Sam Kind", today.replace(year=today.year - 8) - timedelta(days=1), "admin", clock.now())
    grant_parental("admin", parent, child, [], ["profile"], "passport seen", clock.now())
    db.session.commit()
    parent_id, child_id = parent.id, child.id
    granted = db.session.scalar(select(AuditEvent.id).where(AuditEvent.tag == "delegation:granted"))
    db.session.remove()

    downgrade(directory=str(MIGRATIONS), revision="0012")
    assert "actor_user_id" not in {c["name"] for c in inspect(db.engine).get_columns("audit_event")}
    rows = db.session.execute(text("SELECT subject_user_id FROM audit_event WHERE id = :id"), {"id": granted}).all()
    assert rows == [(child_id,)]  # the row stays, the delegate named in its details
    db.session.remove()

    upgrade(directory=str(MIGRATIONS))
    assert differences() == []
    row = db.session.get(AuditEvent, granted)
    assert (row.subject_user_id, row.actor_user_id) == (child_id, parent_id)
    created = db.session.scalars(select(AuditEvent).where(AuditEvent.tag == "user:created")).all()
    assert created and all(r.actor_user_id is None for r in created)  # not known for rows of before


def test_organisation_names_become_organisations_and_go_back(app, make_user, make_portal):
    """0015: each distinct free-text organisation (spaces and case aside) becomes one organisation, its people
    members; a portal that may ask `roles` may ask `org`; down again, the names are text once more."""
    from idp import clock
    from idp.accounts import admins, organisations
    from idp.models import AdminRole, Organisation

    below = ScriptDirectory(str(MIGRATIONS)).get_revision("0015").down_revision
    linde = make_user("a@delinde.example", organisation="De Linde")
    make_user("b@delinde.example", organisation="De Linde")
    make_user("c@example.org", organisation="Zorggroep Avondrood")
    make_user("d@example.org")
    admins.grant(admins.operator("beheer"), linde, "organisation", clock.now())
    portal = make_portal("Zakelijk portaal")
    service = make_portal("Dienst")
    service.scope = "openid profile"
    db.session.commit()
    portal_id, service_id = portal.id, service.id
    db.session.remove()

    downgrade(directory=str(MIGRATIONS), revision=below)
    assert {"organisation", "admin_role"}.isdisjoint(tables())
    rows = db.session.execute(text("SELECT email, organisation FROM user_account ORDER BY email")).all()
    assert [tuple(r) for r in rows] == [("a@delinde.example", "De Linde"), ("b@delinde.example", "De Linde"),
                                        ("c@example.org", "Zorggroep Avondrood"), ("d@example.org", None)]
    scope = db.session.execute(text("SELECT scope FROM client WHERE id = :id"), {"id": portal_id}).scalar_one()
    assert scope.split() == ["openid", "profile", "email", "phone", "roles", "delegations", "offline_access"]
    # Names typed differently by different admins: one organisation.
    db.session.execute(text("UPDATE user_account SET organisation = :o WHERE email = :e"),
                       {"o": "  de   LINDE ", "e": "b@delinde.example"})
    db.session.commit()
    db.session.remove()

    upgrade(directory=str(MIGRATIONS))
    assert differences() == []
    made = db.session.scalars(select(Organisation).order_by(Organisation.id)).all()
    assert [(o.code, o.name, o.kind, o.email_domains) for o in made] == [
        ("de-linde", "De Linde", "other", []), ("zorggroep-avondrood", "Zorggroep Avondrood", "other", [])]
    people = {u.email: u for u in db.session.scalars(select(User))}
    assert people["a@delinde.example"].organisation_id == people["b@delinde.example"].organisation_id == made[0].id
    assert people["c@example.org"].organisation == "Zorggroep Avondrood"
    assert people["d@example.org"].organisation_id is None
    assert db.session.scalars(select(AdminRole)).all() == []  # admin roles did not survive the way down
    assert db.session.get(Client, portal_id).scope.split() == [
        "openid", "profile", "email", "phone", "roles", "org", "delegations", "offline_access"]
    assert db.session.get(Client, service_id).scope == "openid profile"
    assert organisations.get("de-linde").name == "De Linde"


def test_a_refresh_only_token_row_goes_down_and_up_again(app, client, make_portal, user):
    """0018: a JWT portal's grant row holds only its refresh token; below 0018 it gets an access hash no token has."""
    from tests.helpers import RelyingParty

    rp = RelyingParty(client, make_portal("Zorgportaal", access_token_format="jwt"))
    refresh_token = rp.tokens("anna@example.org", PASSWORD)["refresh_token"]
    row_id = db.session.scalar(select(Token.id).where(Token.access_token_hash.is_(None)))
    assert row_id is not None
    db.session.remove()

    downgrade(directory=str(MIGRATIONS), revision="0017")
    assert "access_token_format" not in {c["name"] for c in inspect(db.engine).get_columns("client")}
    rows = db.session.execute(text("SELECT access_token_hash FROM token WHERE id = :id"), {"id": row_id}).all()
    assert rows == [(f"jwt-{row_id}",)]
    db.session.remove()

    upgrade(directory=str(MIGRATIONS))
    # Migrations run with the provider stopped: a running process would start with no clients in memory.
    from idp.portals.cache import clear_all

    clear_all()
    assert differences() == []
    assert db.session.get(Client, rp.portal.id).access_token_format == "opaque"  # the format went with the column
    refreshed = rp.refresh(refresh_token)
    assert refreshed.status_code == 200, refreshed.get_json()
    assert "." not in refreshed.get_json()["access_token"]
