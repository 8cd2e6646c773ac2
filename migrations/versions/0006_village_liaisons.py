"""villages: the township cadre who takes each village (包村干部)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

The government line of a case names this cadre. On PostgreSQL the column refers to the
membership inside the township; SQLite adds the column alone (adding a foreign key there would
rebuild `villages`, which every school and student refers to).
"""

from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.add_column('villages', sa.Column('liaison_membership_id', BigId, nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.create_foreign_key('fk_liaison_membership_memberships', 'villages', 'memberships',
                              ['township_id', 'liaison_membership_id'], ['township_id', 'id'])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint('fk_liaison_membership_memberships', 'villages', type_='foreignkey')
    with op.batch_alter_table('villages', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('liaison_membership_id')
