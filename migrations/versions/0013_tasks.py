"""tasks: the leading group's tasks, each assignee's copy, its steps and evidence; recurring templates

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28

A task given to many assignees is one `tasks` row and one `task_copies` row each, finished,
sent back and accepted on its own. A recurring template's task carries its period, unique with
the template, so a repeated or doubled scheduler job never makes a second one.
"""

from alembic import op
import sqlalchemy as sa

from baoxue.platform.rls import create_township_table, township_fk

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_township_table(op, 'task_templates',
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('instructions', sa.Text(), nullable=False, server_default=''),
        sa.Column('evidence', sa.String(length=40), nullable=False, server_default='note'),
        sa.Column('count_label', sa.String(length=40), nullable=False, server_default=''),
        sa.Column('recurrence', sa.String(length=20), nullable=False),
        sa.Column('day_of_month', sa.SmallInteger(), nullable=False),
        sa.Column('deadline_days', sa.SmallInteger(), nullable=False),
        sa.Column('assignees', sa.Text(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column('created_by_user_id', BigId, nullable=True),
        sa.Column('created_by_membership_id', BigId, nullable=True),
        sa.Column('created_by_name', sa.String(length=64), nullable=False, server_default=''),
        sa.Column('created_at', When, nullable=False),
    )
    create_township_table(op, 'tasks',
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('instructions', sa.Text(), nullable=False, server_default=''),
        sa.Column('evidence', sa.String(length=40), nullable=False, server_default='note'),
        sa.Column('count_label', sa.String(length=40), nullable=False, server_default=''),
        sa.Column('deadline', sa.Date(), nullable=False),
        sa.Column('assigned_by_user_id', BigId, nullable=True),
        sa.Column('assigned_by_membership_id', BigId, nullable=True),
        sa.Column('assigned_by_name', sa.String(length=64), nullable=False, server_default=''),
        sa.Column('template_id', BigId, nullable=True),
        sa.Column('period', sa.String(length=10), nullable=True),
        sa.Column('source_label', sa.String(length=120), nullable=False, server_default=''),
        sa.Column('source_href', sa.String(length=200), nullable=False, server_default=''),
        sa.Column('created_at', When, nullable=False),
        sa.UniqueConstraint('township_id', 'template_id', 'period', name='uq_tasks_template_period'),
        township_fk('template_id', 'task_templates'),
        indexes=(('deadline',),),
    )
    create_township_table(op, 'task_copies',
        sa.Column('task_id', BigId, nullable=False),
        sa.Column('assignee', sa.String(length=30), nullable=False),
        sa.Column('unit_kind', sa.String(length=20), nullable=False),
        sa.Column('unit_id', BigId, nullable=True),
        sa.Column('membership_id', BigId, nullable=True),
        sa.Column('assignee_name', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('progress', sa.Text(), nullable=False, server_default=''),
        sa.Column('note', sa.Text(), nullable=False, server_default=''),
        sa.Column('count_value', sa.Integer(), nullable=True),
        sa.Column('sent_back_reason', sa.Text(), nullable=False, server_default=''),
        sa.Column('submitted_by_user_id', BigId, nullable=True),
        sa.Column('submitted_at', When, nullable=True),
        sa.Column('accepted_at', When, nullable=True),
        sa.UniqueConstraint('township_id', 'task_id', 'assignee', name='uq_task_copies_assignee'),
        township_fk('task_id', 'tasks', ondelete='CASCADE'),
        indexes=(('task_id',), ('unit_kind', 'unit_id', 'state')),
    )
    create_township_table(op, 'task_steps',
        sa.Column('copy_id', BigId, nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('note', sa.Text(), nullable=False, server_default=''),
        sa.Column('user_id', BigId, nullable=True),
        sa.Column('actor_name', sa.String(length=64), nullable=False, server_default=''),
        sa.Column('occurred_at', When, nullable=False),
        sa.UniqueConstraint('township_id', 'copy_id', 'number', name='uq_task_steps_number'),
        township_fk('copy_id', 'task_copies', ondelete='CASCADE'),
        indexes=(('copy_id',),),
    )
    create_township_table(op, 'task_evidence',
        sa.Column('copy_id', BigId, nullable=False),
        sa.Column('label', sa.String(length=120), nullable=False),
        sa.Column('file_key', sa.String(length=200), nullable=True),
        sa.Column('href', sa.String(length=200), nullable=False, server_default=''),
        sa.Column('added_by_name', sa.String(length=64), nullable=False, server_default=''),
        sa.Column('added_at', When, nullable=False),
        township_fk('copy_id', 'task_copies', ondelete='CASCADE'),
        indexes=(('copy_id',),),
    )


def downgrade() -> None:
    for table in ('task_evidence', 'task_steps', 'task_copies', 'tasks', 'task_templates'):
        op.drop_table(table)
