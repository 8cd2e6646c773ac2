"""Township tables as migrations write them: keys, the row-level-security wall, grants.

Every revision creates a township table with `create_township_table(op, name, ...)`, which
writes in one call what every such table must have:

* primary key `(township_id, id)` on PostgreSQL — every primary and unique key of a township
  table includes the township, as a sharded PostgreSQL (Citus, distributed by `township_id`)
  requires; `tests/platform/test_rls.py` checks it on the migrated schema. SQLite keeps `id`
  as its rowid key (its only auto-numbering) and adds `UNIQUE (township_id, id)`, which the
  composite foreign keys reference there;
* composite foreign keys `(township_id, x_id) -> other(township_id, id)` (declare them with
  `township_fk`): a row cannot point into another township, whatever the application does;
* row-level security enabled and forced with its policies, and the runtime role's grants.

On SQLite the security statements are no-ops: there the service-layer scope is the only wall.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

APP_ROLE = "baoxue_app"
CURRENT_TOWNSHIP = "nullif(current_setting('app.township_id', true), '')::bigint"
CURRENT_USER_ID = "nullif(current_setting('app.user_id', true), '')::bigint"
LOGIN_USERNAME = "nullif(current_setting('app.login_username', true), '')"


def _is_postgresql(op: Any) -> bool:
    return op.get_bind().dialect.name == "postgresql"


def township_fk(column: str, table: str, **kwargs: Any) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["township_id", column], [f"{table}.township_id", f"{table}.id"],
                                   name=f"fk_{_short(column)}_{_short(table)}", **kwargs)


def _short(name: str) -> str:
    return name.removesuffix("_id")


def create_township_table(op: Any, name: str, *items: Any, extra_read: str | None = None,
                          indexes: tuple[tuple[str, ...], ...] = ()) -> None:
    """`id`, `township_id` and `items` (columns and constraints), keyed, walled and granted."""
    postgresql = _is_postgresql(op)
    if postgresql:
        head = [sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
                sa.Column("township_id", sa.BigInteger(), nullable=False),
                sa.PrimaryKeyConstraint("township_id", "id", name=f"pk_{name}")]
    else:
        head = [sa.Column("id", sa.Integer(), primary_key=True),
                sa.Column("township_id", sa.Integer(), nullable=False),
                sa.UniqueConstraint("township_id", "id", name=f"uq_{name}_township_id_id")]
    township = sa.ForeignKeyConstraint(["township_id"], ["townships.id"], ondelete="RESTRICT",
                                       name=f"fk_{name}_township")
    op.create_table(name, *head, *items, township)
    op.create_index(f"ix_{name}_township_id", name, ["township_id"])
    for columns in indexes:
        op.create_index(f"ix_{name}_{'_'.join(columns)}", name, ["township_id", *columns])
    enable_township_rls(op, name, extra_read=extra_read)
    grant_app(op, name)


def enable_township_rls(op: Any, table: str, *, extra_read: str | None = None) -> None:
    """Hide every row whose township is not the transaction's; refuse writes into another.

    `extra_read` widens reading only (a person reads their own memberships in any township,
    to choose one); writing always needs the transaction's township.
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


def widen_township_read(op: Any, table: str, extra_read: str) -> None:
    """Let a township table's rows also be read where `extra_read` holds (writing stays walled)."""
    if not _is_postgresql(op):
        return
    op.execute(f"ALTER POLICY township_read ON {table} USING "
               f"((township_id = {CURRENT_TOWNSHIP}) OR ({extra_read}))")


def grant_app(op: Any, table: str, privileges: str = "SELECT, INSERT, UPDATE, DELETE") -> None:
    if not _is_postgresql(op):
        return
    op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
    # Serial and identity columns both own a sequence; the app needs it to insert.
    op.execute(
        f"DO $$ DECLARE s text; BEGIN s := pg_get_serial_sequence('{table}', 'id'); "
        f"IF s IS NOT NULL THEN EXECUTE 'GRANT USAGE, SELECT ON SEQUENCE ' || s || ' TO {APP_ROLE}'; END IF; "
        f"EXCEPTION WHEN undefined_column THEN NULL; END $$"
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
