"""notifications: what a person is told in the page, and its delivery to an outside channel

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29

`notifications` holds one row per person (membership) per event; the event's key is unique per
membership, so a repeated, retried or redelivered event adds nothing. `notification_deliveries`
records each outside channel's delivery of a notification (queued, sent, failed), one row per
channel, so a retry or a redelivered job never sends twice. `users.email` is the address the
e-mail channel writes to (none is kept before this revision).
"""

from alembic import op
import sqlalchemy as sa

from baoxue.platform.rls import create_township_table, township_fk

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=120), nullable=True))
    create_township_table(op, 'notifications',
        sa.Column('membership_id', BigId, nullable=False),
        sa.Column('user_id', BigId, nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('text', sa.String(length=200), nullable=False),
        sa.Column('href', sa.String(length=300), nullable=False, server_default=''),
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('created_at', When, nullable=False),
        sa.Column('read_at', When, nullable=True),
        sa.UniqueConstraint('township_id', 'key', 'membership_id', name='uq_notifications_key'),
        township_fk('membership_id', 'memberships', ondelete='CASCADE'),
        indexes=(('membership_id', 'read_at'), ('membership_id', 'created_at')),
    )
    create_township_table(op, 'notification_deliveries',
        sa.Column('notification_id', BigId, nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.SmallInteger(), nullable=False, server_default='0'),
        sa.Column('last_error', sa.String(length=300), nullable=False, server_default=''),
        sa.Column('created_at', When, nullable=False),
        sa.Column('sent_at', When, nullable=True),
        sa.UniqueConstraint('township_id', 'notification_id', 'channel',
                            name='uq_notification_deliveries_channel'),
        township_fk('notification_id', 'notifications', ondelete='CASCADE'),
        indexes=(('notification_id',),),
    )


def downgrade() -> None:
    op.drop_table('notification_deliveries')
    op.drop_table('notifications')
    # SQLite drops the column in place: recreating `users` would trip the foreign keys pointing at it.
    with op.batch_alter_table('users', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('email')
