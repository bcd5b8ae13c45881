"""one delivery queue: back-channel logouts become outbox_message rows of channel "backchannel"

The pending logout_delivery rows move over (recipient the portal's client_id, body the logout token, both
encrypted like any message) and the table goes; downgrade moves pending back-channel rows back.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00.000000

"""
import base64
import json

import sqlalchemy as sa
from alembic import op
from flask import current_app

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

FK_NAME = 'fk_outbox_message_client_id_client'

outbox = sa.table(
    'outbox_message',
    sa.column('id', sa.Integer()), sa.column('channel', sa.String()), sa.column('template', sa.String()),
    sa.column('user_id', sa.Integer()), sa.column('client_id', sa.Integer()),
    sa.column('recipient_encrypted', sa.String()), sa.column('subject', sa.String()),
    sa.column('body_encrypted', sa.Text()), sa.column('status', sa.String()), sa.column('attempts', sa.Integer()),
    sa.column('created_at', sa.DateTime(timezone=True)), sa.column('next_attempt_at', sa.DateTime(timezone=True)),
    sa.column('sent_at', sa.DateTime(timezone=True)), sa.column('last_error', sa.String()),
)
deliveries = sa.table(
    'logout_delivery',
    sa.column('id', sa.Integer()), sa.column('client_id', sa.Integer()), sa.column('logout_token', sa.Text()),
    sa.column('attempts', sa.Integer()), sa.column('created_at', sa.DateTime(timezone=True)),
    sa.column('next_attempt_at', sa.DateTime(timezone=True)), sa.column('delivered_at', sa.DateTime(timezone=True)),
    sa.column('failed_at', sa.DateTime(timezone=True)), sa.column('last_error', sa.String()),
)
clients = sa.table('client', sa.column('id', sa.Integer()), sa.column('client_id', sa.String()))
users = sa.table('user_account', sa.column('id', sa.Integer()), sa.column('sub', sa.String()))


def _crypto():
    # The app's field encryption (server.encryption_key): migrations run inside the app (`idp init`).
    return current_app.extensions['idp.crypto']


def _subject(token: str) -> str | None:
    """The sub claim of our own logout token (read, not verified: it comes from our own table)."""
    try:
        payload = token.split('.')[1]
        return json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4))).get('sub')
    except (IndexError, ValueError):
        return None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.alter_column('channel', existing_type=sa.String(length=10), type_=sa.String(length=20),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('client_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_message_client_id'), ['client_id'], unique=False)
        batch_op.create_foreign_key(FK_NAME, 'client', ['client_id'], ['id'], ondelete='CASCADE')

    bind = op.get_bind()
    waiting = bind.execute(
        sa.select(deliveries, clients.c.client_id.label('portal'))
        .join(clients, clients.c.id == deliveries.c.client_id)
        .where(deliveries.c.delivered_at.is_(None), deliveries.c.failed_at.is_(None))
        .order_by(deliveries.c.id)
    ).mappings().all()
    if waiting:
        crypto = _crypto()
        subs = {row['logout_token']: _subject(row['logout_token']) for row in waiting}
        user_ids = dict(bind.execute(sa.select(users.c.sub, users.c.id)
                                     .where(users.c.sub.in_({s for s in subs.values() if s}))).all())
        bind.execute(outbox.insert(), [{
            'channel': 'backchannel', 'template': 'logout', 'user_id': user_ids.get(subs[row['logout_token']]),
            'client_id': row['client_id'], 'recipient_encrypted': crypto.encrypt(row['portal']), 'subject': None,
            'body_encrypted': crypto.encrypt(row['logout_token']), 'status': 'pending', 'attempts': row['attempts'],
            'created_at': row['created_at'], 'next_attempt_at': row['next_attempt_at'], 'sent_at': None,
            'last_error': row['last_error'],
        } for row in waiting])

    with op.batch_alter_table('logout_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_logout_delivery_next_attempt_at'))
    op.drop_table('logout_delivery')


def downgrade():
    op.create_table('logout_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('logout_token', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('logout_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_logout_delivery_next_attempt_at'), ['next_attempt_at'], unique=False)

    bind = op.get_bind()
    waiting = bind.execute(
        sa.select(outbox)
        .where(outbox.c.channel == 'backchannel', outbox.c.status == 'pending', outbox.c.client_id.is_not(None),
               outbox.c.body_encrypted.is_not(None))
        .order_by(outbox.c.id)
    ).mappings().all()
    if waiting:
        crypto = _crypto()
        bind.execute(deliveries.insert(), [{
            'client_id': row['client_id'], 'logout_token': crypto.decrypt(row['body_encrypted']),
            'attempts': row['attempts'], 'created_at': row['created_at'], 'next_attempt_at': row['next_attempt_at'],
            'delivered_at': None, 'failed_at': None, 'last_error': row['last_error'],
        } for row in waiting])
    # Sent and dead back-channel rows have no place in the old table; e-mail and SMS stay.
    bind.execute(outbox.delete().where(outbox.c.channel == 'backchannel'))

    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(FK_NAME, type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_message_client_id'))
        batch_op.drop_column('client_id')
        batch_op.alter_column('channel', existing_type=sa.String(length=20), type_=sa.String(length=10),
                              existing_nullable=False)
