"""四查三比对 over a county: 100,000 census children against 100,000 enrolled (`make bench`).

Ratios in the same run, as tests/bench/test_bench.py does; nothing is asserted about time.

One throwaway township of 100,000 pupils (built as the attendance bench builds its county: COPY
into a temporary table and one INSERT ... SELECT, in a session of the runtime login) and its
census: the same children by ID number, less 0.3 % its villages never listed (空挂 candidates),
plus 0.1 % children enrolled nowhere. Measured, in the runtime login's session with row-level
security on:

* the bare SQL join of the census with the rolls by ID number (the baseline);
* `reconcile.run` the first time (it opens a case for each child enrolled nowhere, through the
  case file's own action), once;
* `reconcile.run` again (steady state: findings replaced, the cases already open), the median of
  a few runs each in a savepoint rolled back. Aim: within 3x of the bare join.
"""

from __future__ import annotations

import secrets
import time
from datetime import date
from typing import Any

import pytest

from tests.bench.test_attendance_bench import _copy_in, _reserve
from tests.bench.test_bench import _record
from tests.bench.timing import median_seconds
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="COPY and row-level security are PostgreSQL's")

PUPILS = 100_000
UNLISTED, NOWHERE = 0.003, 0.001
CLASS_SIZE, CLASSES_PER_SCHOOL, SCHOOLS_PER_VILLAGE = 45, 15, 2

BARE_JOIN = """
SELECT c.id_number, s.id, s.school_id
FROM census_children c LEFT JOIN students s ON s.id_number = c.id_number AND s.status IN ('01', '02', '05')
WHERE c.birth_date BETWEEN :earliest AND :latest
"""


def _id(n: int, birth: date, region: int = 520100) -> str:
    from baoxue.tenants.students.idnumbers import make_id_number

    return make_id_number(f"{region + n // 1000 % 100:06d}", birth, n % 1000)


