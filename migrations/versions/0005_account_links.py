"""account links: activation, reset and registration links; date of birth and organisation; portal registration

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 14:06:57.129420

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('account_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('email_hash', sa.String(length=64), nullable=True),
    sa.Column('email_encrypted', sa.String(length=1000), nullable=True),
    sa.Column('flow_uid', sa.String(length=64), nullable=True),
    sa.Column('client_id', sa.String(length=64), nullable=True),
    sa.Column('locale', sa.String(length=10), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('invalidated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('account_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_link_email_hash'), ['email_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_link_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('factor', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replacement_encrypted', sa.String(length=500), nullable=True))

    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registration', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('date_of_birth', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('organisation', sa.String(length=200), nullable=True))

    # Portals registered before may ask for the new "roles" scope too.
    op.execute("UPDATE client SET scope = scope || ' roles' WHERE scope LIKE '%openid%' AND scope NOT LIKE '%roles%'")


def downgrade():
    op.execute("UPDATE client SET scope = REPLACE(scope, ' roles', '')")
    with op.batch_alter_table('factor', schema=None) as batch_op:
        batch_op.drop_column('replacement_encrypted')

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('organisation')
        batch_op.drop_column('date_of_birth')

    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_column('registration')

    with op.batch_alter_table('account_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_link_user_id'))
        batch_op.drop_index(batch_op.f('ix_account_link_email_hash'))

    op.drop_table('account_link')
