"""Signing keys: the moment a key starts signing (a rotated-in key is published first, signs later); the id of
the key the stored hashes were made with

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 04:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('signing_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signs_from', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'hash_key_check',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key_id', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('hash_key_check')
    with op.batch_alter_table('signing_key', schema=None) as batch_op:
        batch_op.drop_column('signs_from')
