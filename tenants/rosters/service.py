"""A school's roster in the national layout: import (all or nothing), export, template, sample.

`do_import_roster` takes the file the national 学籍 system exports, as it is (layout.py: which
columns, in which words; checks.py: every row checked), and applies a clean file in the
request's one transaction:

* a child is found by ID number, else by 全国学籍号: on this school's roll → updated in place
  when a value differs, untouched when none does (so a second import of the same file changes
  nothing and says so); nowhere → created;
* a class is matched by grade and number whatever its spelling; a class the school lacks is
  created (through the tenancy service, audited) and named in the report;
* a child on the roll but missing from the file is never deleted: the report lists them, since
  a child who vanished from a roster is exactly what this work exists to find;
* another school of the township holding the child (在读, 休学, 复学, 停学, 保留入学资格): the row
  is refused with that school's name. A child who *left* another school of the township
  (graduated from the primary, transferred out, dropped out, whereabouts unknown) moves onto
  this school's roll (the ID number is unique in the township, so there is one record, and
  the receiving school's roster is the evidence of where the child is now); the report lists
  these arrivals with the school and status they came from, and so does the audit row. The
  same holds for a child of this school whose record had ended here (back after leaving).
  A record marked 死亡 is refused wherever it is: a roster naming that child is a typo to check.

Decisions the national file leaves open:
* 居住村 is not in the national file: when 现住址 names a village of the township (the longest
  name found, "板当村" in "板当镇板当村三组12号"), that is the residence; otherwise the
  residence stays as it was (none for a new child), never cleared by an address that names none.
* A column the file does not have leaves that field as it was; an empty cell of a column it
  has is the field's empty value (the file is the national record: it says "none").
* An empty 全国学籍号 is G + the ID number for a new child (the normal case), and leaves an
  existing child's number as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from io import BytesIO
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from baoxue.platform import audit, imports
from baoxue.platform.clock import clock, school_year, utcnow
from baoxue.platform.concepts import notify
from baoxue.platform.db import tenant_of
from baoxue.platform.errors import InvalidInput
from baoxue.platform.imports import FIRST_SHEET, Limits, Sheet, Upload
from baoxue.platform.spreadsheets import FORMULA_STARTS, printable
from baoxue.tenants.rosters import bulk, layout
from baoxue.tenants.rosters.checks import ClassRef, Parsed, RowChecker, class_name_key, parse_class
from baoxue.tenants.rosters.events import Event
from baoxue.tenants.rosters.layout import BY_KEY, COLUMNS, STORED_KEYS
from baoxue.tenants.rosters.policy import access_roster_school
from baoxue.tenants.students.idnumbers import make_id_number
from baoxue.tenants.students.models import ENROLLED, STATUS_LABELS, Student
from baoxue.tenants.tenancy import service as tenancy
from baoxue.tenants.tenancy.models import School, SchoolClass, Village

# --- the spec the import engine reads --------------------------------------------------------

# A township school has hundreds of pupils, a large central school a few thousand; a county's
# file of one school is well under this. The national export has some 80 columns.
MAX_ROWS = 20_000
LIMITS = Limits.for_rows(MAX_ROWS, 120, xls=True)
UPLOAD_BYTES = LIMITS.upload_bytes
HEADER_WITHIN = 20  # national exports put a title (and sometimes a date line) above the header


ENGINE_COLUMNS = tuple(c.engine_column(tenancy.GRADE_NAMES[1:] if c.key == "grade" else None) for c in COLUMNS)
SPEC = {FIRST_SHEET: Sheet(ENGINE_COLUMNS, header_within=HEADER_WITHIN)}

# Statuses (JY/T 1001) under which a school still holds the child: another school's record in
# one of these refuses the row; this school's own, missing from the file, is listed as missing.
HELD = frozenset({"01", "02", "04", "05", "12"})
DECEASED = "11"

_STUDENTS = Student.__table__
_SCHOOLS = School.__table__
_IN_CHUNK = 2000  # ids per IN (...) list: SQLite takes at most 32,766 parameters a statement


# --- the report --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Arrival:
    """A child whose record moved onto this school's roll (or came back to it) with this import."""

    student_id: int
    name: str
    class_name: str
    from_school: str
    previous_status: str  # its label: 毕业, 转学（转出）, 流失 ...


@dataclass(frozen=True)
class Missing:
    """A child on this school's roll whom the file does not name: listed, never deleted."""

    student_id: int
    name: str
    class_name: str
    status: str  # its label


