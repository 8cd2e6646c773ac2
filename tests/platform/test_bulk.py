"""A job's many rows at once (`platform.bulk.insert_rows`): the whole township's scope only, the
township's rows only, and on PostgreSQL the table's policies check them as any insert."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from baoxue.platform.bulk import insert_rows
from baoxue.platform.clock import utcnow
from baoxue.platform.db import TenantContext, new_session
from baoxue.platform.permissions import UnitKind
from baoxue.platform.scoping import Scope, ScopeViolation
from baoxue.tenants.figures.models import EnrolmentCount, FigureSnapshot


def _session(demo: Any, scope: Scope) -> Any:
    return new_session(TenantContext(scope=scope), demo)


def _rows(township_id: int, snapshot_id: int, school_id: int, n: int) -> list[dict[str, Any]]:
    return [{"township_id": township_id, "snapshot_id": snapshot_id, "school_id": school_id, "class_id": None,
             "grade": 1 + i % 9, "residence_village_id": None, "gender": "男" if i % 2 else "女", "count": i}
            for i in range(n)]


def test_many_rows_of_the_township_go_in_at_once(demo: Any, townships: dict[str, int]) -> None:
    from baoxue.tenants.tenancy.models import School

    township = townships["DEMO-BD"]
    session = _session(demo, Scope.township(township))
    try:
        snapshot = FigureSnapshot(township_id=township, kind="bulk-test", job_key="bulk-test", computed_at=utcnow())
        session.add(snapshot)
        session.flush()
        school = session.scalars(select(School.id).limit(1)).one()
        assert insert_rows(session, EnrolmentCount, _rows(township, snapshot.id, school, 70_000)) == 70_000
        stored = session.scalar(select(func.count(EnrolmentCount.id)).where(EnrolmentCount.snapshot_id == snapshot.id))
        assert stored == 70_000  # more rows than PostgreSQL takes parameters in one statement
    finally:
        session.rollback()
        session.close()


def test_a_narrower_scope_or_another_townships_rows_are_refused(demo: Any, townships: dict[str, int]) -> None:
    bd, lg = townships["DEMO-BD"], townships["DEMO-LG"]
    school = Scope(township_id=bd, unit_kind=UnitKind.SCHOOL, unit_id=1)
    for scope, rows in ((school, _rows(bd, 1, 1, 3)), (Scope.township(bd), _rows(lg, 1, 1, 3))):
        session = _session(demo, scope)
        try:
            with pytest.raises(ScopeViolation):
                insert_rows(session, EnrolmentCount, rows)
        finally:
            session.rollback()
            session.close()
