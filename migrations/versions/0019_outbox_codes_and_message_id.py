"""The delivery queue: a message names the one-time code it carries (cancelled when the code is replaced, used
or expired) and keeps its e-mail Message-ID for every attempt

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 04:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

FK_NAME = 'fk_outbox_message_code_id'


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('message_id', sa.String(length=250), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_message_code_id'), ['code_id'], unique=False)
        batch_op.create_foreign_key(FK_NAME, 'one_time_code', ['code_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(FK_NAME, type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_message_code_id'))
        batch_op.drop_column('message_id')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('code_id')
