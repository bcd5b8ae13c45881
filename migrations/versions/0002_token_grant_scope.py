"""token grant scope: the scope the person granted, kept on every token of a refresh family

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:00:01.886687

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grant_scope', sa.String(length=500), nullable=True))
    # The grant of an existing family is the scope of its first token.
    op.execute(
        "UPDATE token SET grant_scope = (SELECT first.scope FROM token AS first "
        "WHERE first.family = token.family ORDER BY first.id LIMIT 1)"
    )


def downgrade():
    with op.batch_alter_table('token', schema=None) as batch_op:
        batch_op.drop_column('grant_scope')
