"""figures: period counts, targets, monthly reports; the township's figure settings

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28

Townships get `suspension_counts` (whether 休学 counts in enrolment, printed with every figure)
and `report_cutoff_day` (the day of the month a school's 月报 is due). Every existing township
gets the seed targets (DOMAIN.md §5); a township created later reads the same defaults until its
office saves its own (tenants/figures/settings.py).
"""

from alembic import op
import sqlalchemy as sa

from baoxue.platform.rls import create_township_table, township_fk

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)
MEASURES = ("start_enrolled", "start_suspended", "transfers_in", "transfers_out", "suspensions", "resumptions",
            "elsewhere", "deaths", "suspended_deaths", "graduations", "suspected", "dropouts", "returns",
            "end_enrolled", "end_suspended")
# (level, metric, hundredths of a percent): primary ≤ 2 %, junior ≤ 3 %, grades 7/8/9 ≤ 1.5/2/3 %,
# a school ≤ 2 %, retention ≥ 98 % (seeds 000, 001, 004).
SEED_TARGETS = (("primary", "dropout_max", 200), ("junior", "dropout_max", 300), ("grade7", "dropout_max", 150),
                ("grade8", "dropout_max", 200), ("grade9", "dropout_max", 300), ("school", "dropout_max", 200),
                ("all", "retention_min", 9800))


def upgrade() -> None:
    # recreate='never': SQLite adds columns in place (every table refers to townships).
    with op.batch_alter_table('townships', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('suspension_counts', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('report_cutoff_day', sa.SmallInteger(), server_default='28', nullable=False))

    create_township_table(op, 'period_counts',
        sa.Column('snapshot_id', BigId, nullable=False),
        sa.Column('period', sa.String(length=24), nullable=False),
        sa.Column('school_id', BigId, nullable=False),
        sa.Column('class_id', BigId, nullable=True),
        sa.Column('grade', sa.SmallInteger(), nullable=False),
        sa.Column('residence_village_id', BigId, nullable=True),
        *(sa.Column(name, sa.Integer(), server_default='0', nullable=False) for name in MEASURES),
        township_fk('snapshot_id', 'figure_snapshots', ondelete='CASCADE'),
        township_fk('school_id', 'schools'),
        township_fk('class_id', 'school_classes'),
        township_fk('residence_village_id', 'villages'),
        indexes=(('snapshot_id',), ('period',)),
    )
    create_township_table(op, 'figure_targets',
        sa.Column('level', sa.String(length=12), nullable=False),
        sa.Column('metric', sa.String(length=16), nullable=False),
        sa.Column('hundredths', sa.Integer(), nullable=False),
        sa.UniqueConstraint('township_id', 'level', 'metric', name='uq_figure_targets_level_metric'),
    )
    create_township_table(op, 'monthly_reports',
        sa.Column('school_id', BigId, nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('submitted_at', When, nullable=True),
        sa.Column('submitted_by', BigId, nullable=True),
        sa.Column('submitter_name', sa.String(length=64), server_default='', nullable=False),
        sa.Column('rows', sa.JSON(), nullable=False),
        sa.UniqueConstraint('township_id', 'school_id', 'month', name='uq_monthly_reports_school_month'),
        township_fk('school_id', 'schools'),
        indexes=(('school_id',),),
    )
    for level, metric, hundredths in SEED_TARGETS:
        op.execute(sa.text("INSERT INTO figure_targets (township_id, level, metric, hundredths) "
                           "SELECT id, :level, :metric, :hundredths FROM townships")
                   .bindparams(level=level, metric=metric, hundredths=hundredths))


def downgrade() -> None:
    for table in ('monthly_reports', 'figure_targets', 'period_counts'):
        op.drop_table(table)
    with op.batch_alter_table('townships', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('report_cutoff_day')
        batch_op.drop_column('suspension_counts')