@dataclass(frozen=True)
class RosterReport:
    school_id: int
    school_name: str
    rows: int
    created: int
    updated: int
    unchanged: int
    arrived: tuple[Arrival, ...] = ()
    missing: tuple[Missing, ...] = ()
    classes_created: tuple[str, ...] = ()

    @property
    def changed_nothing(self) -> bool:
        return not (self.created or self.updated or self.arrived or self.classes_created)

    @property
    def summary(self) -> str:
        if self.changed_nothing:
            return f"名册与平台一致：{self.rows} 名学生均无变化，没有任何改动。"
        updated = f"更新 {self.updated} 名" + (f"（其中从其他学校转来或恢复在读 {len(self.arrived)} 名）"
                                               if self.arrived else "")
        parts = [f"新增 {self.created} 名", updated, f"未变 {self.unchanged} 名"]
        if self.classes_created:
            parts.append(f"新建班级 {len(self.classes_created)} 个（{'、'.join(self.classes_created)}）")
        return f"已导入 {self.rows} 行：" + "，".join(parts) + "。"

    def counts(self) -> dict[str, Any]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "arrived": len(self.arrived), "missing": len(self.missing),
                "classes_created": list(self.classes_created)}


# --- what the platform holds ----------------------------------------------------------------------

_OWN_KEYS = (*STORED_KEYS, "class_id", "residence_village_id", "status", "incoming_school_id")


@dataclass
class _Holdings:
    """The school's roll and classes, and the township's villages, read once each."""

    own: dict[int, dict[str, Any]]  # student id -> its columns (_OWN_KEYS)
    own_by_id: dict[str, int]
    own_by_number: dict[str, int]
    classes: dict[int, tuple[int, str]]  # class id -> (grade, name)
    class_keys: dict[tuple[int, int | None, str], int]
    villages: list[tuple[str, int]]  # longest name first

    @classmethod
    def load(cls, session: Session, school: School) -> _Holdings:
        # Read through the scope (the ORM entity is in the statement): the school's own rows only.
        query = select(Student.id, *(_STUDENTS.c[k] for k in _OWN_KEYS)).where(Student.school_id == school.id)
        own = {row[0]: dict(zip(_OWN_KEYS, row[1:], strict=True)) for row in session.execute(query)}
        classes = {cid: (grade, name) for cid, grade, name in session.execute(
            select(SchoolClass.id, SchoolClass.grade, SchoolClass.name)
            .where(SchoolClass.school_id == school.id).order_by(SchoolClass.id))}
        class_keys: dict[tuple[int, int | None, str], int] = {}
        for cid, (grade, name) in classes.items():
            said_grade, number = parse_class(name)
            if said_grade not in (None, grade):
                continue  # a class whose name says another grade than it has: matched by nobody
            class_keys.setdefault(ClassRef(grade, number, class_name_key(name)).key, cid)
        villages = sorted(session.execute(select(Village.name, Village.id)).all(), key=lambda v: -len(v[0]))
        return cls(
            own=own,
            own_by_id={v["id_number"]: sid for sid, v in own.items() if v["id_number"]},
            own_by_number={v["student_number"]: sid for sid, v in own.items()},
            classes=classes, class_keys=class_keys, villages=[v for v in villages if v[0]],
        )

    def village_in(self, address: str) -> int | None:
        return next((vid for name, vid in self.villages if name in address), None)


@dataclass(frozen=True)
class _Elsewhere:
    """Another school's record of a child the file names: only what the refusal or the move needs."""

    id: int
    id_number: str | None
    student_number: str
    status: str
    school_name: str
    incoming_school_id: int | None


