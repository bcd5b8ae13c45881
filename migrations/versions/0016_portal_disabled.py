"""a portal can be disabled (the admin console's portals pages): client.disabled_at; a disabled portal's
authorization requests get unauthorized_client and its token requests invalid_client

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 00:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('client') as batch:
        batch.add_column(sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('client') as batch:
        batch.drop_column('disabled_at')
