"""The database wall between townships, tested as the application's own role with raw SQL."""

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from baoxue.platform.db import TenantContext, new_session
from baoxue.platform.rls import APP_ROLE

pytestmark = pytest.mark.postgres_only

TOWNSHIP_TABLES = ("villages", "schools", "school_classes", "departments", "students", "memberships",
                   "figure_snapshots", "job_runs")


def _raw(settings: Any, township_id: int | None, sql: str, **params: Any) -> list[Any]:
    """Raw SQL, no ORM and no filter: only the database stands between the townships."""
    session = new_session(TenantContext(township_id=township_id), settings)
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
    session = new_session(TenantContext(township_id=a), demo)
    try:
        result = session.execute(text("update villages set name = name || 'x' where township_id = :b"), {"b": b})
        assert result.rowcount == 0
    finally:
        session.rollback()
        session.close()


def test_the_setting_lives_for_one_transaction_only(demo: Any, townships: dict[str, int]) -> None:
    """A pooled connection must not carry one request's township into the next."""
    a = townships["DEMO-BD"]
    session = new_session(TenantContext(township_id=a), demo)
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