def _elsewhere(session: Session, school_id: int, id_numbers: list[str],
               student_numbers: list[str]) -> list[_Elsewhere]:
    """Other schools' records (in this township) of the ID numbers and 学籍号 given.

    A plain-table read, past the scope on purpose: the importing school may not read other
    schools' students (the Student policy hides them), yet it must learn that a child it lists
    is held by another school, to refuse the row and name that school, and it must find the
    record of a child who left one (graduated, transferred out) to take it over: the ID number
    is unique in the township, so there is one record per child. It selects only what that
    needs — the record's id and status, its numbers (to know which one matched), and the other
    school's name — never the child's name, birth date, family or address. The township wall
    still holds: PostgreSQL's row-level security, and the township named below.
    """
    township_id = tenant_of(session).township_id
    found: dict[int, _Elsewhere] = {}
    columns = (_STUDENTS.c.id, _STUDENTS.c.id_number, _STUDENTS.c.student_number, _STUDENTS.c.status,
               _SCHOOLS.c.name, _STUDENTS.c.incoming_school_id)
    for key_column, values in ((_STUDENTS.c.id_number, id_numbers), (_STUDENTS.c.student_number, student_numbers)):
        for start in range(0, len(values), _IN_CHUNK):
            query = (select(*columns).select_from(_STUDENTS)
                     .join(_SCHOOLS, and_(_SCHOOLS.c.id == _STUDENTS.c.school_id,
                                          _SCHOOLS.c.township_id == _STUDENTS.c.township_id))
                     .where(_STUDENTS.c.township_id == township_id, _STUDENTS.c.school_id != school_id,
                            key_column.in_(values[start:start + _IN_CHUNK])))
            for row in session.execute(query):
                found[row[0]] = _Elsewhere(*row)
    return list(found.values())


# --- planning ------------------------------------------------------------------------------------

@dataclass
class _Plan:
    new: list[tuple[Parsed, dict[str, Any]]] = field(default_factory=list)
    changed: list[tuple[Parsed, dict[str, Any]]] = field(default_factory=list)
    unchanged: int = 0
    arrivals: list[tuple[Parsed, int, str, str]] = field(default_factory=list)  # (row, id, from, status)
    seen: set[int] = field(default_factory=set)  # own student ids the file names
    new_classes: dict[tuple[int, int | None, str], tuple[ClassRef, Parsed]] = field(default_factory=dict)


class _Planner:
    def __init__(self, session: Session, school: School, upload: Upload, holdings: _Holdings,
                 parsed: list[Parsed]) -> None:
        self.session, self.school, self.reader, self.h = session, school, upload.reader, holdings
        self.present = set(parsed[0].row.cells) if parsed else set()
        self.plan = _Plan()
        self.targets: dict[int, int] = {}  # record id -> the row that names it
        others = _elsewhere(session, school.id,
                            [p.id_number for p in parsed if p.id_number and p.id_number not in holdings.own_by_id],
                            [p.student_number for p in parsed if p.student_number not in holdings.own_by_number])
        self.other_by_id = {o.id_number: o for o in others if o.id_number}
        self.other_by_number = {o.student_number: o for o in others}

    def _where(self, target: int | _Elsewhere) -> str:
        return f"本校学生{self.h.own[target]['name']}" if isinstance(target, int) else f"{target.school_name}的学生"

    def place(self, p: Parsed) -> None:
        by_id = (self.h.own_by_id.get(p.id_number) or self.other_by_id.get(p.id_number)) if p.id_number else None
        by_number = self.h.own_by_number.get(p.student_number) or self.other_by_number.get(p.student_number)
        if by_id is not None and by_number is not None and _ident(by_id) != _ident(by_number):
            self.reader.add(p.row, "student_number" if "student_number" in p.row.cells else "id_number",
                            f"全国学籍号 {p.student_number} 在平台上属于{self._where(by_number)}，"
                            "与本行的身份证件号不是同一人：请核对。")
            return
        target = by_id if by_id is not None else by_number
        if target is not None:
            # Two rows can reach one record by different keys (one by ID number, one by 学籍号).
            first = self.targets.setdefault(_ident(target), p.number)
            if first != p.number:
                self.reader.add(p.row, "id_number", f"与第 {first} 行是平台上的同一个学生（按身份证件号或全国学籍号）。")
                return
        class_id = self._class(p)
        if target is None:
            self.plan.new.append((p, self._values(p, class_id, None)))
        elif isinstance(target, int):
            self._own(p, target, class_id)
        else:
            self._other(p, target, class_id)

    def _class(self, p: Parsed) -> int | None:
        key = ClassRef(p.klass.grade, p.klass.number, class_name_key(p.klass.name)).key
        if key in self.h.class_keys:
            return self.h.class_keys[key]
        self.plan.new_classes.setdefault(key, (p.klass, p))
        return None  # filled in once the class exists

    def _values(self, p: Parsed, class_id: int | None, existing: dict[str, Any] | None) -> dict[str, Any]:
        """The row's columns as the file says them (only the file's columns, for an existing child)."""
        values = {k: v for k, v in p.values.items() if k in STORED_KEYS}
        values["id_number"] = p.id_number
        if not p.values.get("student_number"):
            values.pop("student_number", None)
            if existing is None:
                values["student_number"] = p.student_number  # G + the ID number
        values["class_id"] = class_id
        village = self.h.village_in(p.values.get("address", "")) if "address" in p.values else None
        values["residence_village_id"] = village if village is not None else \
            (existing or {}).get("residence_village_id")
        values["_class_key"] = ClassRef(p.klass.grade, p.klass.number, class_name_key(p.klass.name)).key
        return values

    def _own(self, p: Parsed, student_id: int, class_id: int | None) -> None:
        existing = self.h.own[student_id]
        if existing["status"] == DECEASED:
            self._refuse_deceased(p, "本校")
            return
        self.plan.seen.add(student_id)
        values = self._values(p, class_id, existing)
        if existing["status"] not in HELD:
            values["status"] = ENROLLED
            self.plan.arrivals.append((p, student_id, self.school.name, STATUS_LABELS.get(existing["status"], "")))
        differs = class_id is None or any(existing.get(k) != v for k, v in values.items() if not k.startswith("_"))
        if differs:
            self.plan.changed.append((p, {**existing, **values, "id": student_id}))
        else:
            self.plan.unchanged += 1

    def _other(self, p: Parsed, other: _Elsewhere, class_id: int | None) -> None:
        column = "id_number" if p.id_number and other.id_number == p.id_number else "student_number"
        if column not in p.row.cells:
            column = "id_number"
        if other.status == DECEASED:
            self._refuse_deceased(p, other.school_name)
        elif other.incoming_school_id == self.school.id:
            self.reader.add(p.row, column, f"该学生正从{other.school_name}转入本校，转学尚未确认到校："
                                           "请先在“学籍变动”中确认到校，再导入本行。")
        elif other.status in HELD:
            self.reader.add(p.row, column, f"该学生在{other.school_name}的学籍状态为"
                                           f"“{STATUS_LABELS.get(other.status, other.status)}”，不能同时在本校："
                                           f"请先由{other.school_name}办理转出，或核对证件号。")
        else:
            values = self._values(p, class_id, None)
            if not p.values.get("student_number"):
                values["student_number"] = other.student_number  # an empty cell keeps the record's number
            values.update(status=ENROLLED, incoming_school_id=None, id=other.id)
            self.plan.changed.append((p, values))
            self.plan.arrivals.append((p, other.id, other.school_name, STATUS_LABELS.get(other.status, "")))

    def _refuse_deceased(self, p: Parsed, where: str) -> None:
        self.reader.add(p.row, "id_number", f"该证件号在{where}的学籍中登记为“死亡”：请核对证件号。")


