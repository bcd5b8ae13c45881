"""SCIM clients: a client_credentials client granted the scim scope may be limited to one organisation's members;
a person's externalId (the provisioning system's own id for them)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 00:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_user_account_external_id', ['external_id'])
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_client_organisation_id', 'organisation', ['organisation_id'], ['id'])


def downgrade():
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_constraint('fk_client_organisation_id', type_='foreignkey')
        batch_op.drop_column('organisation_id')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index('ix_user_account_external_id')
        batch_op.drop_column('external_id')
