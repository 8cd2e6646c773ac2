"""cases: the case file, its timeline, home visits and their visitors, photos, notices

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

Townships get the settings the case file reads: which documents of the enforcement chain the
province's law supports, the series their numbers run in, and how a returned child is watched.
"""

from alembic import op
import sqlalchemy as sa

from baoxue.platform.rls import APP_ROLE, create_township_table, township_fk

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)
OPEN_CASE = "stage <> 'closed'"


def _text(name: str, length: int | None = None, default: str = '') -> sa.Column:
    kind = sa.Text() if length is None else sa.String(length=length)
    return sa.Column(name, kind, server_default=default, nullable=False)


def upgrade() -> None:
    with op.batch_alter_table('townships', schema=None) as batch_op:
        batch_op.add_column(_text('enforcement_documents', 100, 'persuasion,order,court'))
        batch_op.add_column(_text('notice_series', 30, '义劝通字'))
        batch_op.add_column(sa.Column('return_watch_weeks', sa.SmallInteger(), server_default='8', nullable=False))
        batch_op.add_column(sa.Column('return_visit_days', sa.SmallInteger(), server_default='14', nullable=False))

    create_township_table(op, 'cases',
        sa.Column('student_id', BigId, nullable=False),
        sa.Column('student_name', sa.String(length=40), nullable=False),
        sa.Column('school_id', BigId, nullable=False),
        sa.Column('class_id', BigId, nullable=True),
        sa.Column('village_id', BigId, nullable=True),
        sa.Column('stage', sa.String(length=20), nullable=False),
        sa.Column('opened_via', sa.String(length=20), nullable=False),
        sa.Column('opened_by', BigId, nullable=False),
        sa.Column('opened_at', When, nullable=False),
        sa.Column('first_absent_on', sa.Date(), nullable=True),
        _text('reason_code', 30), _text('reason_text'), _text('whereabouts'),
        sa.Column('previous_case_id', BigId, nullable=True),
        sa.Column('class_teacher_membership_id', BigId, nullable=True),
        sa.Column('principal_membership_id', BigId, nullable=True),
        sa.Column('village_cadre_membership_id', BigId, nullable=True),
        sa.Column('township_cadre_membership_id', BigId, nullable=True),
        sa.Column('closed_at', When, nullable=True),
        _text('closing', 20), _text('closing_evidence'), _text('closing_document_key', 120),
        sa.Column('return_date', sa.Date(), nullable=True),
        sa.Column('return_class_id', BigId, nullable=True),
        sa.Column('watch_until', sa.Date(), nullable=True),
        township_fk('student_id', 'students'),
        township_fk('school_id', 'schools'),
        township_fk('class_id', 'school_classes'),
        township_fk('village_id', 'villages'),
        township_fk('previous_case_id', 'cases'),
        township_fk('return_class_id', 'school_classes'),
        township_fk('class_teacher_membership_id', 'memberships'),
        township_fk('principal_membership_id', 'memberships'),
        township_fk('village_cadre_membership_id', 'memberships'),
        township_fk('township_cadre_membership_id', 'memberships'),
        indexes=(('student_id',), ('school_id',), ('village_id',)),
    )
    op.create_index('uq_cases_open', 'cases', ['township_id', 'student_id'], unique=True,
                    postgresql_where=sa.text(OPEN_CASE), sqlite_where=sa.text(OPEN_CASE))
    create_township_table(op, 'home_visits',
        sa.Column('student_id', BigId, nullable=False),
        sa.Column('school_id', BigId, nullable=False),
        sa.Column('case_id', BigId, nullable=True),
        sa.Column('attempt', sa.SmallInteger(), nullable=True),
        sa.Column('visited_at', When, nullable=False),
        sa.Column('mode', sa.String(length=20), nullable=False),
        _text('met', 200), _text('found'), _text('reason_code', 30), _text('reason_text'), _text('agreed'),
        sa.Column('next_visit_on', sa.Date(), nullable=True),
        _text('signature_key', 120),
        sa.Column('recorded_by', BigId, nullable=False),
        sa.Column('recorded_at', When, nullable=False),
        township_fk('student_id', 'students'),
        township_fk('school_id', 'schools'),
        township_fk('case_id', 'cases'),
        indexes=(('student_id',), ('school_id', 'visited_at'), ('case_id',)),
    )
    create_township_table(op, 'visit_visitors',
        sa.Column('visit_id', BigId, nullable=False),
        sa.Column('membership_id', BigId, nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.UniqueConstraint('township_id', 'visit_id', 'membership_id', name='uq_visit_visitors_pair'),
        township_fk('visit_id', 'home_visits'),
        township_fk('membership_id', 'memberships'),
        indexes=(('visit_id',), ('membership_id',)),
    )
    create_township_table(op, 'photos',
        sa.Column('case_id', BigId, nullable=True),
        sa.Column('visit_id', BigId, nullable=True),
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('small_key', sa.String(length=120), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        _text('caption', 200),
        sa.Column('uploaded_by', BigId, nullable=False),
        sa.Column('uploaded_at', When, nullable=False),
        township_fk('visit_id', 'home_visits'),
        township_fk('case_id', 'cases'),
        indexes=(('case_id',), ('visit_id',)),
    )
    create_township_table(op, 'notices',
        sa.Column('case_id', BigId, nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('series', sa.String(length=30), nullable=False),
        sa.Column('year', sa.SmallInteger(), nullable=False),
        sa.Column('serial', sa.Integer(), nullable=False),
        sa.Column('issued_at', When, nullable=False),
        sa.Column('issued_by', BigId, nullable=False),
        sa.Column('deadline_days', sa.SmallInteger(), nullable=False),
        sa.Column('content', sa.JSON(), nullable=False),
        _text('pdf_key', 120),
        sa.Column('served_at', When, nullable=True),
        _text('served_to', 64), _text('served_place', 200), _text('served_manner', 20), _text('server_names', 200),
        _text('receipt_key', 120),
        sa.Column('deadline_on', sa.Date(), nullable=True),
        sa.UniqueConstraint('township_id', 'series', 'year', 'serial', name='uq_notices_number'),
        township_fk('case_id', 'cases'),
        indexes=(('case_id',),),
    )
    create_township_table(op, 'case_entries',
        sa.Column('case_id', BigId, nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('occurred_at', When, nullable=False),
        _text('summary'),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('visit_id', BigId, nullable=True),
        sa.Column('notice_id', BigId, nullable=True),
        sa.Column('corrects_entry_id', BigId, nullable=True),
        sa.Column('recorded_by', BigId, nullable=False),
        sa.Column('actor_name', sa.String(length=64), nullable=False),
        sa.Column('recorded_at', When, nullable=False),
        sa.UniqueConstraint('township_id', 'case_id', 'number', name='uq_case_entries_number'),
        township_fk('case_id', 'cases'),
        township_fk('corrects_entry_id', 'case_entries'),
        township_fk('visit_id', 'home_visits'),
        township_fk('notice_id', 'notices'),
        indexes=(('case_id',),),
    )
    # The timeline is append-only for the runtime role too: no UPDATE or DELETE on its rows.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"REVOKE UPDATE, DELETE ON case_entries FROM {APP_ROLE}")


def downgrade() -> None:
    for table in ('case_entries', 'notices', 'photos', 'visit_visitors', 'home_visits'):
        op.drop_table(table)
    op.drop_index('uq_cases_open', table_name='cases')
    op.drop_table('cases')
    with op.batch_alter_table('townships', schema=None, recreate='never') as batch_op:
        for column in ('return_visit_days', 'return_watch_weeks', 'notice_series', 'enforcement_documents'):
            batch_op.drop_column(column)
