"""The database wall between townships, tested as the application's own role with raw SQL."""

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from baoxue.platform.db import TenantContext, new_session
from baoxue.platform.scoping import Scope
from baoxue.platform.rls import APP_ROLE

pytestmark = pytest.mark.postgres_only

def _township_tables() -> list[str]:
    from baoxue.platform.concepts import import_all_models
    from baoxue.platform.db import Base

    import_all_models()
    return sorted(name for name, table in Base.metadata.tables.items() if "township_id" in table.c
                  and name != "audit_events")


TOWNSHIP_TABLES = _township_tables()


def _raw(settings: Any, township_id: int | None, sql: str, **params: Any) -> list[Any]:
    """Raw SQL, no ORM and no filter: only the database stands between the townships."""
    session = new_session(TenantContext(scope=Scope.township(township_id)), settings)
    try:
        return list(session.execute(text(sql), params))
    finally:
        session.rollback()
        session.close()


def test_connected_as_the_runtime_role(demo: Any) -> None:
    (row,) = _raw(demo, None, "select current_user, pg_has_role(current_user, :r, 'member')", r=APP_ROLE)
    assert row[0] == "baoxue_test_web" and row[1]


@pytest.mark.parametrize("table", TOWNSHIP_TABLES)
def test_unfiltered_select_in_township_a_returns_no_row_of_b(demo: Any, townships: dict[str, int], table: str) -> None:
    a, b = townships["DEMO-BD"], townships["DEMO-LG"]
    seen = {r[0] for r in _raw(demo, a, f"select distinct township_id from {table}")}
    assert b not in seen
    if table in ("villages", "schools", "students", "memberships"):
        assert seen == {a}  # and the wall is not simply hiding everything


def test_no_township_set_sees_nothing(demo: Any) -> None:
    for table in TOWNSHIP_TABLES:
        assert _raw(demo, None, f"select count(*) from {table}")[0][0] == 0


def test_townships_row_of_b_is_invisible_in_a(demo: Any, townships: dict[str, int]) -> None:
    ids = {r[0] for r in _raw(demo, townships["DEMO-BD"], "select id from townships")}
    assert ids == {townships["DEMO-BD"]}


def test_writing_into_another_township_is_refused(demo: Any, townships: dict[str, int]) -> None:
    a, b = townships["DEMO-BD"], townships["DEMO-LG"]
    with pytest.raises(DBAPIError, match="row-level security"):
        _raw(demo, a, "insert into villages (township_id, name, code) values (:b, '越界村', '')", b=b)
    # An UPDATE aimed at B's rows from A matches nothing: they are not there for A.
    session = new_session(TenantContext(scope=Scope.township(a)), demo)
    try:
        result = session.execute(text("update villages set name = name || 'x' where township_id = :b"), {"b": b})
        assert result.rowcount == 0
    finally:
        session.rollback()
        session.close()


def test_the_setting_lives_for_one_transaction_only(demo: Any, townships: dict[str, int]) -> None:
    """A pooled connection must not carry one request's township into the next."""
    a = townships["DEMO-BD"]
    session = new_session(TenantContext(scope=Scope.township(a)), demo)
    try:
        conn = session.connection()
        assert conn.execute(text("select current_setting('app.township_id', true)")).scalar() == str(a)
        session.commit()
        raw = conn.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("select coalesce(current_setting('app.township_id', true), '')")
            assert cur.fetchone()[0] == ""
        finally:
            raw.close()
    finally:
        session.close()


def test_the_audit_trail_is_append_only_for_the_app(demo: Any, townships: dict[str, int]) -> None:
    a = townships["DEMO-BD"]
    for sql in ("update audit_events set event = 'x'", "delete from audit_events"):
        with pytest.raises(DBAPIError, match="permission denied"):
            _raw(demo, a, sql)


