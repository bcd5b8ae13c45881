"""who acted in an audit event, beside whom it is about (NEN 7513: who, and on whose behalf): the delegate of a
row under or about a delegation, or the person themselves; indexed for the activity page

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 21:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

EVENTS = sa.table('audit_event', sa.column('id', sa.Integer()), sa.column('tag', sa.String()),
                  sa.column('actor', sa.String()), sa.column('details', sa.JSON()),
                  sa.column('actor_user_id', sa.Integer()))


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_user_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_event_actor_user_id'), ['actor_user_id'], unique=False)
    # The rows written under or about a delegation already name the delegate in their details: the delegate's
    # activity page shows them too. Older rows of a person's own acts stay NULL (who acted was not kept).
    connection = op.get_bind()
    rows = connection.execute(sa.select(EVENTS.c.id, EVENTS.c.details).where(
        sa.or_(EVENTS.c.tag.like('delegation:%'), EVENTS.c.actor.like('user:%')))).all()
    for row_id, details in rows:
        delegate_id = (details or {}).get('delegate_id')
        if isinstance(delegate_id, int):
            connection.execute(EVENTS.update().where(EVENTS.c.id == row_id).values(actor_user_id=delegate_id))


def downgrade():
    # The delegate stays named in each row's details.
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_actor_user_id'))
        batch_op.drop_column('actor_user_id')
