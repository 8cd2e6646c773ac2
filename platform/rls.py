"""Row-level security for tenant-owned tables, written by migrations.

Every revision that creates a table with `township_id` calls `enable_township_rls(op, table)`;
`tests/platform/test_rls.py` checks that no such table escaped. On SQLite these are no-ops:
there the service-layer scope is the only wall (the README says so).
"""

from __future__ import annotations

from typing import Any

APP_ROLE = "baoxue_app"
CURRENT_TOWNSHIP = "nullif(current_setting('app.township_id', true), '')::bigint"
CURRENT_USER_ID = "nullif(current_setting('app.user_id', true), '')::bigint"


def _is_postgresql(op: Any) -> bool:
    return op.get_bind().dialect.name == "postgresql"


def enable_township_rls(op: Any, table: str, *, extra_read: str | None = None) -> None:
    """Hide every row whose township is not the transaction's; refuse writes into another.

    `extra_read` widens reading only (e.g. a user may read their own memberships in any
    township, to choose one); writing always needs the transaction's township.
    """
    if not _is_postgresql(op):
        return
    using = f"township_id = {CURRENT_TOWNSHIP}"
    read = f"({using}) OR ({extra_read})" if extra_read else using
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY township_read ON {table} FOR SELECT USING ({read})")
    op.execute(f"CREATE POLICY township_insert ON {table} FOR INSERT WITH CHECK ({using})")
    op.execute(f"CREATE POLICY township_update ON {table} FOR UPDATE USING ({using}) WITH CHECK ({using})")
    op.execute(f"CREATE POLICY township_delete ON {table} FOR DELETE USING ({using})")


def grant_app(op: Any, table: str, privileges: str = "SELECT, INSERT, UPDATE, DELETE") -> None:
    if not _is_postgresql(op):
        return
    op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
    op.execute(
        f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_class WHERE relname = '{table}_id_seq') THEN "
        f"EXECUTE 'GRANT USAGE, SELECT ON SEQUENCE {table}_id_seq TO {APP_ROLE}'; END IF; END $$"
    )


def create_app_role(op: Any) -> None:
    """The group role the runtime login belongs to: no table, no BYPASSRLS, no login of its own."""
    if not _is_postgresql(op):
        return
    op.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN "
        f"CREATE ROLE {APP_ROLE} NOLOGIN NOBYPASSRLS; END IF; END $$"
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
