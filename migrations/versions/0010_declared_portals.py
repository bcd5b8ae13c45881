"""declared portals: the config file that declares a portal ([[portals]]); only that file changes it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 18:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('declared_in', sa.String(length=1000), nullable=True))


def downgrade():
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_column('declared_in')
