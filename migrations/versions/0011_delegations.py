"""delegations: who may act for whom, at which portals, on what ground; accounts without a login of their own

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 19:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('no_login', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        'delegation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('delegate_id', sa.Integer(), nullable=False),
        sa.Column('principal_id', sa.Integer(), nullable=False),
        sa.Column('portals', sa.JSON(), server_default='[]', nullable=False),
        sa.Column('scopes', sa.JSON(), server_default='[]', nullable=False),
        sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
        sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('basis', sa.String(length=20), nullable=False),
        sa.Column('granted_how', sa.String(length=20), nullable=False),
        sa.Column('granted_by_user_id', sa.Integer(), nullable=True),
        sa.Column('granted_by_admin', sa.String(length=200), nullable=True),
        sa.Column('evidence', sa.String(length=500), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=True),
        sa.Column('child_consent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('child_consent_how', sa.String(length=20), nullable=True),
        sa.Column('child_consent_recorded_by', sa.String(length=200), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_by_user_id', sa.Integer(), nullable=True),
        sa.Column('revoked_by_admin', sa.String(length=200), nullable=True),
        sa.Column('ending_notice_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_notice_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['delegate_id'], ['user_account.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['principal_id'], ['user_account.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['granted_by_user_id'], ['user_account.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['revoked_by_user_id'], ['user_account.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('delegation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delegation_delegate_id'), ['delegate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delegation_principal_id'), ['principal_id'], unique=False)


def downgrade():
    with op.batch_alter_table('delegation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delegation_principal_id'))
        batch_op.drop_index(batch_op.f('ix_delegation_delegate_id'))
    op.drop_table('delegation')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('no_login')