def _user_session(settings: Any, township_id: int | None, user_id: int | None = None, login: str = "") -> Any:
    scope = Scope.township(township_id) if township_id is not None else None
    return new_session(TenantContext(scope=scope, user_id=user_id, login_username=login), settings)


def _select_users(settings: Any, township_id: int | None, user_id: int | None = None, login: str = "") -> set[str]:
    session = _user_session(settings, township_id, user_id, login)
    try:
        return set(session.execute(text("select username from users")).scalars())
    finally:
        session.rollback()
        session.close()


def test_users_are_read_only_within_ones_township_oneself_and_the_login(demo: Any, townships: dict[str, int]) -> None:
    from baoxue.tenants.tenancy.demo import DEMO_USERS

    bd = {u["username"] for u in DEMO_USERS if u["township_code"] == "DEMO-BD"}
    lg = {u["username"] for u in DEMO_USERS if u["township_code"] == "DEMO-LG"}
    seen = _select_users(demo, townships["DEMO-BD"])
    assert bd <= seen and not (seen & lg)  # a township's people, and not one of the other's
    assert _select_users(demo, None) == set()  # no township, no person: nothing
    assert _select_users(demo, None, login="lg_admin") == {"lg_admin"}  # signing in: that one account
    (me,) = _raw_admin(demo, "select id from users where username = 'lg_leader'")
    assert _select_users(demo, None, user_id=me[0]) == {"lg_leader"}  # oneself


def _raw_admin(settings: Any, sql: str, **params: Any) -> list[Any]:
    from baoxue.platform.db import cross_township_session

    with cross_township_session("tests: ground truth", settings) as session:
        return list(session.execute(text(sql), params))


def test_a_row_cannot_point_into_another_township(demo: Any, townships: dict[str, int]) -> None:
    """Foreign keys do not see row-level security; composite keys (township_id, id) hold anyway."""
    a, b = townships["DEMO-BD"], townships["DEMO-LG"]
    (school_b,) = _raw_admin(demo, "select id from schools where township_id = :b limit 1", b=b)
    # Even the owner, who bypasses row-level security, cannot make a class of A in B's school.
    from baoxue.platform.db import cross_township_session

    with pytest.raises(DBAPIError, match="foreign key"):
        with cross_township_session("tests: cross-township foreign key", demo) as session:
            session.execute(text("insert into school_classes (township_id, school_id, grade, name, entry_year) "
                                 "values (:a, :s, 7, '越界班', 2026)"), {"a": a, "s": school_b[0]})


def test_every_key_of_a_township_table_includes_the_township(demo: Any) -> None:
    """What a sharded PostgreSQL (Citus, distributed by township_id) requires of every table."""
    rows = _raw_admin(demo, """
        select c.conrelid::regclass::text, c.conname, c.contype,
               array(select a.attname from unnest(c.conkey) k join pg_attribute a
                     on a.attrelid = c.conrelid and a.attnum = k)::text[]
        from pg_constraint c
        where c.contype in ('p', 'u') and c.connamespace = 'public'::regnamespace
          and exists (select 1 from pg_attribute a where a.attrelid = c.conrelid and a.attname = 'township_id')""")
    tables = {table for table, *_ in rows}
    assert {"students", "memberships", "membership_classes", "school_classes", "job_runs"} <= tables
    for table, name, kind, columns in rows:
        if table == "audit_events":
            continue  # township-less events (a failed login) live there too: not a township table
        assert "township_id" in columns, f"{table}.{name} ({kind}) lacks township_id: {columns}"
    unique_indexes = _raw_admin(demo, """
        select tablename, indexname, indexdef from pg_indexes
        where schemaname = 'public' and indexdef like 'CREATE UNIQUE%' and tablename in
          (select table_name from information_schema.columns where column_name = 'township_id')""")
    for table, name, definition in unique_indexes:
        if table != "audit_events":
            assert "township_id" in definition, f"{table}.{name} lacks township_id: {definition}"
