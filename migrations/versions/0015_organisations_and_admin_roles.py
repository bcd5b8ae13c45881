"""organisations (members, allowed e-mail domains) and admin roles (deployment, helpdesk, organisation admin);
the free-text user_account.organisation becomes organisation_id, one organisation per distinct name

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 22:00:00

"""
import re
import unicodedata
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

CLIENTS = sa.table('client', sa.column('id', sa.Integer()), sa.column('scope', sa.String()))
USERS = sa.table('user_account', sa.column('id', sa.Integer()), sa.column('organisation', sa.String()),
                 sa.column('organisation_id', sa.Integer()))
ORGANISATIONS = sa.table('organisation', sa.column('id', sa.Integer()), sa.column('code', sa.String()),
                         sa.column('name', sa.String()), sa.column('kind', sa.String()),
                         sa.column('email_domains', sa.JSON()), sa.column('created_at', sa.DateTime(timezone=True)),
                         sa.column('updated_at', sa.DateTime(timezone=True)))


def code_for(name, taken):
    """As idp.accounts.organisations.code_for: the name folded to a-z, 0-9 and '-', made unique."""
    folded = unicodedata.normalize('NFKD', name).encode('ascii', 'ignore').decode().lower()
    base = (re.sub(r'[^a-z0-9]+', '-', folded).strip('-') or 'org')[:34].strip('-') or 'org'
    code, n = base, 1
    while code in taken:
        n += 1
        code = f'{base}-{n}'
    taken.add(code)
    return code


def upgrade():
    op.create_table(
        'organisation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('email_domains', sa.JSON(), server_default='[]', nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code'),
    )
    op.create_table(
        'admin_role',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=True),
        sa.Column('granted_by', sa.String(length=200), nullable=False),
        sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(role = 'organisation') = (organisation_id IS NOT NULL)",
                           name='ck_admin_role_organisation'),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id']),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id'),
    )
    with op.batch_alter_table('admin_role', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_role_organisation_id'), ['organisation_id'], unique=False)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_user_account_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_foreign_key('fk_user_account_organisation_id', 'organisation', ['organisation_id'], ['id'])

    # Each distinct name typed so far becomes one organisation (kind "other" until an admin says which), its
    # people its members. Names differing only in spaces or case are one organisation.
    connection = op.get_bind()
    rows = connection.execute(sa.select(USERS.c.id, USERS.c.organisation)
                              .where(USERS.c.organisation.isnot(None)).order_by(USERS.c.id)).all()
    now, taken, made = datetime.now(UTC), set(), {}
    for user_id, typed in rows:
        name = ' '.join((typed or '').split())
        if not name:
            continue
        key = name.casefold()
        if key not in made:
            code = code_for(name, taken)
            connection.execute(ORGANISATIONS.insert().values(
                code=code, name=name, kind='other', email_domains=[], created_at=now, updated_at=now))
            made[key] = connection.execute(
                sa.select(ORGANISATIONS.c.id).where(ORGANISATIONS.c.code == code)).scalar_one()
        connection.execute(USERS.update().where(USERS.c.id == user_id).values(organisation_id=made[key]))

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('organisation')

    # A portal that may ask `roles` may ask `org` too (new portals may both); it gets it only when it asks.
    for client_id, scope in connection.execute(sa.select(CLIENTS.c.id, CLIENTS.c.scope)).all():
        scopes = (scope or '').split()
        if 'roles' in scopes and 'org' not in scopes:
            scopes.insert(scopes.index('roles') + 1, 'org')
            connection.execute(CLIENTS.update().where(CLIENTS.c.id == client_id).values(scope=' '.join(scopes)))


def downgrade():
    # The name comes back as the free text it was; admin roles and an organisation's domains are lost.
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation', sa.String(length=200), nullable=True))
    connection = op.get_bind()
    for client_id, scope in connection.execute(sa.select(CLIENTS.c.id, CLIENTS.c.scope)).all():
        if 'org' in (scope or '').split():
            kept = ' '.join(s for s in scope.split() if s != 'org')
            connection.execute(CLIENTS.update().where(CLIENTS.c.id == client_id).values(scope=kept))
    names = dict(connection.execute(sa.select(ORGANISATIONS.c.id, ORGANISATIONS.c.name)).all())
    members = connection.execute(sa.select(USERS.c.id, USERS.c.organisation_id).where(
        USERS.c.organisation_id.isnot(None))).all()
    for user_id, organisation_id in members:
        connection.execute(USERS.update().where(USERS.c.id == user_id).values(organisation=names[organisation_id]))
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint('fk_user_account_organisation_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_user_account_organisation_id'))
        batch_op.drop_column('organisation_id')
    with op.batch_alter_table('admin_role', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_role_organisation_id'))
    op.drop_table('admin_role')
    op.drop_table('organisation')
