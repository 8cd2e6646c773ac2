"""durable jobs: job_runs is the outbox, and a running job holds a lease

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

`sent_at` (NULL: recorded, never sent), `lease_until` (queued: when to send again; running:
when another worker may take the job over), `heartbeat_at` and `claimed_by` (the claim of the
run that holds it). Jobs left queued or running by the previous version get a lease already
past, so the dispatcher sends them again: those are the jobs the old after-commit send lost.
No table is created, so no row-level-security policy changes: job_runs keeps 0001's.
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

PENDING = "status IN ('queued', 'running')"


def upgrade() -> None:
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=120), server_default='', nullable=False))
    # The dispatcher's question, "what is pending?", reads a small partial index.
    op.create_index('ix_job_runs_pending', 'job_runs', ['status', 'lease_until'], unique=False,
                    postgresql_where=sa.text(PENDING), sqlite_where=sa.text(PENDING))
    op.execute(f"UPDATE job_runs SET lease_until = created_at WHERE {PENDING}")


def downgrade() -> None:
    op.drop_index('ix_job_runs_pending', table_name='job_runs')
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('sent_at')
