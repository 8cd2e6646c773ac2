"""foundation: tenancy, identity, audit, jobs, students, figures

Revision ID: 0001
Revises:
Create Date: 2026-11-25 (rewritten 2026-11-27, before any deployment: keys include the township)

Township tables come from `create_township_table`: primary key (township_id, id), composite
foreign keys inside the township, forced row-level security. The runtime role `baoxue_app`
owns nothing, may not rewrite the audit trail, and reads `users` only for itself, the people
of its township, and the one account being signed into.
"""

from alembic import op
import sqlalchemy as sa

from baoxue.platform.rls import (
    APP_ROLE, CURRENT_TOWNSHIP, CURRENT_USER_ID, LOGIN_USERNAME, create_app_role, create_township_table,
    grant_app, township_fk, widen_township_read,
)

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)


def _name(length: int = 80) -> sa.Column:
    return sa.Column('name', sa.String(length=length), nullable=False)


def _named_by_own_membership(column: str) -> str:
    """A person reads the name of a unit their own membership names (to choose that membership)."""
    return f"id IN (SELECT {column} FROM memberships WHERE user_id = {CURRENT_USER_ID})"


def upgrade() -> None:
    create_app_role(op)
    op.create_table('townships',
        sa.Column('id', BigId, primary_key=True),
        _name(),
        sa.Column('county', sa.String(length=80), nullable=False),
        sa.Column('code', sa.String(length=20), nullable=False),
        sa.Column('created_at', When, nullable=False),
        sa.UniqueConstraint('code', name='uq_townships_code'),
    )
    op.create_table('users',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('display_name', sa.String(length=64), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('failed_logins', sa.SmallInteger(), nullable=False),
        sa.Column('locked_until', When, nullable=True),
        sa.Column('password_changed_at', When, nullable=False),
        sa.Column('created_at', When, nullable=False),
        sa.UniqueConstraint('username', name='uq_users_username'),
    )
    # Usernames are unique whatever their case, across every township; the application cannot
    # check that itself (it sees only its own township's people), so the database does.
    op.create_index('uq_users_username_lower', 'users', [sa.text('lower(username)')], unique=True)
    op.create_table('audit_events',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('township_id', BigId, sa.ForeignKey('townships.id', name='fk_audit_events_township'), nullable=True),
        sa.Column('occurred_at', When, nullable=False),
        sa.Column('user_id', BigId, sa.ForeignKey('users.id', name='fk_audit_events_user'), nullable=True),
        sa.Column('membership_id', BigId, nullable=True),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.Column('event', sa.String(length=64), nullable=False),
        sa.Column('entity_type', sa.String(length=40), nullable=False),
        sa.Column('entity_id', sa.String(length=40), nullable=False),
        sa.Column('outcome', sa.String(length=12), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('request_id', sa.String(length=40), nullable=False),
        sa.Column('ip', sa.String(length=45), nullable=False),
    )
    op.create_index('ix_audit_events_township_id', 'audit_events', ['township_id'])
    op.create_index('ix_audit_events_event', 'audit_events', ['event'])
    op.create_index('ix_audit_events_occurred_at', 'audit_events', ['occurred_at'])
    op.create_table('auth_sessions',
        sa.Column('id', sa.String(length=64), primary_key=True),
        sa.Column('user_id', BigId, sa.ForeignKey('users.id', name='fk_auth_sessions_user'), nullable=False),
        sa.Column('membership_id', BigId, nullable=True),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', When, nullable=False),
        sa.Column('last_seen_at', When, nullable=False),
        sa.Column('expires_at', When, nullable=False),
        sa.Column('revoked_at', When, nullable=True),
    )
    op.create_index('ix_auth_sessions_user_id', 'auth_sessions', ['user_id'])

    create_township_table(op, 'villages',
        _name(),
        sa.Column('code', sa.String(length=20), nullable=False),
        sa.UniqueConstraint('township_id', 'name', name='uq_villages_name'),
    )
    create_township_table(op, 'departments',
        sa.Column('duty_code', sa.String(length=40), nullable=False),
        _name(),
        sa.UniqueConstraint('township_id', 'duty_code', name='uq_departments_duty_code'),
    )
    create_township_table(op, 'schools',
        _name(),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('code', sa.String(length=20), nullable=False),
        sa.Column('village_id', BigId, nullable=True),
        sa.UniqueConstraint('township_id', 'name', name='uq_schools_name'),
        township_fk('village_id', 'villages'),
    )
    create_township_table(op, 'school_classes',
        sa.Column('school_id', BigId, nullable=False),
        sa.Column('grade', sa.SmallInteger(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('entry_year', sa.SmallInteger(), nullable=False),
        sa.UniqueConstraint('township_id', 'school_id', 'name', name='uq_school_classes_school_name'),
        township_fk('school_id', 'schools'),
    )
    create_township_table(op, 'memberships',
        sa.Column('user_id', BigId, sa.ForeignKey('users.id', name='fk_memberships_user'), nullable=False),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.Column('school_id', BigId, nullable=True),
        sa.Column('village_id', BigId, nullable=True),
        sa.Column('department_id', BigId, nullable=True),
        sa.Column('title', sa.String(length=64), nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('created_at', When, nullable=False),
        township_fk('school_id', 'schools'),
        township_fk('village_id', 'villages'),
        township_fk('department_id', 'departments'),
        # A person may read their own memberships in any township, to choose one to act in.
        extra_read=f"user_id = {CURRENT_USER_ID}",
    )
    op.create_index('ix_memberships_user_id', 'memberships', ['user_id'])
    for table, column in (('schools', 'school_id'), ('villages', 'village_id'), ('departments', 'department_id')):
        widen_township_read(op, table, _named_by_own_membership(column))
    create_township_table(op, 'membership_classes',
        sa.Column('membership_id', BigId, nullable=False),
        sa.Column('class_id', BigId, nullable=False),
        sa.UniqueConstraint('township_id', 'membership_id', 'class_id', name='uq_membership_classes_pair'),
        township_fk('membership_id', 'memberships'),
        township_fk('class_id', 'school_classes'),
        extra_read=f"membership_id IN (SELECT id FROM memberships WHERE user_id = {CURRENT_USER_ID})",
        indexes=(('membership_id',),),
    )
    create_township_table(op, 'students',
        sa.Column('school_id', BigId, nullable=False),
        sa.Column('class_id', BigId, nullable=True),
        sa.Column('residence_village_id', BigId, nullable=True),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('gender', sa.String(length=2), nullable=False),
        sa.Column('birth_date', sa.Date(), nullable=False),
        sa.Column('id_type', sa.String(length=2), nullable=False),
        sa.Column('id_number', sa.String(length=18), nullable=False),
        sa.Column('student_number', sa.String(length=19), nullable=False),
        sa.Column('status', sa.String(length=2), nullable=False),
        sa.Column('left_behind', sa.SmallInteger(), nullable=False),
        sa.Column('guardian_name', sa.String(length=40), nullable=False),
        sa.Column('guardian_phone', sa.String(length=20), nullable=False),
        sa.Column('address', sa.String(length=200), nullable=False),
        sa.Column('family_circumstances', sa.Text(), nullable=False),
        sa.Column('is_poor_household', sa.Boolean(), nullable=False),
        sa.Column('created_at', When, nullable=False),
        sa.UniqueConstraint('township_id', 'id_number', name='uq_students_id_number'),
        sa.UniqueConstraint('township_id', 'student_number', name='uq_students_student_number'),
        township_fk('school_id', 'schools'),
        township_fk('class_id', 'school_classes'),
        township_fk('residence_village_id', 'villages'),
        indexes=(('school_id',), ('class_id',), ('residence_village_id',)),
    )
    create_township_table(op, 'figure_snapshots',
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('computed_at', When, nullable=False),
        sa.Column('job_key', sa.String(length=120), nullable=False),
        sa.UniqueConstraint('township_id', 'kind', 'job_key', name='uq_figure_snapshots_job'),
    )
    create_township_table(op, 'enrolment_counts',
        sa.Column('snapshot_id', BigId, nullable=False),
        sa.Column('school_id', BigId, nullable=False),
        sa.Column('class_id', BigId, nullable=True),
        sa.Column('grade', sa.SmallInteger(), nullable=False),
        sa.Column('residence_village_id', BigId, nullable=True),
        sa.Column('gender', sa.String(length=2), nullable=False),
        sa.Column('count', BigId, nullable=False),
        township_fk('snapshot_id', 'figure_snapshots', ondelete='CASCADE'),
        township_fk('school_id', 'schools'),
        township_fk('class_id', 'school_classes'),
        township_fk('residence_village_id', 'villages'),
        indexes=(('snapshot_id',),),
    )
    create_township_table(op, 'job_runs',
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('actor', sa.String(length=80), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('attempts', BigId, nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('result', sa.JSON(), nullable=False),
        sa.Column('created_at', When, nullable=False),
        sa.Column('finished_at', When, nullable=True),
        sa.UniqueConstraint('township_id', 'key', name='uq_job_runs_key'),
    )
    _global_tables_security()


def _global_tables_security() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # The township row: visible in its own transactions and to its members when they choose.
    op.execute("ALTER TABLE townships ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE townships FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY township_self ON townships FOR SELECT USING (id = {CURRENT_TOWNSHIP} OR id IN "
        f"(SELECT township_id FROM memberships WHERE user_id = {CURRENT_USER_ID}))"
    )
    op.execute(f"CREATE POLICY township_update ON townships FOR UPDATE USING (id = {CURRENT_TOWNSHIP})")
    grant_app(op, "townships", "SELECT, UPDATE")
    # People are global (one login, memberships anywhere), but a person reads only their own
    # row, the rows of people with a membership in the township they act in, and — while
    # signing in — the one account named. Only a township's own transactions create people.
    op.execute("ALTER TABLE users ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE users FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY users_read ON users FOR SELECT USING (id = {CURRENT_USER_ID} OR username = {LOGIN_USERNAME}"
        f" OR id IN (SELECT user_id FROM memberships WHERE township_id = {CURRENT_TOWNSHIP}))"
    )
    op.execute(f"CREATE POLICY users_insert ON users FOR INSERT WITH CHECK ({CURRENT_TOWNSHIP} IS NOT NULL)")
    op.execute(
        f"CREATE POLICY users_update ON users FOR UPDATE USING (id = {CURRENT_USER_ID} OR username = {LOGIN_USERNAME})"
    )
    grant_app(op, "users", "SELECT, INSERT, UPDATE")
    # The audit trail is append-only for the application: SELECT and INSERT, nothing else.
    op.execute("ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE audit_events FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY audit_read ON audit_events FOR SELECT USING (township_id = {CURRENT_TOWNSHIP})")
    op.execute(
        f"CREATE POLICY audit_insert ON audit_events FOR INSERT WITH CHECK "
        f"(township_id IS NULL OR township_id = {CURRENT_TOWNSHIP} OR township_id IN "
        f"(SELECT township_id FROM memberships WHERE user_id = {CURRENT_USER_ID}))"
    )
    grant_app(op, "audit_events", "SELECT, INSERT")
    # Sessions are found by the SHA-256 of a secret nobody stores: no row is of use without it.
    grant_app(op, "auth_sessions")
    op.execute(f"GRANT SELECT ON alembic_version TO {APP_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # These policies read memberships; they must go before the table does.
        for policy, table in (("audit_insert", "audit_events"), ("township_self", "townships"),
                              ("users_read", "users"), ("township_read", "schools"), ("township_read", "villages"),
                              ("township_read", "departments")):
            op.execute(f"DROP POLICY IF EXISTS {policy} ON {table}")
    for table in ("job_runs", "enrolment_counts", "figure_snapshots", "students", "membership_classes", "memberships",
                  "school_classes", "schools", "departments", "villages", "auth_sessions", "audit_events",
                  "users", "townships"):
        op.drop_table(table)
