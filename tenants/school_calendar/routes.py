"""The school calendar: the page (the school year as months, the terms, the exceptions and their
forms) and a small JSON API (the terms, the school days between two dates, adding a day).

Thin on purpose: the page asks `service.Calendar` what each day is and lays the months out; the
forms call the service's actions through `submit` (saved → 303, refused → the page again with
its errors, a 400). The township's office keeps the terms and the township's days; a school's
principal and academic office keep their own school's days (the service and the policy say so;
the page only offers what the person may do).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import actor_of, requires
from baoxue.platform.clock import clock, school_year
from baoxue.platform.errors import InvalidInput
from baoxue.platform.permissions import Permission
from baoxue.platform.resources import Form, form_int, submit
from baoxue.platform.templating import page
from baoxue.tenants.school_calendar import service
from baoxue.tenants.school_calendar.models import CalendarDay
from baoxue.tenants.school_calendar.policy import keeps_school_days, may_keep_day
from baoxue.tenants.school_calendar.schemas import DayIn, DayOut, SchoolDaysOut, TermOut, day_label
from baoxue.tenants.school_calendar.service import KIND_LABELS, Calendar
from baoxue.tenants.tenancy.policy import access_school
from baoxue.tenants.tenancy.service import list_schools

READ = requires(Permission.CALENDAR_READ)
WRITE = requires(Permission.CALENDAR_WRITE)
TERM_PROBE = {**WRITE, "probe": {"name": "探针学期", "starts_on": "2031-09-01", "ends_on": "2032-01-16"}}
DAY_PROBE = {**WRITE, "probe": {"day": "2031-09-10", "school_day": False, "name": "探针停课", "school_id": "$school"}}
REMOVE_PROBE = {**WRITE, "probe": {}}
FIRST_YEAR, LAST_YEAR = 2000, 2099  # the school years the page shows
MAX_QUERY_DAYS = 366  # the API's school days: a year at a time
WEEKDAYS = "一二三四五六日"
# The months of a school year the page shows: September to July (August is the summer's).
MONTHS = ((0, 9), (0, 10), (0, 11), (0, 12), (1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7))


def _own_school(request: Request[Any, Any, Any]) -> int | None:
    """The school whose days the person keeps (a principal's, an academic office's), else None."""
    scope = actor_of(request).scope
    return scope.unit_id if keeps_school_days(scope) else None


def _member_school(request: Request[Any, Any, Any]) -> int | None:
    """The school the person works in (any role of a school), else None."""
    scope = actor_of(request).scope
    return scope.school_id if scope is not None else None


# --- the API ----------------------------------------------------------------------------------

@get("/api/calendar/terms", opt=READ, summary="学期列表（按开学日期）",
     description="每个学期附全乡（镇）校历的上课天数（不含各校自己的停课）。", sync_to_thread=True)
def terms_api(db: Session) -> list[TermOut]:
    calendar = Calendar.load(db, [])
    return [TermOut.of(t, calendar.count(None, t.starts_on, t.ends_on)) for t in service.terms(db)]


@get("/api/calendar/school-days", opt=READ, summary="两个日期之间的上课日（含首尾两天）",
     description="`start`、`end` 必填。按学期、周末、放假、调休上课和该校自己的停课计算；不填 `school_id` 时，"
                 f"学校人员按本校计算，其他人按全乡（镇）校历计算。一次最多查询 {MAX_QUERY_DAYS + 1} 天。",
     sync_to_thread=True)
def school_days_api(request: Request[Any, Any, Any], db: Session, start: date | None = None,
                    end: date | None = None, school_id: int | None = None) -> SchoolDaysOut:
    if start is None or end is None:  # required; checked here so that the answer names the missing one
        raise InvalidInput({key: f"请填写{label}（如 2026-09-01）。" for key, label, value in (
            ("start", "开始日期", start), ("end", "结束日期", end)) if value is None})
    if end < start:
        raise InvalidInput({"end": "结束日期不能早于开始日期。"})
    if (end - start).days > MAX_QUERY_DAYS:
        raise InvalidInput({"end": f"一次最多查询 {MAX_QUERY_DAYS + 1} 天，请缩小日期范围。"})
    if school_id is not None:
        access_school(db, school_id)
    else:
        school_id = _member_school(request)
    days = Calendar.load(db, [] if school_id is None else [school_id]).between(school_id, start, end)
    return SchoolDaysOut(school_id=school_id, start=start, end=end, count=len(days), days=days)


@post("/api/calendar/days", opt=DAY_PROBE, summary="添加校历安排：放假、调休上课，或本校停课、补课",
      description="乡（镇）办公室添加全乡（镇）的安排（不填 `school_id`）或某校的安排；校长、教导处只能添加本校的"
                  "安排（不填 `school_id` 即为本校）。同一天已有同一范围的安排时答复 409。", sync_to_thread=True)
def day_create_api(request: Request[Any, Any, Any], db: Session, data: DayIn) -> DayOut:
    school_id = data.school_id if data.school_id is not None else _own_school(request)
    row = service.do_add_day(db, actor_of(request), day=data.day, school_day=data.school_day, name=data.name,
                             school_id=school_id)
    return DayOut.of(row)


# --- the page: the school year as months ------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    day: date
    kind: str  # a key of service.KIND_LABELS
    title: str  # what the day is, in words (the cell's tooltip and its text for screen readers)
    marked: bool  # a school of the township has its own arrangement that day (the township's view)
    today: bool


@dataclass(frozen=True)
class Note:
    """A run of days with the same arrangement: 1—7日 国庆节（放假）."""

    first: date
    last: date
    text: str
    kind: str

    @property
    def days(self) -> str:
        return f"{self.first.day}日" if self.first == self.last else f"{self.first.day}—{self.last.day}日"


@dataclass
class Month:
    year: int
    month: int
    weeks: list[list[Cell | None]] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    school_days: int = 0


Named = dict[date, list[tuple[str, str, str]]]  # day → (what, "own" or "other", its kind)


def _month(calendar: Calendar, year: int, month: int, school_id: int | None, named: Named, today: date) -> Month:
    """One month: its weeks (Monday first), what each day is, and the named arrangements in it."""
    first = date(year, month, 1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    shown = Month(year, month)
    week: list[Cell | None] = [None] * first.weekday()
    runs: dict[tuple[str, str], Note] = {}
    for offset in range(last.day):
        day = first + timedelta(days=offset)
        kind = calendar.kind_of(school_id, day)
        names = named.get(day, [])
        own = [text for text, scope, _kind in names if scope == "own"]
        others = [text for text, scope, _kind in names if scope == "other"]
        title = f"{month}月{day.day}日 星期{WEEKDAYS[day.weekday()]}：{KIND_LABELS[kind]}"
        if own:
            title += "，" + "、".join(own)
        if others:
            title += "；" + "；".join(others)
        week.append(Cell(day, kind, title, bool(others), day == today))
        if kind in ("school", "makeup"):
            shown.school_days += 1
        for text, _scope, made in names:
            note = runs.get((text, made))
            if note is not None and note.last == day - timedelta(days=1):
                runs[(text, made)] = Note(note.first, day, text, made)
            else:
                if note is not None:
                    shown.notes.append(note)
                runs[(text, made)] = Note(day, day, text, made)
        if len(week) == 7:
            shown.weeks.append(week)
            week = []
    if week:
        shown.weeks.append(week + [None] * (7 - len(week)))
    shown.notes.extend(runs.values())
    shown.notes.sort(key=lambda n: (n.first, n.text))
    return shown


@dataclass
class Run:
    """Consecutive days of one arrangement (国庆节, 1–7 October): one line of the list, removed at once."""

    rows: list[CalendarDay]

    @property
    def first(self) -> CalendarDay:
        return self.rows[0]

    @property
    def last_day(self) -> date:
        return self.rows[-1].day

    @property
    def more_ids(self) -> list[int]:
        return [r.id for r in self.rows[1:]]


def _runs(rows: list[CalendarDay]) -> list[Run]:
    runs: list[Run] = []
    open_runs: dict[tuple[int | None, str, bool], Run] = {}
    for row in rows:  # by day
        key = (row.school_id, row.name, row.school_day)
        run = open_runs.get(key)
        if run is not None and run.last_day == row.day - timedelta(days=1):
            run.rows.append(row)
        else:
            open_runs[key] = Run([row])
            runs.append(open_runs[key])
    return sorted(runs, key=lambda r: (r.first.day, r.first.school_id is not None, r.first.id))


def row_kind(row: CalendarDay) -> str:
    """The kind of day an arrangement makes (a key of service.KIND_LABELS)."""
    if row.school_day:
        return "makeup"
    return "holiday" if row.school_id is None else "closed"


def _named(rows: list[CalendarDay], school_id: int | None, school_names: dict[int, str]) -> Named:
    """The arrangements each day shows: the one that decides it at this view ("own": the school's
    own, else the township's), and, in the township's view, every school's ("other")."""
    township = {r.day: r for r in rows if r.school_id is None}
    own = {r.day: r for r in rows if school_id is not None and r.school_id == school_id}
    named: Named = {}
    for day, row in sorted({**township, **own}.items()):
        where = f"{school_names.get(row.school_id, '')}：" if row.school_id is not None else ""
        text = f"{where}{row.name}（{day_label(row.school_day, row.school_id)}）"
        named.setdefault(day, []).append((text, "own", row_kind(row)))
    if school_id is None:
        for row in rows:
            if row.school_id is not None:
                text = f"{school_names.get(row.school_id, '')}：{row.name}（{day_label(row.school_day, row.school_id)}）"
                named.setdefault(row.day, []).append((text, "other", row_kind(row)))
    return named


def _year(year: int | None) -> int:
    chosen = school_year() if year is None else year
    if not FIRST_YEAR <= chosen <= LAST_YEAR:
        raise InvalidInput({"year": f"学年应在 {FIRST_YEAR} 到 {LAST_YEAR} 之间。"})
    return chosen


def _page(request: Request[Any, Any, Any], db: Session, *, year: int | None = None, school_id: int | None = None,
          form: str = "", values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
          status: int = 200) -> Template:
    actor = actor_of(request)
    scope = actor.scope
    chosen = _year(year)
    if school_id is not None:
        access_school(db, school_id)
    else:
        school_id = _member_school(request)
    start, end = date(chosen, 9, 1), date(chosen + 1, 8, 31)
    schools = list_schools(db)
    school_names = {s.id: s.name for s in schools}
    calendar = Calendar.load(db)
    rows = service.exceptions(db, start, end)
    shown = [r for r in rows if school_id is None or r.school_id in (None, school_id)]
    named = _named(rows, school_id, school_names)
    today = clock.today()
    months = [_month(calendar, chosen + add, month, school_id, named, today) for add, month in MONTHS]
    terms = service.terms(db)
    writer = actor.can(Permission.CALENDAR_WRITE)
    township_writer = writer and scope is not None and scope.whole_township
    own_school = _own_school(request) if writer else None
    return page(request, "school_calendar/calendar.html", {
        "year": chosen, "first_year": FIRST_YEAR, "last_year": LAST_YEAR, "school_id": school_id,
        "school_name": school_names.get(school_id or 0, ""), "schools": schools, "school_names": school_names,
        "member_school": _member_school(request), "months": months, "weekdays": WEEKDAYS, "kinds": KIND_LABELS,
        "year_school_days": sum(m.school_days for m in months),
        "terms": [(t, calendar.count(school_id, t.starts_on, t.ends_on)) for t in terms],
        "term_known": any(t.starts_on <= end and start <= t.ends_on for t in terms),
        "runs": _runs(shown), "day_label": day_label, "row_kind": row_kind, "weekday": lambda d: WEEKDAYS[d.weekday()],
        "can_remove": lambda row: writer and may_keep_day(scope, row.school_id),
        "can_add_day": township_writer or own_school is not None, "township_writer": township_writer,
        "own_school": own_school, "own_school_name": school_names.get(own_school or 0, ""),
        "form": form, "values": values or {}, "errors": errors or {}, "saved": request.query_params.get("saved"),
        "today": today,
    }, status=status)


@get("/calendar", opt=READ, include_in_schema=False, sync_to_thread=True)
def calendar_page(request: Request[Any, Any, Any], db: Session, year: int | None = None,
                  school_id: int | None = None) -> Template:
    return _page(request, db, year=year, school_id=school_id)


# --- the page's forms -------------------------------------------------------------------------

@post("/calendar/terms", opt=TERM_PROBE, include_in_schema=False, sync_to_thread=True)
def term_submit(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    values = {k: str(data.get(k, "")) for k in ("name", "starts_on", "ends_on")}
    return submit(lambda: service.do_add_term(db, actor_of(request), **values), done="/calendar",
                  refused=lambda errors: _page(request, db, form="term", values=values, errors=errors, status=400))


@post("/calendar/terms/{term_id:int}/remove", opt=REMOVE_PROBE, include_in_schema=False, sync_to_thread=True)
def term_remove_submit(request: Request[Any, Any, Any], db: Session, term_id: int) -> Response[Any]:
    return submit(lambda: service.do_remove_term(db, actor_of(request), term_id), done="/calendar",
                  refused=lambda errors: _page(request, db, errors=errors, status=400))


@post("/calendar/days", opt=DAY_PROBE, include_in_schema=False, sync_to_thread=True)
def day_submit(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    values = {k: str(data.get(k, "")) for k in ("day", "until", "school_day", "name", "school_id")}
    school_id = form_int(values["school_id"])
    if school_id is None:
        school_id = _own_school(request)  # a school's form: its own days
    return submit(lambda: service.do_add_days(db, actor_of(request), day=values["day"], until=values["until"],
                                              school_day=values["school_day"], name=values["name"],
                                              school_id=school_id), done="/calendar",
                  refused=lambda errors: _page(request, db, form="day", values=values, errors=errors, status=400))


@post("/calendar/days/{day_id:int}/remove", opt=REMOVE_PROBE, include_in_schema=False, sync_to_thread=True)
def day_remove_submit(request: Request[Any, Any, Any], db: Session, day_id: int, data: Form) -> Response[Any]:
    """The day, and the days after it in the same line of the list (`day_ids`): all or none."""
    more = data.get("day_ids", [])
    ids = [day_id, *(form_int(v) for v in (more if isinstance(more, list) else [more]))]

    def remove() -> None:
        for row_id in ids:
            service.do_remove_day(db, actor_of(request), row_id if row_id is not None else -1)

    return submit(remove, done="/calendar", refused=lambda errors: _page(request, db, errors=errors, status=400))


routes = [terms_api, school_days_api, day_create_api, calendar_page, term_submit, term_remove_submit, day_submit,
          day_remove_submit]
