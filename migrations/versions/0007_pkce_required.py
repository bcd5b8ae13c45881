"""pkce required: every portal sends PKCE unless an admin exempts a legacy confidential one

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 03:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pkce_required', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_column('pkce_required')
