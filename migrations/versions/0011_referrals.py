"""referrals: tickets from a case, a school or a village to the department whose duty fits

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28

`referrals` holds a ticket's life (opened, accepted or returned, in progress, resolved, closed or
reopened, withdrawn) and `referral_steps` each step of it, never changed. A ticket a job opens
carries a key unique in its township, so a retried or doubled job finds the ticket it made.
`referral_routes` is the township's routing table (which department takes which kind, and its
response and resolution days); a township without rows uses the defaults of referrals/flows.py.
"""

from alembic import op
import sqlalchemy as sa

from baoxue.platform.rls import create_township_table, township_fk

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_township_table(op, 'referrals',
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('department_id', BigId, nullable=False),
        sa.Column('case_id', BigId, nullable=True),
        sa.Column('student_id', BigId, nullable=True),
        sa.Column('from_unit_kind', sa.String(length=20), nullable=False),
        sa.Column('from_unit_id', BigId, nullable=True),
        sa.Column('referrer_user_id', BigId, nullable=True),
        sa.Column('referrer_membership_id', BigId, nullable=True),
        sa.Column('referrer_name', sa.String(length=64), nullable=False, server_default=''),
        sa.Column('subject', sa.String(length=120), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False, server_default=''),
        sa.Column('grant_family', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('grant_photos', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('respond_by', sa.Date(), nullable=False),
        sa.Column('resolve_by', sa.Date(), nullable=False),
        sa.Column('opened_at', When, nullable=False),
        sa.Column('accepted_at', When, nullable=True),
        sa.Column('resolved_at', When, nullable=True),
        sa.Column('closed_at', When, nullable=True),
        sa.Column('outcome', sa.Text(), nullable=False, server_default=''),
        sa.Column('key', sa.String(length=80), nullable=True),
        sa.UniqueConstraint('township_id', 'number', name='uq_referrals_number'),
        sa.UniqueConstraint('township_id', 'key', name='uq_referrals_key'),
        township_fk('department_id', 'departments'),
        township_fk('case_id', 'cases'),
        township_fk('student_id', 'students'),
        indexes=(('department_id', 'state'), ('case_id',)),
    )
    create_township_table(op, 'referral_steps',
        sa.Column('referral_id', BigId, nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('note', sa.Text(), nullable=False, server_default=''),
        sa.Column('user_id', BigId, nullable=True),
        sa.Column('actor_name', sa.String(length=64), nullable=False, server_default=''),
        sa.Column('occurred_at', When, nullable=False),
        sa.UniqueConstraint('township_id', 'referral_id', 'number', name='uq_referral_steps_number'),
        township_fk('referral_id', 'referrals', ondelete='CASCADE'),
        indexes=(('referral_id',),),
    )
    create_township_table(op, 'referral_routes',
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('duty_codes', sa.String(length=120), nullable=False),
        sa.Column('respond_days', sa.SmallInteger(), nullable=False),
        sa.Column('resolve_days', sa.SmallInteger(), nullable=False),
        sa.UniqueConstraint('township_id', 'kind', name='uq_referral_routes_kind'),
    )


def downgrade() -> None:
    op.drop_table('referral_routes')
    op.drop_table('referral_steps')
    op.drop_table('referrals')
