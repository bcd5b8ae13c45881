"""Signing keys: the moment a key starts signing (a rotated-in key is published first, signs later)

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-07 04:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('signing_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signs_from', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('signing_key', schema=None) as batch_op:
        batch_op.drop_column('signs_from')
