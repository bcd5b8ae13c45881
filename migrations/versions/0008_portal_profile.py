"""portal profile: the sign-in profile fields a portal sets itself (JSON; the rest are the deployment's)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 04:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('profile', sa.JSON(), server_default='{}', nullable=False))


def downgrade():
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_column('profile')