def _ident(target: int | _Elsewhere) -> int:
    return target if isinstance(target, int) else target.id


# --- importing -----------------------------------------------------------------------------------

def read_roster(data: bytes) -> Upload:
    """The upload read against the national layout (FileRefused when the file itself is refused)."""
    upload = imports.read_upload(data, SPEC, LIMITS)
    if upload.book.first is None:
        raise InvalidInput({"file": "文件中没有工作表：请上传从全国学籍系统导出的名册。"})
    return upload


def do_import_roster(session: Session, school_id: int, data: bytes) -> RosterReport:
    """Check the whole file, then apply it to the school's roll in one go, or nothing.

    Raises `imports.ImportRejected` (its `problems` and `error_workbook()`) when any row has a
    problem, `InvalidInput` when the file itself cannot be taken, `Conflict` on a race.
    """
    school = access_roster_school(session, school_id)
    upload = read_roster(data)
    rows = upload.rows[FIRST_SHEET]
    if not rows and not upload.reader.problems:
        raise InvalidInput({"file": "文件中没有学生：表头下面应每行一名学生。"})
    # One roster import at a time in the township: a child's record may move between schools.
    imports.one_at_a_time(session, f"roster:{tenant_of(session).township_id}")
    checker = RowChecker(upload.reader, school_kind=school.kind, today=clock.today())
    parsed = checker.duplicates([p for row in rows if (p := checker.check(row)) is not None])
    holdings = _Holdings.load(session, school)
    planner = _Planner(session, school, upload, holdings, parsed)
    for p in parsed:
        planner.place(p)
    plan = planner.plan
    if upload.reader.problems:
        raise upload.rejected()
    classes_created = _create_classes(session, school, upload, plan)
    now = utcnow()
    township_id = tenant_of(session).township_id
    batch = _batch(school, township_id, plan, classes_created, holdings, now, planner.present)
    with imports.duplicates_as_conflict():
        bulk.write(session, batch)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Student):
            session.expire(obj)  # written past the ORM: a loaded student is read again when next used
    report = _report(school, len(rows), plan, holdings, classes_created, batch)
    audit.record(session, Event.IMPORTED, entity_type="roster", entity_id=school.id, changes={
        **report.counts(), "arrived_ids": [a.student_id for a in report.arrived]})
    notify("figures_moved", session, what="roster", record_id=f"{school.id}:{now:%Y%m%dT%H%M%S}")
    session.flush()
    return report


