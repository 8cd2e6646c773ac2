"""The figures job over a county of 100,000 children (`make bench`), against a bare grouped count.

Ratios in the same run, as tests/bench/test_bench.py does; nothing is asserted about time.

The county (built as tests/bench/test_attendance_bench.py builds its own: a throwaway township,
COPY into temporary tables and one INSERT ... SELECT per table, in the runtime login's session;
a school's pupils live in the seven villages around it) has had a school year so far: 2 % of the children a completed status change (transfers out and
in, 休学, 借读, a few deaths) and 1 % a case (half of them with a 流失报告, a third of those back).

* The job after a change (`service.rebuild` over the periods under way: this month and the one
  before, their running totals, the school year), in a transaction rolled back afterwards,
  against the bare `SELECT ... count(*) GROUP BY school, class, village` of the enrolled — the
  query the old enrolment snapshot was. The job reads four grouped queries' worth of rows and
  reconstructs each child's year in Python; the aim is within 40x of the bare count.
* The nightly job (every month, term and running total of the school year so far), likewise.
* The township dashboard under 20 concurrent clients (p50 and p95 against `GET /health`).
"""

from __future__ import annotations

import random
import secrets
import time
from datetime import date, datetime, time as clock_time, timedelta
from typing import Any

import pytest

from tests.bench.test_attendance_bench import _copy_in, _reserve
from tests.bench.test_bench import _record
from tests.bench.timing import median_seconds
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="COPY and row-level security are PostgreSQL's")

COUNTY = 100_000
CLASS_SIZE = 45
CLASSES_PER_SCHOOL = 15
TODAY = date(2026, 11, 27)
BARE = """SELECT school_id, class_id, residence_village_id, count(*) FROM students
          WHERE status IN ('01', '05') GROUP BY school_id, class_id, residence_village_id"""


def _at(day: date) -> datetime:
    from baoxue.platform.clock import CHINA

    return datetime.combine(day, clock_time(9), tzinfo=CHINA)


CATCHMENT = 3  # a school's pupils live in its own village and the villages this many either side


def _catchment(rng: random.Random, villages: list[int], school_index: int) -> int:
    """A pupil's village: one of the school's catchment villages, as children go to the nearest school."""
    index = school_index + rng.randint(-CATCHMENT, CATCHMENT)
    return villages[min(max(index, 0), len(villages) - 1)]


