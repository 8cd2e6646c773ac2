"""rosters, status changes, the worklist

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

Students get what the work needs of the national 72-item record (and two family members as
column groups, replacing the single guardian); a child of ID type Z may have no ID number.
Status changes with their steps, and the worklist's items, are new township tables.
Townships get the number of days a transfer inside the township may wait for its arrival.
"""

from alembic import op
import sqlalchemy as sa

from baoxue.platform.rls import create_township_table, township_fk

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)
OPEN = "state IN ('pending', 'in_transfer')"
FAMILY = (('name', 40), ('relation', 20), ('phone', 20), ('is_guardian', None), ('id_type', 2),
          ('id_number', 18), ('address', 200), ('work_unit', 100))


def _text(name: str, length: int, default: str = '') -> sa.Column:
    return sa.Column(name, sa.String(length=length), server_default=default, nullable=False)


def _flag(name: str) -> sa.Column:
    return sa.Column(name, sa.Boolean(), server_default=sa.false(), nullable=False)


def _student_columns() -> list[sa.Column]:
    columns = [
        sa.Column('incoming_school_id', BigId, nullable=True),
        _text('ethnicity', 20, '汉族'), _text('entry_month', 6), _flag('is_boarding'), _text('hukou_place', 200),
        _text('hukou_nature', 2), _text('phone', 20), _flag('is_migrant'), _flag('is_orphan'),
        _text('disability', 2), _flag('needs_aid'), _flag('receives_subsidy'),
        sa.Column('distance_km', sa.Float(), nullable=True),
        sa.Column('updated_at', When, server_default=sa.func.now(), nullable=False),
    ]
    for n in (1, 2):
        for field, length in FAMILY:
            name = f'family{n}_{field}'
            columns.append(_flag(name) if length is None else _text(name, length))
    return columns


def upgrade() -> None:
    with op.batch_alter_table('students', schema=None) as batch_op:
        for column in _student_columns():
            batch_op.add_column(column)
        batch_op.alter_column('id_number', existing_type=sa.String(length=18), nullable=True)
        batch_op.create_foreign_key('fk_incoming_school_schools', 'schools', ['township_id', 'incoming_school_id'],
                                    ['township_id', 'id'])
    op.execute("UPDATE students SET family1_name = guardian_name, family1_phone = guardian_phone, "
               "family1_is_guardian = (guardian_name <> '')")
    with op.batch_alter_table('students', schema=None) as batch_op:
        batch_op.drop_column('guardian_name')
        batch_op.drop_column('guardian_phone')
    op.create_index('ix_students_incoming_school_id', 'students', ['township_id', 'incoming_school_id'],
                    postgresql_where=sa.text('incoming_school_id IS NOT NULL'),
                    sqlite_where=sa.text('incoming_school_id IS NOT NULL'))

    with op.batch_alter_table('townships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transfer_confirm_days', sa.SmallInteger(), server_default='10',
                                      nullable=False))

    create_township_table(op, 'status_changes',
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('student_id', BigId, nullable=False),
        sa.Column('student_name', sa.String(length=40), nullable=False),
        sa.Column('school_id', BigId, nullable=False),
        sa.Column('class_id', BigId, nullable=True),
        sa.Column('to_school_id', BigId, nullable=True),
        sa.Column('to_class_id', BigId, nullable=True),
        sa.Column('central_school_id', BigId, nullable=True),
        sa.Column('destination', sa.String(length=200), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('document_key', sa.String(length=120), nullable=False),
        sa.Column('document_name', sa.String(length=120), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('next_step', sa.String(length=30), nullable=False),
        sa.Column('effective_on', sa.Date(), nullable=True),
        sa.Column('requested_by', BigId, nullable=False),
        sa.Column('requested_at', When, nullable=False),
        sa.Column('finished_at', When, nullable=True),
        township_fk('student_id', 'students'),
        township_fk('school_id', 'schools'),
        township_fk('to_school_id', 'schools'),
        township_fk('central_school_id', 'schools'),
        township_fk('class_id', 'school_classes'),
        township_fk('to_class_id', 'school_classes'),
        indexes=(('student_id',), ('school_id',)),
    )
    # One open change per child: two requests made at once cannot both stand.
    op.create_index('uq_status_changes_open', 'status_changes', ['township_id', 'student_id'], unique=True,
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    create_township_table(op, 'status_steps',
        sa.Column('change_id', BigId, nullable=False),
        sa.Column('step', sa.String(length=30), nullable=False),
        sa.Column('approved', sa.Boolean(), nullable=False),
        sa.Column('opinion', sa.Text(), nullable=False),
        sa.Column('user_id', BigId, nullable=False),
        sa.Column('actor_name', sa.String(length=64), nullable=False),
        sa.Column('decided_at', When, nullable=False),
        sa.UniqueConstraint('township_id', 'change_id', 'step', name='uq_status_steps_step'),
        township_fk('change_id', 'status_changes'),
        indexes=(('change_id',),),
    )
    create_township_table(op, 'work_items',
        sa.Column('kind', sa.String(length=60), nullable=False),
        sa.Column('subject_type', sa.String(length=40), nullable=False),
        sa.Column('subject_id', BigId, nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('href', sa.String(length=200), nullable=False),
        sa.Column('owner_membership_id', BigId, nullable=True),
        sa.Column('owner_unit_kind', sa.String(length=20), nullable=False),
        sa.Column('owner_unit_id', BigId, nullable=True),
        sa.Column('owner_role', sa.String(length=32), nullable=False),
        sa.Column('shows_from', sa.Date(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('opened_at', When, nullable=False),
        sa.Column('closed_at', When, nullable=True),
        township_fk('owner_membership_id', 'memberships'),
        indexes=(('subject_type', 'subject_id'), ('owner_unit_kind', 'owner_unit_id')),
    )
    # What a home page asks: the open items of my unit, soonest first.
    op.create_index('ix_work_items_open', 'work_items', ['township_id', 'owner_unit_kind', 'owner_unit_id', 'due_on'],
                    postgresql_where=sa.text('closed_at IS NULL'), sqlite_where=sa.text('closed_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_work_items_open', table_name='work_items')
    op.drop_table('work_items')
    op.drop_table('status_steps')
    op.drop_table('status_changes')
    # Never recreated on SQLite: every township table refers to townships.
    with op.batch_alter_table('townships', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('transfer_confirm_days')
    op.drop_index('ix_students_incoming_school_id', table_name='students')
    with op.batch_alter_table('students', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guardian_name', sa.String(length=40), server_default='', nullable=False))
        batch_op.add_column(sa.Column('guardian_phone', sa.String(length=20), server_default='', nullable=False))
    op.execute("UPDATE students SET guardian_name = family1_name, guardian_phone = family1_phone")
    with op.batch_alter_table('students', schema=None) as batch_op:
        batch_op.drop_constraint('fk_incoming_school_schools', type_='foreignkey')
        for column in reversed(_student_columns()):
            batch_op.drop_column(column.name)
        batch_op.alter_column('id_number', existing_type=sa.String(length=18), nullable=False)
