"""school calendar, attendance and escalation: terms, calendar days, leave, reports, absences, spells

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28

Townships get the absence procedure's thresholds (school days) and the attendance settings
(tenants/school_calendar/rules.py). Only absences are stored: a reported class's child with
no row that day was present.
"""

from alembic import op
import sqlalchemy as sa

from baoxue.platform.rls import create_township_table, township_fk

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)
OPEN_SPELL = "ended_at IS NULL"
RULES = (('step_contact', 1), ('step_visits', 2), ('step_report', 3), ('step_village', 5),
         ('step_final_visit', 10), ('step_confirm', 15), ('scattered_days', 5), ('scattered_window', 20),
         ('sick_check_days', 10), ('report_by_hour', 10), ('correction_days', 3))


def _text(name: str, length: int | None = None, default: str = '') -> sa.Column:
    kind = sa.Text() if length is None else sa.String(length=length)
    return sa.Column(name, kind, server_default=default, nullable=False)


def upgrade() -> None:
    # recreate='never': SQLite adds columns in place (every table refers to townships).
    with op.batch_alter_table('townships', schema=None, recreate='never') as batch_op:
        for name, default in RULES:
            batch_op.add_column(sa.Column(name, sa.SmallInteger(), server_default=str(default), nullable=False))

    create_township_table(op, 'school_terms',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.UniqueConstraint('township_id', 'starts_on', name='uq_school_terms_start'),
    )
    create_township_table(op, 'calendar_days',
        sa.Column('school_id', BigId, nullable=True),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('school_day', sa.Boolean(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('created_by', BigId, nullable=False),
        sa.Column('created_at', When, nullable=False),
        township_fk('school_id', 'schools'),
    )
    op.create_index('uq_calendar_days_township', 'calendar_days', ['township_id', 'day'], unique=True,
                    postgresql_where=sa.text('school_id IS NULL'), sqlite_where=sa.text('school_id IS NULL'))
    op.create_index('uq_calendar_days_school', 'calendar_days', ['township_id', 'school_id', 'day'], unique=True,
                    postgresql_where=sa.text('school_id IS NOT NULL'), sqlite_where=sa.text('school_id IS NOT NULL'))

    create_township_table(op, 'leaves',
        sa.Column('student_id', BigId, nullable=False),
        sa.Column('school_id', BigId, nullable=False),
        sa.Column('class_id', BigId, nullable=True),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        _text('reason', 200),
        sa.Column('granted_by', BigId, nullable=False),
        sa.Column('granted_at', When, nullable=False),
        sa.Column('cancelled_at', When, nullable=True),
        township_fk('student_id', 'students'),
        township_fk('school_id', 'schools'),
        indexes=(('student_id',),),
    )
    create_township_table(op, 'attendance_reports',
        sa.Column('school_id', BigId, nullable=False),
        sa.Column('class_id', BigId, nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('enrolled', sa.SmallInteger(), nullable=False),
        sa.Column('absent', sa.SmallInteger(), nullable=False),
        sa.Column('unexcused', sa.SmallInteger(), nullable=False),
        sa.Column('late', sa.SmallInteger(), nullable=False),
        _text('source', 20, 'page'),
        sa.Column('reported_by', BigId, nullable=False),
        sa.Column('reported_at', When, nullable=False),
        sa.Column('revised_at', When, nullable=True),
        sa.Column('revisions', sa.SmallInteger(), server_default='0', nullable=False),
        sa.UniqueConstraint('township_id', 'class_id', 'day', name='uq_attendance_reports_class_day'),
        township_fk('school_id', 'schools'),
        township_fk('class_id', 'school_classes'),
        indexes=(('day',), ('school_id',)),
    )
    create_township_table(op, 'absences',
        sa.Column('student_id', BigId, nullable=False),
        sa.Column('school_id', BigId, nullable=False),
        sa.Column('class_id', BigId, nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        _text('note', 200),
        sa.Column('leave_id', BigId, nullable=True),
        sa.Column('recorded_by', BigId, nullable=False),
        sa.Column('recorded_at', When, nullable=False),
        sa.UniqueConstraint('township_id', 'student_id', 'day', name='uq_absences_student_day'),
        township_fk('student_id', 'students'),
        township_fk('school_id', 'schools'),
        township_fk('class_id', 'school_classes'),
        township_fk('leave_id', 'leaves'),
        indexes=(('day',), ('class_id', 'day')),
    )
    create_township_table(op, 'absence_spells',
        sa.Column('student_id', BigId, nullable=False),
        sa.Column('student_name', sa.String(length=40), nullable=False),
        sa.Column('school_id', BigId, nullable=False),
        sa.Column('class_id', BigId, nullable=True),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('first_day', sa.Date(), nullable=False),
        sa.Column('last_day', sa.Date(), nullable=False),
        sa.Column('days', sa.SmallInteger(), nullable=False),
        sa.Column('returner', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('quit_said_on', sa.Date(), nullable=True),
        sa.Column('report_filed_at', When, nullable=True),
        sa.Column('report_by', BigId, nullable=True),
        _text('report_reason_code', 30), _text('report_text'),
        sa.Column('checked_at', When, nullable=True),
        _text('check_note', 200),
        sa.Column('case_id', BigId, nullable=True),
        sa.Column('opened_at', When, nullable=False),
        sa.Column('ended_at', When, nullable=True),
        sa.Column('ended_on', sa.Date(), nullable=True),
        _text('ended_reason', 20),
        township_fk('student_id', 'students'),
        township_fk('school_id', 'schools'),
        township_fk('case_id', 'cases'),
        indexes=(('student_id',),),
    )
    op.create_index('uq_absence_spells_open', 'absence_spells', ['township_id', 'student_id', 'kind'], unique=True,
                    postgresql_where=sa.text(OPEN_SPELL), sqlite_where=sa.text(OPEN_SPELL))


def downgrade() -> None:
    op.drop_index('uq_absence_spells_open', table_name='absence_spells')
    for table in ('absence_spells', 'absences', 'attendance_reports', 'leaves'):
        op.drop_table(table)
    op.drop_index('uq_calendar_days_school', table_name='calendar_days')
    op.drop_index('uq_calendar_days_township', table_name='calendar_days')
    op.drop_table('calendar_days')
    op.drop_table('school_terms')
    with op.batch_alter_table('townships', schema=None, recreate='never') as batch_op:
        for name, _default in reversed(RULES):
            batch_op.drop_column(name)