def _create_classes(session: Session, school: School, upload: Upload,
                    plan: _Plan) -> dict[tuple[int, int | None, str], tuple[int, str]]:
    """The classes the file names and the school lacks, created through the tenancy service."""
    made: dict[tuple[int, int | None, str], tuple[int, str]] = {}
    year = school_year()
    for key, (ref, p) in sorted(plan.new_classes.items(), key=lambda item: (item[0][0], item[0][1] or 0, item[0][2])):
        stage_start = 7 if ref.grade >= 7 else 1
        try:
            created = tenancy.do_create_class(session, school_id=school.id, grade=ref.grade,
                                              name=ref.canonical_name, entry_year=year - (ref.grade - stage_start))
        except InvalidInput as refused:
            raise upload.rejected([*upload.reader.problems, *(
                imports.Problem(p.row.sheet, p.row.number, p.row.letter("class"), f"无法新建班级：{message}")
                for message in refused.errors.values())]) from None
        made[key] = (created.id, created.name)
    return made


def _new_row(values: dict[str, Any], school: School, township_id: int, now: Any) -> dict[str, Any]:
    row = {c.name: _NEW_DEFAULTS.get(c.name) for c in _STUDENTS.columns if c.name != "id"}
    row.update({k: v for k, v in values.items() if not k.startswith("_")})
    row.update(township_id=township_id, school_id=school.id, status=ENROLLED, incoming_school_id=None,
               created_at=now, updated_at=now)
    return row


# The value of every column a new child gets when the file does not say it (the model's defaults).
_NEW_DEFAULTS: dict[str, Any] = {c.name: c.default.arg for c in _STUDENTS.columns
                                 if c.default is not None and not callable(c.default.arg)}


def _batch(school: School, township_id: int | None, plan: _Plan,
           classes_created: dict[tuple[int, int | None, str], tuple[int, str]], holdings: _Holdings,
           now: Any, present: set[str]) -> bulk.Batch:
    """The rows to write. They bypass the ORM's scope checks (see bulk.py), so the guarantee is
    made here: every row carries the importing school and the session's township, new rows get
    fresh ids, and a changed row's id is one of the school's own records (read through the scope,
    `school_id` named) or a record another school has let go (`movable`: found by `_elsewhere`,
    status not held, not incoming). bulk.write checks the first again; its update, the last."""
    if township_id is None:
        raise RuntimeError("a roster is imported for a township")

    def placed(values: dict[str, Any]) -> dict[str, Any]:
        if values["class_id"] is None:
            values["class_id"] = classes_created[values["_class_key"]][0]
        return values

    new = [_new_row(placed(values), school, township_id, now) for _p, values in plan.new]
    update_columns = ("school_id", "class_id", "residence_village_id", "status", "incoming_school_id", "updated_at",
                      "id_number", *(k for k in STORED_KEYS if k in present and k != "id_number"))
    movable = {sid for _p, sid, _f, _s in plan.arrivals if sid not in holdings.own}
    changed = []
    for _p, values in plan.changed:
        values = placed(values)
        if values["id"] not in holdings.own and values["id"] not in movable:
            raise RuntimeError("a roster row for a record that is neither the school's nor let go")
        changed.append({**{k: v for k, v in values.items() if not k.startswith("_")},
                        "township_id": township_id, "school_id": school.id, "updated_at": now})
    return bulk.Batch(school_id=school.id, new=new, changed=changed, update_columns=update_columns,
                      movable=movable, keep_when_empty=("residence_village_id",),
                      placeholders={**_NEW_DEFAULTS, "created_at": now})