def _build(settings: Any) -> tuple[int, int, int]:
    from sqlalchemy import select

    from baoxue.platform.clock import utcnow
    from baoxue.platform.db import admin_engine, tenant_session
    from baoxue.platform.jobs import township_context
    from baoxue.tenants.tenancy.models import User
    from baoxue.tenants.tenancy.townships import do_create_township

    tag = secrets.token_hex(3)
    admin = f"bench_census_{tag}"
    township_id = do_create_township(name=f"比对基准县{tag}", code=f"BC-{tag}", county="基准县", admin_username=admin,
                                     admin_name="基准管理员", admin_password=f"Bench-{secrets.token_hex(8)}",
                                     settings=settings)
    n_classes = PUPILS // CLASS_SIZE
    n_schools = -(-n_classes // CLASSES_PER_SCHOOL)
    n_villages = -(-n_schools // SCHOOLS_PER_VILLAGE)
    now = utcnow()
    with tenant_session(township_context(township_id), settings) as session:
        user_id = session.scalar(select(User.id).where(User.username == admin))
        connection = session.connection()
        villages = _reserve(connection, "villages", n_villages)
        _copy_in(connection, "villages", ("id", "township_id", "name", "code"),
                 [(v, township_id, f"比对村{i + 1}", "") for i, v in enumerate(villages)])
        schools = _reserve(connection, "schools", n_schools)
        _copy_in(connection, "schools", ("id", "township_id", "name", "kind", "code", "village_id"),
                 [(s, township_id, f"比对学校{i + 1}", "central_primary" if i == 0 else "nine_year", "",
                   villages[i // SCHOOLS_PER_VILLAGE]) for i, s in enumerate(schools)])
        classes = _reserve(connection, "school_classes", n_classes)
        grade = {c: i % 9 + 1 for i, c in enumerate(classes)}
        school_of = {c: schools[i // CLASSES_PER_SCHOOL] for i, c in enumerate(classes)}
        _copy_in(connection, "school_classes", ("id", "township_id", "school_id", "grade", "name", "entry_year"),
                 [(c, township_id, school_of[c], grade[c], f"{grade[c]}年级({i % 15 + 1})班", 2027 - grade[c])
                  for i, c in enumerate(classes)])
        students = _reserve(connection, "students", PUPILS)
        village_of = {s: villages[i // SCHOOLS_PER_VILLAGE] for i, s in enumerate(schools)}
        pupils, census = [], []
        for n, sid in enumerate(students):
            class_id = classes[n % n_classes]
            birth = date(2020 - grade[class_id], 1 + n % 12, 1 + n % 28)
            number = _id(n, birth)
            village = village_of[school_of[class_id]]
            pupils.append((sid, township_id, school_of[class_id], class_id, village, f"学生{n:06d}", "男", birth,
                           "1", number, "G" + number, "01", 0, "", "", False, now, now))
            if n % round(1 / UNLISTED):
                census.append((township_id, "census", village, f"学生{n:06d}", number, birth, "男", user_id, now))
        for n in range(round(PUPILS * NOWHERE)):
            birth = date(2013, 1 + n % 12, 1 + n % 28)
            census.append((township_id, "census", villages[n % len(villages)], f"未入学{n:04d}",
                           _id(n, birth, region=530100), birth, "男", user_id, now))
        _copy_in(connection, "students", ("id", "township_id", "school_id", "class_id", "residence_village_id",
                                          "name", "gender", "birth_date", "id_type", "id_number", "student_number",
                                          "status", "left_behind", "address", "family_circumstances",
                                          "is_poor_household", "created_at", "updated_at"), pupils)
        _copy_in(connection, "census_children", ("township_id", "source", "village_id", "name", "id_number",
                                                 "birth_date", "gender", "entered_by", "entered_at"), census)
    with admin_engine(settings).begin() as admin:
        for table in ("students", "census_children", "cases", "work_items"):
            admin.exec_driver_sql(f"ANALYZE {table}")
    return township_id, len(census), len(pupils) - (len(census) - round(PUPILS * NOWHERE))


def test_reconciling_a_county_against_the_bare_join(demo: Any) -> None:
    from sqlalchemy import text

    from baoxue.platform.db import new_session
    from baoxue.platform.jobs import township_context
    from baoxue.tenants.census import reconcile
    from baoxue.tenants.census.service import reference_day, school_age_births

    started = time.perf_counter()
    township_id, listed, unlisted = _build(demo)
    print(f"\ncensus bench: {PUPILS} pupils, {listed} census rows, built in {time.perf_counter() - started:.1f} s")
    context = township_context(township_id)
    earliest, latest = school_age_births(reference_day())
    rows: list[Any] = []

    def bare() -> None:
        s = new_session(context, demo)
        try:
            rows[:] = s.execute(text(BARE_JOIN), {"earliest": earliest, "latest": latest}).all()
        finally:
            s.rollback()
            s.close()

    bare_s = median_seconds(bare, 5)
    s = new_session(context, demo)
    try:
        began = time.perf_counter()
        first = reconcile.run(s, "bench:first")
        first_s = time.perf_counter() - began
        s.flush()
        again: list[Any] = []

        def steady() -> None:
            nested = s.begin_nested()
            try:
                again.append(reconcile.run(s, f"bench:again:{len(again)}"))
            finally:
                nested.rollback()

        steady_s = median_seconds(steady, 5)
    finally:
        s.rollback()
        s.close()
    print(f"first run: {first.counts}; steady: {again[-1].counts if again else {}}")
    assert (first.counts["nowhere"], first.counts["ghost"]) == (round(PUPILS * NOWHERE), unlisted)
    assert first.counts["cases_opened"] == round(PUPILS * NOWHERE) and again[-1].counts["cases_opened"] == 0
    assert first.counts["here"] == sum(1 for r in rows if r.id is not None)
    _record("census_reconcile_first", "bare SQL join", bare_s, "reconcile.run (first: opens the cases)", first_s)
    _record("census_reconcile_again", "bare SQL join", bare_s, "reconcile.run (steady state)", steady_s)
