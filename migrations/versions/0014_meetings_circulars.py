"""meetings and circulars: the routine's records, the leading group's decisions, the township's 通报

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30

`meetings` holds a unit's meeting and publicity records (kind, date, place, attendees, agenda,
minutes, photos as stored keys) and the leading group's meetings; `meeting_items` a leading-group
meeting's agenda items (drawn from what was stuck), each with its decision and the task and ticket
the decision made (links both ways: the task names the meeting as its source). `circulars` holds
the township's circulars (a draft, then issued with its number, unique per township and year, and
its PDF), `circular_units` the units each names. `townships.circular_series` is the series' prefix
(empty: the township's short name + 府通).
"""

from alembic import op
import sqlalchemy as sa

from baoxue.platform.rls import create_township_table, township_fk

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)


def _text(name: str, length: int | None = None, default: str = '') -> sa.Column:
    kind = sa.Text() if length is None else sa.String(length=length)
    return sa.Column(name, kind, server_default=default, nullable=False)


def upgrade() -> None:
    with op.batch_alter_table('townships', schema=None) as batch_op:
        batch_op.add_column(_text('circular_series', 30))
    create_township_table(op, 'meetings',
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('unit_kind', sa.String(length=20), nullable=False),
        sa.Column('unit_id', BigId, nullable=True),
        sa.Column('held_on', sa.Date(), nullable=False),
        _text('place', 120), _text('attendees'), _text('agenda'), _text('minutes'),
        sa.Column('photos', sa.JSON(), nullable=False),
        sa.Column('task_copy_id', BigId, nullable=True),
        sa.Column('previous_id', BigId, nullable=True),
        sa.Column('recorded_by_user_id', BigId, nullable=True),
        _text('recorded_by_name', 64),
        sa.Column('recorded_at', When, nullable=False),
        township_fk('previous_id', 'meetings'),
        township_fk('task_copy_id', 'task_copies'),
        indexes=(('unit_kind', 'unit_id', 'held_on'), ('kind', 'held_on')),
    )
    create_township_table(op, 'meeting_items',
        sa.Column('meeting_id', BigId, nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('source_kind', sa.String(length=20), nullable=False),
        sa.Column('source_id', BigId, nullable=True),
        sa.Column('text', sa.String(length=300), nullable=False),
        _text('href', 200), _text('decision'),
        sa.Column('decided_at', When, nullable=True),
        _text('decided_by_name', 64),
        sa.Column('task_id', BigId, nullable=True),
        sa.Column('referral_id', BigId, nullable=True),
        sa.UniqueConstraint('township_id', 'meeting_id', 'number', name='uq_meeting_items_number'),
        township_fk('meeting_id', 'meetings', ondelete='CASCADE'),
        township_fk('task_id', 'tasks'),
        township_fk('referral_id', 'referrals'),
        indexes=(('meeting_id',),),
    )
    create_township_table(op, 'circulars',
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('title', sa.String(length=120), nullable=False),
        _text('body'),
        sa.Column('drafted_by_unit_kind', sa.String(length=20), nullable=False),
        sa.Column('drafted_by_unit_id', BigId, nullable=True),
        sa.Column('drafted_by_user_id', BigId, nullable=True),
        _text('drafted_by_name', 64),
        sa.Column('drafted_at', When, nullable=False),
        sa.Column('year', sa.Integer(), nullable=True),
        sa.Column('serial', sa.Integer(), nullable=True),
        _text('number', 60), _text('issuer', 80),
        sa.Column('issued_by_user_id', BigId, nullable=True),
        _text('issued_by_name', 64),
        sa.Column('issued_at', When, nullable=True),
        _text('pdf_key', 200),
        sa.UniqueConstraint('township_id', 'year', 'serial', name='uq_circulars_number'),
        indexes=(('state', 'issued_at'),),
    )
    create_township_table(op, 'circular_units',
        sa.Column('circular_id', BigId, nullable=False),
        sa.Column('unit_kind', sa.String(length=20), nullable=False),
        sa.Column('unit_id', BigId, nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        _text('reason', 300),
        sa.UniqueConstraint('township_id', 'circular_id', 'unit_kind', 'unit_id', name='uq_circular_units_unit'),
        township_fk('circular_id', 'circulars', ondelete='CASCADE'),
        indexes=(('circular_id',), ('unit_kind', 'unit_id')),
    )


def downgrade() -> None:
    for table in ('circular_units', 'circulars', 'meeting_items', 'meetings'):
        op.drop_table(table)
    with op.batch_alter_table('townships', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('circular_series')
