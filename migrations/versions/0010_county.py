"""county: counties group townships; county viewers; the figures a township publishes to its county

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28

A county (县教育局) groups townships (`townships.county_id`). Its viewers are people with a
`county_memberships` row: no township membership, no township scope. What they read is
`published_figures`: one row per township and period, written by the township's own figures job
(aggregates only, never a child). The wall stays: the row-level policy lets a transaction read
the rows of its own township or of the county in `app.county_id`, and a restrictive policy
refuses a row published to a county the township does not belong to.
"""

from alembic import op
import sqlalchemy as sa

from baoxue.platform.rls import APP_ROLE, CURRENT_USER_ID, create_township_table, grant_app

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)
CURRENT_COUNTY = "nullif(current_setting('app.county_id', true), '')::bigint"
THE_TOWNSHIPS_COUNTY = "county_id = (SELECT t.county_id FROM townships t WHERE t.id = township_id)"


def upgrade() -> None:
    op.create_table('counties',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('created_at', When, nullable=False),
        sa.UniqueConstraint('code', name='uq_counties_code'),
    )
    with op.batch_alter_table('townships', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('county_id', BigId, nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.create_foreign_key('fk_townships_county', 'townships', 'counties', ['county_id'], ['id'])
    op.create_table('county_memberships',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('county_id', BigId, sa.ForeignKey('counties.id', name='fk_county_memberships_county'),
                  nullable=False),
        sa.Column('user_id', BigId, sa.ForeignKey('users.id', name='fk_county_memberships_user'), nullable=False),
        sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('created_at', When, nullable=False),
        sa.UniqueConstraint('county_id', 'user_id', name='uq_county_memberships_county_id_user_id'),
    )
    op.create_index('ix_county_memberships_user_id', 'county_memberships', ['user_id'])
    create_township_table(op, 'published_figures',
        sa.Column('county_id', BigId, sa.ForeignKey('counties.id', name='fk_published_figures_county'),
                  nullable=False),
        sa.Column('period', sa.String(length=24), nullable=False),
        sa.Column('township_name', sa.String(length=80), nullable=False),
        sa.Column('published_at', When, nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.UniqueConstraint('township_id', 'period', name='uq_published_figures_period'),
        extra_read=f"county_id = {CURRENT_COUNTY}",
    )
    op.create_index('ix_published_figures_county_id_period', 'published_figures', ['county_id', 'period'])
    if op.get_bind().dialect.name == 'postgresql':
        # Counties are names, not secrets; who belongs to one is the person's own business.
        op.execute(f"GRANT SELECT ON counties TO {APP_ROLE}")
        op.execute("ALTER TABLE county_memberships ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE county_memberships FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY county_memberships_own ON county_memberships FOR SELECT "
                   f"USING (user_id = {CURRENT_USER_ID})")
        grant_app(op, 'county_memberships', 'SELECT')
        # A township publishes to its own county only, whatever the application asks.
        for verb in ('INSERT', 'UPDATE'):
            check = "WITH CHECK" if verb == 'INSERT' else "USING (true) WITH CHECK"
            op.execute(f"CREATE POLICY published_to_own_county_{verb.lower()} ON published_figures AS RESTRICTIVE "
                       f"FOR {verb} {check} ({THE_TOWNSHIPS_COUNTY})")


def downgrade() -> None:
    op.drop_table('published_figures')
    op.drop_table('county_memberships')
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint('fk_townships_county', 'townships', type_='foreignkey')
    with op.batch_alter_table('townships', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('county_id')
    op.drop_table('counties')
