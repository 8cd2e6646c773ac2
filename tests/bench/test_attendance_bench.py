"""The daily escalation over a county's month of attendance, and one class's save (`make bench`).

Ratios in the same run, as tests/bench/test_bench.py does; nothing is asserted about time.

A county of 100,000 children reports 2.0 M child-days a month. Only what is not "present" is
stored: one `attendance_reports` row per class and day (2,222 classes x 20 school days) and one
`absences` row per child away or late. The month's absences follow the usual shape: ~1.2 % of
child-days sick (mostly 1-5 day spells, a few leaves of two weeks and more), ~0.6 % personal
leave, ~0.6 % late, ~0.1 % unexcused days scattered (one-offs, and a few children who skip
every few days), and ~0.3 % of the children in a run of consecutive unexcused days of 1..20,
half of them still away today, half back.

Measured so that every run starts alike: the first run on a fresh transaction rolled back
afterwards; the next morning and the class's save each in a savepoint, rolled back to the state
the first run left (uncommitted):

* `escalation.check` the first time it meets the month (it raises every spell, puts their
  steps on the worklist and opens a case for every run of 5 days and more), and the next
  morning (steady state: everything already matches), against the bare SQL that finds the runs
  (gaps and islands: each child's unexcused days, numbered by the class's reported days, grouped
  where the numbering has no gap) over the same tables and window, in the same kind of session
  (the runtime login, row-level security on). Aim: within 10x of that query.
* How the job grows from 10,000 to 100,000 children: time(100k) / time(10k); linear is 10.
* Saving one class's day (45 children, 2 away) through `service.do_save_class_day`, which runs
  the class's escalation, against `GET /health`.

The county is a throwaway township, created once per module as the deployment creates one
(`do_create_township`) and filled with PostgreSQL COPY into a temporary table and one
INSERT ... SELECT per table, in a session of the runtime login scoped to that township: every
row carries its township_id and passes the tables' row-level policies.
"""

from __future__ import annotations

import logging
import random
import secrets
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time as clock_time, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from tests.bench.test_bench import _record
from tests.bench.timing import median_seconds
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="COPY and row-level security are PostgreSQL's")

COUNTY = 100_000
TOWN = 10_000
CLASS_SIZE = 45
CLASSES_PER_SCHOOL = 15
SCHOOLS_PER_VILLAGE = 2
SCHOOL_DAYS = 20  # the month: the 20 weekdays up to Monday 30 November 2026
LAST_DAY = date(2026, 11, 30)
NEXT_MORNING = date(2026, 12, 1)

# Shares of child-days (sick, personal, late, scattered unexcused) and of children (runs).
SICK, PERSONAL, LATE = 0.012, 0.006, 0.006
SCATTERED_ONE_OFF, SKIPPERS, SKIP_RATE = 0.0005, 0.0025, 0.2  # one-offs + skippers' days ~ 0.1 %
RUNNERS = 0.003
LONG_SICK = 0.0003  # children on sick leave for 10..16 school days up to today




def _weekdays_up_to(last: date, n: int) -> list[date]:
    days: list[date] = []
    day = last
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    from baoxue.platform.clock import CHINA

    return datetime.combine(day, clock_time(hour, minute), CHINA)


# --- the county: built once per module ---------------------------------------------------------

@dataclass
class County:
    township_id: int
    user_id: int  # the township's administrator: who "reported" (no foreign key on reported_by)
    students: int
    classes: list[tuple[int, int]]  # (class_id, school_id)
    roll: dict[int, list[int]]  # class_id -> student ids
    days: list[date]
    reports: int = 0
    absences: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    runners: int = 0
    build_s: float = 0.0


def _reserve(connection: Any, table: str, n: int) -> list[int]:
    from sqlalchemy import text

    return list(connection.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                                        "FROM generate_series(1, :n)"), {"n": n}).scalars())