def _report(school: School, rows: int, plan: _Plan, holdings: _Holdings,
            classes_created: dict[tuple[int, int | None, str], tuple[int, str]], batch: bulk.Batch) -> RosterReport:
    class_names = {**{cid: name for cid, (_grade, name) in holdings.classes.items()},
                   **dict(classes_created.values())}
    class_of = {values["id"]: values["class_id"] for values in batch.changed}
    arrived = tuple(Arrival(sid, p.values.get("name", ""), class_names.get(class_of.get(sid) or 0, ""), from_school,
                            status) for p, sid, from_school, status in plan.arrivals)
    missing = tuple(
        Missing(sid, v["name"], class_names.get(v["class_id"] or 0, ""), STATUS_LABELS.get(v["status"], v["status"]))
        for sid, v in sorted(holdings.own.items(), key=lambda item: (item[1]["class_id"] or 0, item[1]["name"]))
        if sid not in plan.seen and v["status"] in HELD)
    return RosterReport(
        school_id=school.id, school_name=school.name, rows=rows, created=len(plan.new), updated=len(plan.changed),
        unchanged=plan.unchanged, arrived=arrived, missing=missing,
        classes_created=tuple(name for _cid, name in classes_created.values()),
    )


# --- writing workbooks in the national layout -------------------------------------------------------

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE7F3")


def _neutral(ws: Any, value: Any) -> Any:
    """A cell a spreadsheet never runs as a formula: text is text (quote-prefixed when it starts
    like one), control characters dropped; the value itself is kept, so it imports back as it was."""
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(ws, value=printable(value))
    cell.data_type = "s"
    if value.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    return cell


def national_row(student: dict[str, Any], grade: int, class_name: str) -> list[Any]:
    """A student's row in the national layout: names, not codes; dates as the national file writes them."""
    out = []
    for column in COLUMNS:
        key = column.key
        if key == "grade":
            out.append(tenancy.GRADE_NAMES[grade] if grade else "")
        elif key == "class":
            out.append(class_name)
        elif key == "birth_date":
            out.append(f"{student['birth_date']:%Y%m%d}" if student.get("birth_date") else "")
        elif key == "distance_km":
            out.append(student.get("distance_km"))
        elif column.codes is not None:
            out.append(column.codes.name(student.get(key)))
        else:
            value = student.get(key)
            out.append("" if value is None else value)
    return out


def roster_workbook(rows: Iterable[list[Any]], *, title: str = "") -> bytes:
    """The national layout as an .xlsx (write-only: ten thousand rows in a second or two)."""
    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet(layout.SHEET)
    for index, column in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column.width
    ws.freeze_panes = "A3" if title else "A2"
    if title:
        ws.append([_neutral(ws, title)])
    header = []
    for column in COLUMNS:
        cell = WriteOnlyCell(ws, value=column.header)
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        header.append(cell)
    ws.append(header)
    for row in rows:
        ws.append([_neutral(ws, v) for v in row])
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def _roster_rows(session: Session, school: School) -> list[tuple[dict[str, Any], int, str]]:
    """The school's roll (the children it holds), by class and name: (columns, grade, class name)."""
    keys = (*STORED_KEYS, "class_id")
    query = (select(Student.id, *(_STUDENTS.c[k] for k in keys))
             .where(Student.school_id == school.id, Student.status.in_(HELD)))
    classes = {cid: (grade, name) for cid, grade, name in session.execute(
        select(SchoolClass.id, SchoolClass.grade, SchoolClass.name).where(SchoolClass.school_id == school.id))}
    found = []
    for row in session.execute(query):
        values = dict(zip(keys, row[1:], strict=True))
        grade, name = classes.get(values["class_id"], (0, ""))
        found.append((values, grade, name))
    found.sort(key=lambda item: (item[1], item[2], item[0]["name"], item[0]["student_number"]))
    return found


def do_export_roster(session: Session, school_id: int) -> tuple[bytes, str]:
    """The school's roster in the national layout (names, not codes), and its file name. Audited."""
    school = access_roster_school(session, school_id)
    rows = _roster_rows(session, school)
    data = roster_workbook(national_row(values, grade, name) for values, grade, name in rows)
    audit.record(session, Event.EXPORTED, entity_type="roster", entity_id=school.id, changes={"rows": len(rows)})
    return data, f"{school.name}-学籍名册-{clock.today():%Y%m%d}.xlsx"


# --- the template and the sample --------------------------------------------------------------------

