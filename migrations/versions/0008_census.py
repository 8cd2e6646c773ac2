"""census, household register, poverty list, the reconciliation's findings, and the cross-township check

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28

`enrolment_check(ids)` is the one place a township learns anything of another's rolls: on
PostgreSQL a SECURITY DEFINER function owned by the migration role, with a fixed search_path,
that the runtime role may execute and nothing more. It answers only for ID numbers on the
calling township's own lists or rolls, and only "here / elsewhere / both / nowhere" (and, for
the caller's own pupils, whether any other township lists them): never a name, a school or a
township. `tests/tenants/census/test_crosscheck.py` probes it.
"""

from alembic import op
import sqlalchemy as sa

from baoxue.platform.rls import APP_ROLE, CURRENT_TOWNSHIP, create_township_table, township_fk

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)
ON_A_ROLL = "('01', '02', '05')"  # 在读, 休学, 复学: a child a school answers for

ENROLMENT_CHECK = f"""
CREATE FUNCTION enrolment_check(ids text[])
RETURNS TABLE (id_number text, enrolled text, listed_elsewhere boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
SET work_mem = '64MB'
AS $fn$
BEGIN
  -- Planned per call with the array in hand (EXECUTE ... USING): a nightly call asks about a
  -- township's hundred thousand children, and a generic plan would probe an index for each.
  RETURN QUERY EXECUTE $q$
  WITH me AS (SELECT {CURRENT_TOWNSHIP} AS township_id),
  asked AS (  -- the ID numbers the asking township holds: it is answered about these only
    SELECT a.id, bool_or(mine.listed) AS listed_here
    FROM (SELECT DISTINCT unnest($1) AS id) AS a
    JOIN (SELECT c.id_number AS id, true AS listed FROM public.census_children c, me
          WHERE c.township_id = me.township_id
          UNION ALL
          SELECT s.id_number, false FROM public.students s, me
          WHERE s.township_id = me.township_id AND s.id_number IS NOT NULL) AS mine ON mine.id = a.id
    GROUP BY a.id
  ),
  rolls AS (
    SELECT s.id_number, bool_or(s.township_id = me.township_id) AS here, bool_or(s.township_id <> me.township_id) AS there
    FROM public.students s JOIN asked ON asked.id = s.id_number, me
    WHERE s.status IN {ON_A_ROLL} GROUP BY s.id_number
  ),
  listed_there AS (  -- asked only of one's own pupils that one's own lists lack (a possible 空挂)
    SELECT DISTINCT c.id_number FROM public.census_children c JOIN asked ON asked.id = c.id_number, me
    WHERE NOT asked.listed_here AND c.township_id <> me.township_id
  )
  SELECT asked.id,
         CASE WHEN rolls.here AND rolls.there THEN 'both' WHEN rolls.here THEN 'here'
              WHEN rolls.there THEN 'elsewhere' ELSE 'nowhere' END,
         CASE WHEN rolls.here THEN listed_there.id_number IS NOT NULL END
  FROM asked LEFT JOIN rolls ON rolls.id_number = asked.id LEFT JOIN listed_there ON listed_there.id_number = asked.id
  $q$ USING ids;
END
$fn$
"""


def _text(name: str, length: int | None = None, default: str = '') -> sa.Column:
    kind = sa.Text() if length is None else sa.String(length=length)
    return sa.Column(name, kind, server_default=default, nullable=False)


def upgrade() -> None:
    create_township_table(op, 'census_children',
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('village_id', BigId, nullable=True),
        _text('village_group', 40),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('id_number', sa.String(length=18), nullable=False),
        sa.Column('birth_date', sa.Date(), nullable=False),
        sa.Column('gender', sa.String(length=2), nullable=False),
        _text('hukou_place', 200), _text('guardian_name', 40), _text('guardian_id_number', 18),
        _text('guardian_phone', 20),
        sa.Column('lives_here', sa.Boolean(), server_default=sa.true(), nullable=False),
        _text('note', 200),
        sa.Column('entered_by', BigId, nullable=False),
        sa.Column('entered_at', When, nullable=False),
        sa.UniqueConstraint('township_id', 'source', 'id_number', name='uq_census_children_source_id'),
        township_fk('village_id', 'villages'),
        indexes=(('village_id',),),
    )
    op.create_index('ix_census_children_id_number', 'census_children', ['id_number'])
    create_township_table(op, 'poverty_households',
        sa.Column('guardian_id_number', sa.String(length=18), nullable=False),
        sa.Column('householder', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('village_id', BigId, nullable=True),
        sa.Column('entered_by', BigId, nullable=False),
        sa.Column('entered_at', When, nullable=False),
        sa.UniqueConstraint('township_id', 'guardian_id_number', name='uq_poverty_households_guardian'),
        township_fk('village_id', 'villages'),
    )
    create_township_table(op, 'census_runs',
        sa.Column('job_key', sa.String(length=120), nullable=False),
        sa.Column('reference_day', sa.Date(), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.Column('ran_by', BigId, nullable=True),
        sa.Column('ran_at', When, nullable=False),
        sa.UniqueConstraint('township_id', 'job_key', name='uq_census_runs_key'),
    )
    create_township_table(op, 'census_findings',
        sa.Column('run_id', BigId, nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('id_number', sa.String(length=18), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('birth_date', sa.Date(), nullable=False),
        sa.Column('village_id', BigId, nullable=True),
        _text('village_group', 40), _text('guardian_name', 40), _text('sources', 20),
        sa.Column('school_id', BigId, nullable=True),
        sa.Column('student_id', BigId, nullable=True),
        sa.Column('case_id', BigId, nullable=True),
        _text('poverty', 20),
        township_fk('run_id', 'census_runs'),
        township_fk('village_id', 'villages'),
        township_fk('school_id', 'schools'),
        township_fk('student_id', 'students'),
        indexes=(('run_id',), ('village_id',), ('school_id',)),
    )
    # The cross-township question looks children up by ID number alone.
    op.create_index('ix_students_id_number', 'students', ['id_number'])
    with op.batch_alter_table('cases', schema=None, recreate='never') as batch_op:
        # 四查三比对's third check: the family is on the poverty list (脱贫户 / 低保户): aid first.
        batch_op.add_column(sa.Column('priority_household', sa.String(length=20), server_default='', nullable=False))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(ENROLMENT_CHECK)
        op.execute("REVOKE ALL ON FUNCTION enrolment_check(text[]) FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION enrolment_check(text[]) TO {APP_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION enrolment_check(text[])")
    with op.batch_alter_table('cases', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('priority_household')
    op.drop_index('ix_students_id_number', table_name='students')
    for table in ('census_findings', 'census_runs', 'poverty_households', 'census_children'):
        op.drop_table(table)