def _copy_in(connection: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """COPY as the runtime login, through a staging table: the policies of `table` check every row."""
    from baoxue.platform.bulk import copy_through_staging

    copy_through_staging(connection, table, columns, rows)


def _month(rng: random.Random, student_ids: list[int], n_days: int) -> tuple[dict[tuple[int, int], str], int]:
    """{(student_id, day index): kind} for the month, and how many children are in a run."""
    from baoxue.tenants.attendance.flows import AbsenceKind

    marks: dict[tuple[int, int], str] = {}
    n = len(student_ids)
    child_days = n * n_days
    last = n_days - 1

    def put(sid: int, day: int, kind: str) -> bool:
        if 0 <= day <= last and (sid, day) not in marks:
            marks[(sid, day)] = kind
            return True
        return False

    # Runs of consecutive unexcused days, 1..20; half still away today, half back since.
    runners = rng.sample(student_ids, max(1, round(n * RUNNERS)))
    for sid in runners:
        length = rng.randint(1, n_days)
        end = last if rng.random() < 0.5 or length == n_days else rng.randint(length - 1, last - 1)
        for day in range(end - length + 1, end + 1):
            put(sid, day, AbsenceKind.UNEXCUSED.value)
    # Long sick leaves up to today (the class teacher checks on them).
    for sid in rng.sample(student_ids, max(1, round(n * LONG_SICK))):
        for day in range(last - rng.randint(10, 16) + 1, last + 1):
            put(sid, day, AbsenceKind.SICK.value)

    def spells(kind: str, share: float, lengths: Sequence[int], weights: Sequence[int]) -> None:
        target = round(child_days * share)
        placed = sum(1 for k in marks.values() if k == kind)
        while placed < target:
            sid, start = rng.choice(student_ids), rng.randrange(n_days)
            for day in range(start, start + rng.choices(lengths, weights)[0]):
                placed += put(sid, day, kind)

    spells(AbsenceKind.SICK.value, SICK, (1, 2, 3, 4, 5), (30, 30, 20, 12, 8))
    spells(AbsenceKind.PERSONAL.value, PERSONAL, (1, 2), (75, 25))
    spells(AbsenceKind.LATE.value, LATE, (1,), (1,))
    # Scattered unexcused days: one-offs anywhere, and a few children who skip one day in five.
    for _ in range(round(child_days * SCATTERED_ONE_OFF)):
        put(rng.choice(student_ids), rng.randrange(n_days), AbsenceKind.UNEXCUSED.value)
    for sid in rng.sample(student_ids, max(1, round(n * SKIPPERS))):
        for day in range(n_days):
            if rng.random() < SKIP_RATE:
                put(sid, day, AbsenceKind.UNEXCUSED.value)
    return marks, len(runners)


def _build(settings: Any, students: int, seed: int) -> County:
    """A township of `students` children in classes of 45, and its month of reports."""
    from sqlalchemy import select

    from baoxue.platform.clock import utcnow
    from baoxue.platform.db import tenant_session
    from baoxue.platform.jobs import township_context
    from baoxue.tenants.attendance.flows import AWAY, AbsenceKind
    from baoxue.tenants.tenancy.models import User
    from baoxue.tenants.tenancy.townships import do_create_township

    started = time.perf_counter()
    tag = secrets.token_hex(3)
    admin = f"bench_att_{tag}"
    township_id = do_create_township(name=f"基准县{students // 1000}k{tag}", code=f"BA-{tag}", county="基准县",
                                     admin_username=admin, admin_name="基准管理员",
                                     admin_password=f"Bench-{secrets.token_hex(8)}", settings=settings)
    rng = random.Random(seed)
    days = _weekdays_up_to(LAST_DAY, SCHOOL_DAYS)
    n_classes = students // CLASS_SIZE
    n_schools = -(-n_classes // CLASSES_PER_SCHOOL)
    n_villages = -(-n_schools // SCHOOLS_PER_VILLAGE)
    now = utcnow()
    with tenant_session(township_context(township_id), settings) as session:
        user_id = session.scalar(select(User.id).where(User.username == admin))
        assert user_id is not None
        connection = session.connection()
        villages = _reserve(connection, "villages", n_villages)
        _copy_in(connection, "villages", ("id", "township_id", "name", "code"),
                 [(v, township_id, f"基准村{i + 1}", "") for i, v in enumerate(villages)])
        schools = _reserve(connection, "schools", n_schools)
        _copy_in(connection, "schools", ("id", "township_id", "name", "kind", "code", "village_id"),
                 [(s, township_id, f"基准学校{i + 1}", "nine_year", "",
                   villages[i // SCHOOLS_PER_VILLAGE]) for i, s in enumerate(schools)])
        class_ids = _reserve(connection, "school_classes", n_classes)
        classes = [(c, schools[i // CLASSES_PER_SCHOOL]) for i, c in enumerate(class_ids)]
        grade_of = {c: i % CLASSES_PER_SCHOOL % 9 + 1 for i, c in enumerate(class_ids)}
        _copy_in(connection, "school_classes", ("id", "township_id", "school_id", "grade", "name", "entry_year"),
                 [(c, township_id, s, grade_of[c], f"{grade_of[c]}年级({i % CLASSES_PER_SCHOOL + 1})班",
                   2026 - grade_of[c] + 1) for i, (c, s) in enumerate(classes)])
        student_ids = _reserve(connection, "students", students)
        school_of = dict(classes)
        village_of = {s: villages[i // SCHOOLS_PER_VILLAGE] for i, s in enumerate(schools)}
        roll: dict[int, list[int]] = {c: [] for c in class_ids}
        rows = []
        for n, sid in enumerate(student_ids):
            class_id = class_ids[n % n_classes]
            school_id = school_of[class_id]
            roll[class_id].append(sid)
            birth = date(2026 - 6 - grade_of[class_id], 1 + n % 12, 1 + n % 28)
            rows.append((sid, township_id, school_id, class_id, village_of[school_id], f"学生{n:06d}",
                         "男" if n % 2 else "女", birth, "1", f"52{seed:02d}{n:014d}", f"G{seed:02d}{n:016d}",
                         "01", n % 3, f"基准村{n % 9 + 1}组", "", False, now, now))
        _copy_in(connection, "students",
                 ("id", "township_id", "school_id", "class_id", "residence_village_id", "name", "gender",
                  "birth_date", "id_type", "id_number", "student_number", "status", "left_behind", "address",
                  "family_circumstances", "is_poor_household", "created_at", "updated_at"), rows)

        marks, runners = _month(rng, student_ids, len(days))
        class_of = {sid: c for c, sids in roll.items() for sid in sids}
        counts: dict[tuple[int, int], list[int]] = {}  # (class, day) -> [absent, unexcused, late]
        absence_rows = []
        for (sid, d), kind in sorted(marks.items()):
            class_id = class_of[sid]
            tally = counts.setdefault((class_id, d), [0, 0, 0])
            tally[0] += kind in AWAY
            tally[1] += kind == AbsenceKind.UNEXCUSED
            tally[2] += kind == AbsenceKind.LATE
            absence_rows.append((township_id, sid, school_of[class_id], class_id, days[d], kind, "", user_id,
                                 _at(days[d], 8, 20)))
        report_rows = []
        for class_id, school_id in classes:
            for d, day in enumerate(days):
                absent, unexcused, late = counts.get((class_id, d), (0, 0, 0))
                report_rows.append((township_id, school_id, class_id, day, len(roll[class_id]), absent, unexcused,
                                    late, "page", user_id, _at(day, 8, 30), 0))
        _copy_in(connection, "attendance_reports",
                 ("township_id", "school_id", "class_id", "day", "enrolled", "absent", "unexcused", "late", "source",
                  "reported_by", "reported_at", "revisions"), report_rows)
        _copy_in(connection, "absences",
                 ("township_id", "student_id", "school_id", "class_id", "day", "kind", "note", "recorded_by",
                  "recorded_at"), absence_rows)
    # The planner's statistics, as autovacuum would have them after a month of reports.
    from baoxue.platform.db import admin_engine

    with admin_engine(settings).begin() as admin:
        for table in ("students", "attendance_reports", "absences", "school_classes", "schools"):
            admin.exec_driver_sql(f"ANALYZE {table}")
    by_kind: dict[str, int] = {}
    for kind in marks.values():
        by_kind[kind] = by_kind.get(kind, 0) + 1
    return County(township_id, user_id, students, classes, roll, days, len(report_rows), len(absence_rows),
                  by_kind, runners, time.perf_counter() - started)


# Both depend on `demo`: the demo seed's closing escalation runs in its cross-township session
# (no scope, no row-level security) and would meet these townships' absences if they came first.
@pytest.fixture(scope="module")
def county(demo: Any) -> County:
    return _build(demo, COUNTY, seed=1)


@pytest.fixture(scope="module")
def town(demo: Any) -> County:
    return _build(demo, TOWN, seed=2)


# --- the bare query: the runs, by gaps and islands ---------------------------------------------

RUNS_SQL = """
WITH reported AS (
    SELECT class_id, day, dense_rank() OVER (PARTITION BY class_id ORDER BY day) AS n,
           count(*) OVER (PARTITION BY class_id) AS last_n
    FROM attendance_reports WHERE day BETWEEN :since AND :today
), unexcused AS (
    SELECT a.student_id, a.day, r.n, r.last_n,
           r.n - row_number() OVER (PARTITION BY a.student_id ORDER BY a.day) AS island
    FROM absences a JOIN reported r ON r.class_id = a.class_id AND r.day = a.day
    WHERE a.kind = 'unexcused' AND a.day BETWEEN :since AND :today
)
SELECT student_id, min(day) AS first_day, max(day) AS last_day, count(*) AS days,
       max(n) = max(last_n) AS ongoing
FROM unexcused GROUP BY student_id, island
"""


def _window(session: Any, today: date) -> date:
    from baoxue.tenants.attendance.escalation import MARGIN
    from baoxue.tenants.school_calendar.rules import rules_of
    from baoxue.tenants.school_calendar.service import Calendar

    return Calendar.load(session).after(None, today, -(rules_of(session).longest + MARGIN))


def _runs(session: Any, today: date) -> list[Any]:
    from sqlalchemy import text

    return session.execute(text(RUNS_SQL), {"since": _window(session, today), "today": today}).all()


# --- the measurements --------------------------------------------------------------------------

@dataclass
class Job:
    """One township's measurements (seconds, medians) and what the runs did."""

    first_s: float
    next_s: float
    query_s: float
    first: Any  # escalation.Check of the first run
    next: Any  # ... and of the next morning's
    open_runs: int  # run spells open after the first run
    islands: int  # runs the bare query found
    ongoing: int  # ... of them still going on the last day
    save_s: float = 0.0
    saved: tuple[int, int] = (0, 0)  # (enrolled, absent) of the saved report


def _job(settings: Any, place: County, *, repeat: int, warm: int, save: int = 0) -> Job:
    from sqlalchemy import func, select

    from baoxue.platform.clock import clock
    from baoxue.platform.db import TenantContext, new_session, set_tenant
    from baoxue.platform.jobs import township_context
    from baoxue.platform.permissions import UnitKind
    from baoxue.platform.scoping import Scope
    from baoxue.tenants.attendance import escalation, service
    from baoxue.tenants.attendance.flows import SpellKind
    from baoxue.tenants.attendance.models import AbsenceSpell

    today = place.days[-1]
    township = township_context(place.township_id)

    def open_runs(s: Any) -> int:
        return s.scalar(select(func.count()).select_from(AbsenceSpell).where(
            AbsenceSpell.kind == SpellKind.RUN, AbsenceSpell.ended_at.is_(None))) or 0

    # The first run: a fresh transaction each time, rolled back (the job meets the month anew);
    # the last one's transaction stays open for the next morning below.
    first_samples, first, runs_open = [], None, 0
    for n in range(warm + repeat - 1):
        s = new_session(township, settings)
        try:
            clock.freeze(_at(today, 18))  # after the day's reports: the job meets the whole month
            assert open_runs(s) == 0
            began = time.perf_counter()
            first = escalation.check(s, today=today)
            elapsed = time.perf_counter() - began
            runs_open = open_runs(s)
        finally:
            s.rollback()
            s.close()
        if n >= warm:
            first_samples.append(elapsed)

    found: list[Any] = []

    def bare() -> None:
        s = new_session(township, settings)
        try:
            found[:] = _runs(s, today)
        finally:
            s.rollback()
            s.close()

    query_s = median_seconds(bare, 10)

    # The next morning, and a class's save: the first run's spells, items and cases in place
    # (uncommitted), each measured run in a savepoint rolled back to that state.
    s = new_session(township, settings)
    next_samples, after, save_samples, saved = [], None, [], (0, 0)
    try:
        clock.freeze(_at(today, 18))
        assert open_runs(s) == 0
        began = time.perf_counter()
        escalation.check(s, today=today)
        first_samples.append(time.perf_counter() - began)
        s.flush()
        for n in range(1 + repeat):
            nested = s.begin_nested()
            try:
                clock.freeze(_at(NEXT_MORNING, 6))
                began = time.perf_counter()
                after = escalation.check(s, today=NEXT_MORNING)
                elapsed = time.perf_counter() - began
            finally:
                nested.rollback()
            if n:
                next_samples.append(elapsed)
        # A class teacher saves the next morning's register: 45 children, one sick, one away.
        class_id, school_id = place.classes[len(place.classes) // 2]
        children = place.roll[class_id]
        marks = {children[3]: ("sick", "发烧"), children[17]: ("unexcused", "")}
        teacher = TenantContext(scope=Scope(township_id=place.township_id, unit_kind=UnitKind.SCHOOL,
                                            unit_id=school_id, class_ids=frozenset({class_id})),
                                user_id=place.user_id)
        actor = SimpleNamespace(user_id=place.user_id, membership=None)
        clock.freeze(_at(NEXT_MORNING, 8, 30))
        for n in range(save and 1 + save):
            nested = s.begin_nested()
            try:
                set_tenant(s, teacher)
                began = time.perf_counter()
                report = service.do_save_class_day(s, actor, class_id, NEXT_MORNING, marks)
                elapsed = time.perf_counter() - began
                saved = (report.enrolled, report.absent)
            finally:
                nested.rollback()
                set_tenant(s, township)
            if n:
                save_samples.append(elapsed)
    finally:
        s.rollback()
        s.close()
        clock.unfreeze()
    return Job(statistics.median(first_samples), statistics.median(next_samples), query_s, first, after,
               runs_open, len(found), sum(1 for r in found if r.ongoing),
               statistics.median(save_samples) if save_samples else 0.0, saved)


@dataclass
class Measured:
    county: County
    town: County
    large: Job
    small: Job


@pytest.fixture(scope="module")
def measured(county: County, town: County, demo: Any) -> Measured:
    # The town first: its runs warm the compiled statements the county's runs then use.
    small = _job(demo, town, repeat=3, warm=1)
    large = _job(demo, county, repeat=3, warm=0, save=20)
    return Measured(county, town, large, small)


def _describe(place: County, job: Job) -> None:
    child_days = place.students * len(place.days)
    kinds = ", ".join(f"{k} {v:,} ({v / child_days:.2%})" for k, v in sorted(place.by_kind.items()))
    print(f"\n{place.students:,} students, {len(place.classes):,} classes, {len(place.days)} school days "
          f"{place.days[0]}..{place.days[-1]}: {child_days / 1e6:.1f} M child-days, stored as "
          f"{place.reports:,} attendance_reports rows + {place.absences:,} absences rows "
          f"(built with COPY in {place.build_s:.1f} s)")
    print(f"  absences: {kinds}; {place.runners:,} children in a run")
    print(f"  first run: {job.first.as_dict()}; next morning: {job.next.as_dict()}")
    print(f"  the runs query: {job.islands:,} runs, {job.ongoing:,} still going; open run spells after the first "
          f"run: {job.open_runs:,}")


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(row, widths, strict=True))))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def test_daily_escalation_against_the_runs_query(measured: Measured) -> None:
    """A county's month: the job's first run and the next morning's, against the bare query."""
    place, job = measured.county, measured.large
    _describe(place, job)
    # The same work: every run the query finds still going is one open run spell, and back.
    assert job.open_runs == job.ongoing > 0 and job.first.cases > 0
    assert job.next.raised == 0 and job.next.cases == 0
    _table([(f"{place.students:,} students, 2.0 M child-days", "ms", "x query (aim <= 10)"),
            ("runs query (gaps and islands)", f"{job.query_s * 1000:.1f}", "1.0"),
            ("check(), first run", f"{job.first_s * 1000:.1f}", f"{job.first_s / job.query_s:.1f}"),
            ("check(), next morning", f"{job.next_s * 1000:.1f}", f"{job.next_s / job.query_s:.1f}")])
    _record("escalation_first_run_vs_runs_query", f"runs query over {place.students:,} students' month",
            job.query_s, "escalation.check, first run (2.0 M child-days)", job.first_s)
    _record("escalation_next_morning_vs_runs_query", f"runs query over {place.students:,} students' month",
            job.query_s, "escalation.check, next morning (steady state)", job.next_s)


def test_daily_escalation_grows_linearly(measured: Measured) -> None:
    """From 10,000 to 100,000 children: linear is 10x."""
    small, large = measured.small, measured.large
    _describe(measured.town, small)
    assert small.open_runs == small.ongoing
    _table([("", "10k ms", "100k ms", "100k / 10k (linear: 10)"),
            ("runs query", f"{small.query_s * 1000:.1f}", f"{large.query_s * 1000:.1f}",
             f"{large.query_s / small.query_s:.1f}"),
            ("check(), first run", f"{small.first_s * 1000:.1f}", f"{large.first_s * 1000:.1f}",
             f"{large.first_s / small.first_s:.1f}"),
            ("check(), next morning", f"{small.next_s * 1000:.1f}", f"{large.next_s * 1000:.1f}",
             f"{large.next_s / small.next_s:.1f}")])
    _record("escalation_first_run_growth_10k_to_100k", "escalation.check, first run, 10,000 students",
            small.first_s, "the same, 100,000 students (linear: 10)", large.first_s)
    _record("escalation_next_morning_growth_10k_to_100k", "escalation.check, next morning, 10,000 students",
            small.next_s, "the same, 100,000 students (linear: 10)", large.next_s)
    _record("runs_query_growth_10k_to_100k", "runs query, 10,000 students", small.query_s,
            "the same, 100,000 students (linear: 10)", large.query_s)


def test_saving_a_class_day_against_health(measured: Measured, client: Any) -> None:
    """A class teacher saves the next morning's register (45 children, 2 away) in the county,
    after the first run's spells are open; the save runs the class's escalation."""
    job = measured.large
    enrolled, absent = job.saved
    assert enrolled >= CLASS_SIZE and absent == 2
    quiet = logging.getLogger("httpx")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # not a line per request under -s
    try:
        health = median_seconds(lambda: client.get("/health"), 30)
    finally:
        quiet.setLevel(level)
    print(f"\nclass of {enrolled} in the {measured.county.students:,}-student county, 2 away: "
          f"{job.save_s * 1000:.1f} ms; GET /health {health * 1000:.2f} ms")
    _record("save_class_day_vs_health", "GET /health", health,
            f"do_save_class_day ({enrolled} children, 2 away, with its escalation check)", job.save_s)