SAMPLE_ROW: dict[str, Any] = {
    "name": "王小明", "gender": "男", "birth_date": "20190315", "ethnicity": "汉族", "id_type": "居民身份证",
    "id_number": "", "student_number": "", "grade": "一年级", "class": "一年级(1)班", "entry_month": "202509",
    "is_boarding": "走读", "hukou_place": "贵州省黔南布依族苗族自治州", "hukou_nature": "农业户口",
    "address": "某镇某村一组 12 号", "phone": "13800000000", "left_behind": "非留守儿童", "is_migrant": "否",
    "is_orphan": "否", "disability": "无", "needs_aid": "否", "receives_subsidy": "否", "distance_km": 1.5,
    "family1_name": "王大山", "family1_relation": "父亲", "family1_phone": "13800000001", "family1_is_guardian": "是",
    "family1_id_type": "居民身份证", "family1_id_number": "", "family1_address": "某镇某村一组 12 号",
    "family1_work_unit": "务农", "family2_name": "李小芳", "family2_relation": "母亲", "family2_phone": "13800000002",
    "family2_is_guardian": "否", "family2_id_type": "居民身份证", "family2_id_number": "",
    "family2_address": "广东省东莞市", "family2_work_unit": "广东省东莞市电子厂",
}


def _help_lines() -> list[tuple[str, bool]]:
    required = "、".join(c.header for c in COLUMNS if c.required)
    return [
        ("保学 · 学籍名册导入模板（全国学籍系统格式）", True),
        ("", False),
        ("最方便的做法：直接上传从全国中小学生学籍信息管理系统导出的名册（.xlsx 或 .xls），不必改成本模板。", False),
        ("系统按表头名称找列（表头可以不在第 1 行，列的顺序不限，用不到的列会被忽略），"
         "代码和名称都认（如 性别 1 或 男、身份证件类型 1 或 居民身份证、是否留守儿童 1 或 单亲留守儿童）。", False),
        ("", False),
        ("如需手工填写：在“学籍名册”工作表第 2 行是一行示例，请改成真实学生或删除；每行一名学生。", False),
        (f"必填列（红色表头）：{required}。身份证件号请保持文本格式（不要让 Excel 显示成 5.2E+17）。", False),
        ("出生日期写 YYYYMMDD（如 20190315）或 YYYY-MM-DD；入学年月写 YYYYMM（如 202509）。", False),
        ("班级写 一年级(1)班、一年级（1）班、1年级1班、一(1)班 或 (1)班 均可；本校没有的班级会自动新建。", False),
        ("证件类型为“其他”且学生没有证件号时，必须填写成员1（监护人）的身份证件号。", False),
        ("", False),
        ("上传后会怎样", True),
        ("系统先检查整个文件；只要有一处错误就不导入任何数据，并给出标出问题的文件（问题单元格标红，原因写在批注和最后一列）。"
         "全部无误时一次导入：新学生新增，有变化的学生更新，没有变化的不动。", False),
        ("平台上有、本次名册中没有的学生不会被删除，而是列出来，请逐一核实去向。", False),
    ]


def roster_template() -> bytes:
    """The workbook to fill in by hand: 说明, then the national headers, a sample row, drop-downs."""
    data = imports.write_template({layout.SHEET: ENGINE_COLUMNS}, _help_lines())
    book = load_workbook(BytesIO(data))
    ws = book[layout.SHEET]
    for index, column in enumerate(COLUMNS, start=1):
        value = SAMPLE_ROW.get(column.key, "")
        cell = ws.cell(row=2, column=index, value=value)
        if isinstance(value, str):
            cell.data_type = "s"
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def do_export_sample_roster(session: Session, school_id: int) -> tuple[bytes, str]:
    """A file for trying the import: the school's roster as it is, plus two new pupils, one
    changed phone number and one new row whose ID number has a wrong check digit (so the first
    upload is refused at exactly that cell; delete or correct it, and the second applies).
    It holds the school's roster, so it is an audited export like the roster itself."""
    school = access_roster_school(session, school_id)
    rows = _roster_rows(session, school)
    lines = [national_row(values, grade, name) for values, grade, name in rows]
    phone_at = COLUMNS.index(BY_KEY["phone"])
    if lines:
        lines[0][phone_at] = "13912345678" if lines[0][phone_at] != "13912345678" else "13987654321"
    grade = tenancy.SCHOOL_GRADES[school.kind][0]
    template = next((v for v, g, _n in rows if g == grade), rows[0][0] if rows else {})
    class_name = next((n for _v, g, n in rows if g == grade), f"{tenancy.GRADE_NAMES[grade]}（1）班")
    region = (template.get("id_number") or "522727")[:6]
    births = [date(school_year() - 6 - grade, 9, 1) + timedelta(days=40 + 61 * i) for i in range(3)]
    # Numbers no child of the township has: the narrow read (another school's would refuse the row).
    candidates = [make_id_number(region, birth, sequence) for birth in births for sequence in range(900, 1000)]
    taken = {values["id_number"] for values, _g, _n in rows if values["id_number"]}
    taken |= {o.id_number for o in _elsewhere(session, school.id, candidates, []) if o.id_number}
    for index, (name, male) in enumerate((("韦小雨", False), ("龙子轩", True), ("杨可馨", False))):
        number = next(n for n in candidates if n[6:14] == f"{births[index]:%Y%m%d}" and n not in taken
                      and int(n[16]) % 2 == (1 if male else 0))
        taken.add(number)
        values = _sample_pupil(template, name, male, births[index], number)
        if index == 2:  # the wrong check digit
            values["id_number"] = number[:-1] + ("0" if number[-1] != "0" else "1")
            values["student_number"] = ""
        lines.append(national_row(values, grade, class_name))
    data = roster_workbook(lines, title=f"{school.name}学籍名册（试用文件：含 2 名新生、1 处电话变更、1 处证件号错误）")
    audit.record(session, Event.SAMPLE_EXPORTED, entity_type="roster", entity_id=school.id,
                 changes={"rows": len(lines)})
    return data, f"{school.name}-学籍名册-试用.xlsx"


