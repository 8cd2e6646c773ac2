"""login throttle: failed sign-ins by unknown username (a keyed hash) and by address

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Not a township table (a sign-in has no township yet), so no row-level security: it holds no
one's data, only counters keyed by an HMAC of a username no account has, or by an address.
"""

from alembic import op
import sqlalchemy as sa

from baoxue.platform.rls import grant_app

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('login_throttle',
        sa.Column('key', sa.String(length=80), primary_key=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_started_at', When, nullable=False),
        sa.Column('last_failed_at', When, nullable=False),
        sa.Column('locked_until', When, nullable=True),
    )
    op.create_index('ix_login_throttle_last_failed_at', 'login_throttle', ['last_failed_at'])
    grant_app(op, 'login_throttle')


def downgrade() -> None:
    op.drop_table('login_throttle')
