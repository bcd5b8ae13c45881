"""acting for someone else at sign-in: the delegation a code and a token were issued under, and the person a
browser's session last chose at a portal

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 20:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# A code or token of a delegation goes with it (it must never turn into one of the delegate's own); the
# session's remembered choice falls back to "themselves".
FKS = (('authorization_code', 'fk_authorization_code_delegation_id', 'CASCADE'),
       ('token', 'fk_token_delegation_id', 'CASCADE'),
       ('sso_session_client', 'fk_sso_session_client_delegation_id', 'SET NULL'))


def upgrade():
    for table, name, ondelete in FKS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('delegation_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(name, 'delegation', ['delegation_id'], ['id'], ondelete=ondelete)
    with op.batch_alter_table('sso_session_client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_chosen', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('sso_session_client', schema=None) as batch_op:
        batch_op.drop_column('person_chosen')
    for table, name, _ondelete in reversed(FKS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(name, type_='foreignkey')
            batch_op.drop_column('delegation_id')