def _build(settings: Any, students: int) -> int:
    from sqlalchemy import select

    from baoxue.platform.clock import utcnow
    from baoxue.platform.db import admin_engine, tenant_session
    from baoxue.platform.jobs import township_context
    from baoxue.tenants.tenancy.models import User
    from baoxue.tenants.tenancy.townships import do_create_township

    tag = secrets.token_hex(3)
    admin = f"bench_fig_{tag}"
    township_id = do_create_township(name=f"统计基准县{tag}", code=f"BF-{tag}", county="基准县", admin_username=admin,
                                     admin_name="基准管理员", admin_password=f"Bench-{secrets.token_hex(8)}",
                                     settings=settings)
    rng = random.Random(7)
    n_classes = students // CLASS_SIZE
    n_schools = -(-n_classes // CLASSES_PER_SCHOOL)
    now = utcnow()
    with tenant_session(township_context(township_id), settings) as session:
        user_id = session.scalar(select(User.id).where(User.username == admin))
        c = session.connection()
        villages = _reserve(c, "villages", n_schools)
        _copy_in(c, "villages", ("id", "township_id", "name", "code"),
                 [(v, township_id, f"基准村{i + 1}", "") for i, v in enumerate(villages)])
        schools = _reserve(c, "schools", n_schools)
        _copy_in(c, "schools", ("id", "township_id", "name", "kind", "code", "village_id"),
                 [(s, township_id, f"基准学校{i + 1}", "nine_year", "", villages[i]) for i, s in enumerate(schools)])
        class_ids = _reserve(c, "school_classes", n_classes)
        school_of = {k: schools[i // CLASSES_PER_SCHOOL] for i, k in enumerate(class_ids)}
        place = {school: i for i, school in enumerate(schools)}
        grade_of = {k: i % CLASSES_PER_SCHOOL % 9 + 1 for i, k in enumerate(class_ids)}
        _copy_in(c, "school_classes", ("id", "township_id", "school_id", "grade", "name", "entry_year"),
                 [(k, township_id, school_of[k], grade_of[k], f"{grade_of[k]}年级({i})班", 2027 - grade_of[k])
                  for i, k in enumerate(class_ids)])
        ids = _reserve(c, "students", students)
        kinds = ("transfer_out", "transfer_in", "suspension", "elsewhere", "death")
        status_after = {"transfer_out": "10", "transfer_in": "01", "suspension": "02", "elsewhere": "01", "death": "11"}
        rows, changes, cases = [], [], []
        for n, sid in enumerate(ids):
            k = class_ids[n % n_classes]
            status = "01"
            draw = rng.random()
            if draw < 0.02:
                kind = rng.choice(kinds)
                status = status_after[kind]
                day = date(2026, 9, 1) + timedelta(days=rng.randint(0, 80))
                changes.append((township_id, kind, sid, f"学生{n}", school_of[k], k, "completed", "", day, user_id,
                                _at(day), _at(day), "", "", "", ""))
            elif draw < 0.03:
                opened = date(2026, 9, 1) + timedelta(days=rng.randint(0, 70))
                returned = opened + timedelta(days=30) if rng.random() < 0.2 else None
                cases.append((sid, n, k, opened, rng.random() < 0.5, returned))
            rows.append((sid, township_id, school_of[k], k, _catchment(rng, villages, place[school_of[k]]),
                         f"学生{n:06d}",
                         "男" if n % 2 else "女", date(2014, 1, 1), "1", f"52{n:016d}", f"F{n:018d}", status, 0, "",
                         "", False, now, now))
        _copy_in(c, "students", ("id", "township_id", "school_id", "class_id", "residence_village_id", "name",
                                 "gender", "birth_date", "id_type", "id_number", "student_number", "status",
                                 "left_behind", "address", "family_circumstances", "is_poor_household", "created_at",
                                 "updated_at"), rows)
        _copy_in(c, "status_changes", ("township_id", "kind", "student_id", "student_name", "school_id", "class_id",
                                       "state", "next_step", "effective_on", "requested_by", "requested_at",
                                       "finished_at", "destination", "reason", "document_key", "document_name"),
                 changes)
        case_ids = _reserve(c, "cases", len(cases))
        _copy_in(c, "cases", ("id", "township_id", "student_id", "student_name", "school_id", "class_id", "stage",
                              "opened_via", "opened_by", "opened_at", "closing", "return_date"),
                 [(cid, township_id, sid, f"学生{n}", school_of[k], k, "closed" if back else "reported", "manual",
                   user_id, _at(opened), "returned" if back else "", back)
                  for cid, (sid, n, k, opened, _reported, back) in zip(case_ids, cases, strict=True)])
        _copy_in(c, "case_entries", ("township_id", "case_id", "number", "kind", "occurred_at", "summary", "details",
                                     "recorded_by", "actor_name", "recorded_at"),
                 [(township_id, cid, 1, "dropout_report", _at(opened + timedelta(days=10)), "", "{}", user_id, "基准",
                   _at(opened + timedelta(days=10)))
                  for cid, (_sid, _n, _k, opened, reported, _back) in zip(case_ids, cases, strict=True) if reported])
    with admin_engine(settings).begin() as conn:
        for table in ("students", "status_changes", "cases", "case_entries", "school_classes"):
            conn.exec_driver_sql(f"ANALYZE {table}")
    return township_id


@pytest.fixture(scope="module")
def county(demo: Any) -> int:
    """The county, built once for this module's benchmarks."""
    started = time.perf_counter()
    township_id = _build(demo, COUNTY)
    print(f"\nthe county built in {time.perf_counter() - started:.1f} s")
    return township_id


def _job_against_the_bare_count(demo: Any, township_id: int, name: str, which: str) -> None:
    """`rebuild` over the periods a job of this kind stores, in a savepoint rolled back each time."""
    from sqlalchemy import text

    from baoxue.platform.clock import CHINA, clock
    from baoxue.platform.db import new_session
    from baoxue.platform.jobs import township_context
    from baoxue.tenants.figures import periods
    from baoxue.tenants.figures.service import rebuild

    clock.freeze(datetime.combine(TODAY, clock_time(3), tzinfo=CHINA))
    session = new_session(township_context(township_id), demo)
    try:
        chosen = (periods.stored_by_change if which == "change" else periods.stored_nightly)(session, TODAY)
        bare = median_seconds(lambda: session.execute(text(BARE)).all(), repeat=10)
        counter = iter(range(10**6))

        def job() -> None:
            savepoint = session.begin_nested()
            rebuild(session, f"figures:bench:{which}:{next(counter)}", chosen)
            savepoint.rollback()

        subject = median_seconds(job, repeat=3 if which == "change" else 2)
        label = "the job after a change" if which == "change" else "the nightly job"
        _record(name, "bare grouped count of the enrolled", bare, f"{label} ({len(chosen)} periods)", subject)
    finally:
        session.rollback()
        session.close()
        clock.unfreeze()


def test_the_figures_job_against_a_bare_grouped_count(demo: Any, county: int) -> None:
    _job_against_the_bare_count(demo, county, "figures_job_100k", "change")


def test_the_nightly_figures_job_against_a_bare_grouped_count(demo: Any, county: int) -> None:
    _job_against_the_bare_count(demo, county, "figures_nightly_100k", "nightly")


def _office_login(settings: Any, township_id: int) -> str:
    from baoxue.platform.db import tenant_session
    from baoxue.platform.identity import hash_password
    from baoxue.platform.jobs import township_context
    from baoxue.platform.permissions import Role
    from baoxue.tenants.tenancy.models import Membership, User

    username = f"bench_office_{secrets.token_hex(3)}"
    with tenant_session(township_context(township_id), settings) as session:
        user = User(username=username, display_name="基准办公室", password_hash=hash_password("baoxue2026"))
        session.add(user)
        session.flush()
        session.add(Membership(township_id=township_id, user_id=user.id, role=Role.OFFICE_STAFF.value))
    return username


def test_twenty_clients_on_the_county_dashboard_against_health(demo: Any, county: int) -> None:
    """`GET /dashboard` of the 100,000-student county under 20 concurrent clients of `baoxue
    run`, p50 and p95 against `GET /health` under the same load (aim: p95 within 150 ms here)."""
    from baoxue.platform.db import tenant_session
    from baoxue.platform.jobs import township_context
    from baoxue.tenants.figures import periods
    from baoxue.tenants.figures.service import rebuild
    from tests.bench.test_bench import CLIENTS, SERVER_PROCESSES, _load, _percentile, _server, _signed_in_cookies

    with tenant_session(township_context(county), demo) as session:
        rebuild(session, f"figures:bench:stored:{secrets.token_hex(3)}", periods.stored_nightly(session))
    username = _office_login(demo, county)
    with _server(SERVER_PROCESSES) as base:
        cookies = _signed_in_cookies(base, username)
        health = _load(base, "/health", {})
        subject = _load(base, "/dashboard", cookies)
        for p in (50, 95):
            _record(f"load_{CLIENTS}_clients_county_dashboard_p{p}", f"GET /health p{p}", _percentile(health, p),
                    f"GET /dashboard p{p} (100k students, {len(subject)} requests, {SERVER_PROCESSES} server "
                    f"processes)", _percentile(subject, p))
