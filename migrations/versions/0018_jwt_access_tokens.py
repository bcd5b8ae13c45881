"""RFC 9068 JWT access tokens per client: client.access_token_format ("opaque" or "jwt"); a JWT access token
has no row of its own, so a grant's row may hold only its refresh token (token.access_token_hash nullable)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 04:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('client') as batch:
        batch.add_column(sa.Column('access_token_format', sa.String(length=10), nullable=False,
                                   server_default='opaque'))
    with op.batch_alter_table('token') as batch:
        batch.alter_column('access_token_hash', existing_type=sa.String(length=64), nullable=True)


def downgrade():
    # A refresh-only row gets an access hash no keyed hash (64 hex digits) can equal: its refresh token still works.
    op.execute("UPDATE token SET access_token_hash = 'jwt-' || CAST(id AS VARCHAR(20)) "
               "WHERE access_token_hash IS NULL")
    with op.batch_alter_table('token') as batch:
        batch.alter_column('access_token_hash', existing_type=sa.String(length=64), nullable=False)
    with op.batch_alter_table('client') as batch:
        batch.drop_column('access_token_format')