def _sample_pupil(template: dict[str, Any], name: str, male: bool, birth: date, number: str) -> dict[str, Any]:
    """A new first-year pupil like the school's others (their address, hukou and so on)."""
    values = {k: template.get(k) for k in STORED_KEYS}
    values.update(name=name, gender="男" if male else "女", birth_date=birth, id_type="1", id_number=number,
                  student_number="G" + number, entry_month=f"{school_year()}09", phone="13700000000",
                  family1_name=name[0] + "建国", family1_relation="父亲", family1_is_guardian=True,
                  family1_id_type="1", family1_id_number="", family1_phone="13700000001",
                  family2_name="", family2_relation="", family2_phone="", family2_is_guardian=False,
                  family2_id_type="", family2_id_number="", family2_address="", family2_work_unit="")
    return values


# --- the page ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RosterOverview:
    school: School
    students: int  # on the roll (the statuses it holds)
    classes: int


def roster_overview(session: Session, school_id: int) -> RosterOverview:
    """What the roster page shows above the upload form (two queries)."""
    school = access_roster_school(session, school_id)
    students = session.scalar(select(func.count(Student.id)).where(Student.school_id == school.id,
                                                                   Student.status.in_(HELD))) or 0
    classes = session.scalar(select(func.count(SchoolClass.id)).where(SchoolClass.school_id == school.id)) or 0
    return RosterOverview(school, students, classes)


def roster_schools(session: Session) -> list[School]:
    """The schools whose roster the session's scope may import (a school: itself; the township: all)."""
    scope = tenant_of(session).scope
    schools = tenancy.list_schools(session)
    if scope is not None and scope.whole_township:
        return schools
    return [s for s in schools if scope is not None and scope.is_school(s.id) and scope.class_ids is None]


@dataclass(frozen=True)
class RosterProblem:
    """One problem of a refused file: where (Excel's row number, the column's letter), which field
    (the column's national header), and why."""

    row: int
    column: str
    field: str
    reason: str


def described_problems(rejected: imports.ImportRejected,
                       header_of: Mapping[str, str] | None = None) -> list[RosterProblem]:
    """The refused file's problems, each with its column's header ("" for a whole row): the
    national roster's, or `header_of` (column key -> header) for another list read the same way."""
    headers: dict[str, str] = {}
    upload = rejected.upload
    if upload is not None:
        for row in upload.rows.get(FIRST_SHEET, [])[:1]:
            headers = {cell.letter: header_of[key] if header_of is not None else BY_KEY[key].header
                       for key, cell in row.cells.items()}
    return [RosterProblem(p.row, p.column, headers.get(p.column, ""), p.message) for p in rejected.problems]


__all__ = [
    "Arrival", "HELD", "LIMITS", "Missing", "RosterProblem", "RosterReport", "described_problems", "SPEC", "do_export_roster", "do_export_sample_roster",
    "do_import_roster", "national_row", "read_roster", "roster_overview", "roster_schools", "roster_template",
    "roster_workbook",
]
