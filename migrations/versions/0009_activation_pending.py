"""activation pending: an account made for activation is usable only once every step is done

Existing accounts whose activation was never finished (their address not yet verified by the link) are marked.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 04:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('activation_pending', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    op.execute(sa.text("UPDATE user_account SET activation_pending = :yes WHERE email_verified = :no")
               .bindparams(yes=True, no=False))


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('activation_pending')
