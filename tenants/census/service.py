"""The census's reads and actions: lists kept by hand or imported, and what a page shows of them.

Who imports which list follows duty (`lists_for`): a village its census, the police station
the household register, the finance or social affairs office the poverty list, the township
office any of them. An import checks every row first and writes nothing if any has a problem
(the roster import's rule and the same cell checks); a clean file adds and updates by ID
number, and a child the village had listed but the file lacks is reported, never deleted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxue.platform import audit, imports
from baoxue.platform.access import get_in_township
from baoxue.platform.clock import clock, school_year, utcnow
from baoxue.platform.db import tenant_of
from baoxue.platform.errors import InvalidInput, not_found
from baoxue.platform.imports import FIRST_SHEET, Limits, Row
from baoxue.platform.permissions import DutyCode, UnitKind
from baoxue.platform.scoping import township_facts
from baoxue.platform.templating import mask_id_number
from baoxue.platform.text import field_text
from baoxue.tenants.census.events import Event
from baoxue.tenants.census.layout import LAYOUTS, ListLayout
from baoxue.tenants.census.models import (FINDINGS, POVERTY_KINDS, CensusChild, CensusFinding, CensusRun,
                                          PovertyHousehold)
from baoxue.tenants.census.policy import access_census_child, access_census_village
from baoxue.tenants.rosters.checks import RowChecker
from baoxue.tenants.rosters.layout import RosterColumn
from baoxue.tenants.students.idnumbers import birth_date_of, gender_of, is_valid_id_number, normalise_id_number
from baoxue.tenants.tenancy.models import Department, Village

MAX_ROWS = 20_000
LIMITS = Limits.for_rows(MAX_ROWS, 40, xls=True)
UPLOAD_BYTES = LIMITS.upload_bytes
SCHOOL_AGE = (6, 15)  # 义务教育适龄: 6 to 15 years old on the reference day
DUTY_LISTS = {DutyCode.POLICE.value: ("register",), DutyCode.FINANCE.value: ("poverty",),
              DutyCode.SOCIAL_AFFAIRS.value: ("poverty",)}


# --- who keeps which list ------------------------------------------------------------------------

def lists_for(session: Session) -> tuple[str, ...]:
    """The lists the actor's unit imports: by its kind, and a department by its duty."""
    scope = tenant_of(session).scope
    if scope is None:
        return ()
    if scope.whole_township:
        return ("census", "register", "poverty")
    if scope.unit_kind == UnitKind.VILLAGE:
        return ("census",)
    if scope.unit_kind == UnitKind.DEPARTMENT and scope.unit_id is not None:
        department = get_in_township(session, Department, scope.unit_id)
        return DUTY_LISTS.get(department.duty_code, ()) if department else ()
    return ()


def access_list(session: Session, kind: str, village_id: int | None) -> Village | None:
    """The list the actor may import (a census: of which village), or the one 404."""
    if kind not in LAYOUTS or kind not in lists_for(session):
        raise not_found()
    if kind == "census":
        if village_id is None:
            raise InvalidInput({"village_id": "请选择导入哪个村的文化户口。"})
        return access_census_village(session, village_id)
    return None


# --- reading rows ---------------------------------------------------------------------------------

def reference_day(today: date | None = None) -> date:
    """The day ages are counted on: 31 August before the school year under way (入学年龄的计算日)."""
    return date(school_year(today), 8, 31)


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def school_age_births(day: date) -> tuple[date, date]:
    """The birth dates of children aged 6 to 15 on `day`, both ends included."""
    youngest, oldest = SCHOOL_AGE
    latest = date(day.year - youngest, day.month, day.day if (day.month, day.day) != (2, 29) else 28)
    earliest = date(day.year - oldest - 1, day.month, day.day if (day.month, day.day) != (2, 29) else 28)
    return earliest.fromordinal(earliest.toordinal() + 1), latest


@dataclass
class _Parsed:
    row: Row
    values: dict[str, Any]


class _ListReader:
    """One file's rows as values, each cell checked as the roster import checks it."""

    def __init__(self, session: Session, layout: ListLayout, reader: imports.Reader) -> None:
        self.layout = layout
        self.checker = RowChecker(reader, school_kind="", today=clock.today())
        self.checker.lookups.update({c.key: c.codes.lookup() for c in layout.columns if c.codes is not None})
        self.villages = {v.name: v.id for v in session.scalars(select(Village))}
        self.villages.update({name.removesuffix("村").removesuffix("社区"): vid for name, vid in list(self.villages.items())})

    def read(self, row: Row) -> _Parsed | None:
        values: dict[str, Any] = {}
        ok = True
        for column in self.layout.columns:
            value = self._cell(row, column)
            if value is _PROBLEM:
                ok = False
            elif value is not _EMPTY:
                values[column.key] = value
        return _Parsed(row, values) if ok and self._identity(row, values) else None

    def _cell(self, row: Row, column: RosterColumn) -> Any:
        checker = self.checker
        raw = row.value(column.key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if column.required:
                checker.reader.add(row, column.key, f"{column.header}不能为空。")
                return _PROBLEM
            return _EMPTY
        if column.kind == "id":
            number = checker.id_number(row, column)
            if number is None:
                return _PROBLEM
            if problem := checker.citizen_number_problem(number, column.header):
                checker.reader.add(row, column.key, problem)
                return _PROBLEM
            return number
        if column.kind == "date":
            found = checker.birth_date(row, column)
            return _PROBLEM if found is None else found
        if column.kind == "code":
            found = checker.code(row, column)
            return _PROBLEM if found is None else found if isinstance(found, str | bool) else _EMPTY
        if column.kind == "phone":
            found = checker.phone(row, column)
            return _PROBLEM if found is None else found
        text = checker.text(row, column)
        if text is None:
            return _PROBLEM
        if column.key == "village":
            village_id = self.villages.get(text) or self.villages.get(text.removesuffix("村"))
            if village_id is None:
                checker.reader.add(row, column.key, f"村（社区）“{text[:20]}”不是本乡镇的村：请按系统中的村名填写。")
                return _PROBLEM
            return village_id
        if column.key == "kind" and text not in POVERTY_KINDS:
            checker.reader.add(row, column.key, f"类别“{text[:20]}”无法识别，应为：{'、'.join(POVERTY_KINDS)}。")
            return _PROBLEM
        return text

    def _identity(self, row: Row, values: dict[str, Any]) -> bool:
        """A child's birth date and gender are the ID number's; a typed one must agree."""
        if "id_number" not in values or self.layout.kind == "poverty":
            return True
        number = values["id_number"]
        born, gender = birth_date_of(number), gender_of(number)
        if values.get("birth_date", born) != born:
            self.checker.reader.add(row, "birth_date", f"出生日期与身份证号中的 {born:%Y%m%d} 不一致：请核对。")
            return False
        if values.get("gender", gender) != gender:
            self.checker.reader.add(row, "gender", f"性别与身份证号不一致（按号码应为{gender}）：请核对。")
            return False
        values["birth_date"], values["gender"] = born, gender
        return True


class _Marker:
    pass


_PROBLEM, _EMPTY = _Marker(), _Marker()


# --- importing --------------------------------------------------------------------------------------

@dataclass
class ImportReport:
    kind: str
    title: str
    village: str
    rows: int
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    missing: list[str] = field(default_factory=list)  # listed before, not in this file (kept)

    def counts(self) -> dict[str, Any]:
        return {"kind": self.kind, "village": self.village, "rows": self.rows, "added": self.added,
                "updated": self.updated, "unchanged": self.unchanged, "missing": len(self.missing)}


KEY_COLUMN = {"census": "id_number", "register": "id_number", "poverty": "guardian_id_number"}


def do_import_list(session: Session, kind: str, data: bytes, *, village_id: int | None = None) -> ImportReport:
    """Check the whole file, then add and update its rows (by ID number), or write nothing."""
    village = access_list(session, kind, village_id)
    layout = LAYOUTS[kind]
    upload = imports.read_upload(data, layout.spec, LIMITS)
    rows = upload.rows[FIRST_SHEET]
    if not rows and not upload.reader.problems:
        raise InvalidInput({"file": "文件中没有数据：表头下面应每行一条。"})
    township_id = tenant_of(session).township_id
    imports.one_at_a_time(session, f"census:{kind}:{township_id}")
    reader = _ListReader(session, layout, upload.reader)
    parsed = [p for row in rows if (p := reader.read(row)) is not None]
    key = KEY_COLUMN[kind]
    seen: dict[str, int] = {}
    for p in parsed:
        number = p.values[key]
        if number in seen:
            upload.reader.add(p.row, key, f"身份证号与第 {seen[number]} 行重复。")
        seen.setdefault(number, p.row.number)
    model = PovertyHousehold if kind == "poverty" else CensusChild
    existing = _existing(session, kind, village)
    if kind == "census" and village is not None:
        elsewhere = _listed_in_other_villages(session, village.id, list(seen))
        for p in parsed:
            if (other := elsewhere.get(p.values[key])) is not None:
                upload.reader.add(p.row, key, f"该儿童已登记在{other}的文化户口中：一名儿童只登记在一个村，请与该村核实。")
    if upload.reader.problems:
        raise upload.rejected()
    report = ImportReport(kind, layout.title, village.name if village else "", len(rows))
    user_id = tenant_of(session).user_id or 0  # a job or the township itself: no person
    now = utcnow()
    for p in parsed:
        values = {**p.values}
        if "village" in values:
            values["village_id"] = values.pop("village")
        if village is not None:
            values["village_id"] = village.id
        row = existing.pop(values[key], None)
        if row is None:
            extra = {} if kind == "poverty" else {"source": kind}
            session.add(model(township_id=township_id, entered_by=user_id, entered_at=now, **extra, **values))
            report.added += 1
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            report.updated += 1
        else:
            report.unchanged += 1
    if kind == "census":
        report.missing = sorted(getattr(row, "name") for row in existing.values())
    audit.record(session, Event.IMPORTED, entity_type="census_list", entity_id=village.id if village else kind,
                 changes=report.counts())
    session.flush()
    if kind != "poverty" and (report.added or report.updated):
        _request_reconcile(session)
    return report


def _existing(session: Session, kind: str, village: Village | None) -> dict[str, Any]:
    """The list as it stands, by its key: a village's census is that village's rows only (the
    township office importing for one village must not find the others' children "missing")."""
    if kind == "poverty":
        return {row.guardian_id_number: row for row in session.scalars(select(PovertyHousehold))}
    query = select(CensusChild).where(CensusChild.source == kind)
    if village is not None:
        query = query.where(CensusChild.village_id == village.id)
    return {row.id_number: row for row in session.scalars(query)}


def _listed_in_other_villages(session: Session, village_id: int, numbers: list[str]) -> dict[str, str]:
    """Which of these children another village of the township has listed (a row may be in one
    only): the village learns only that one of its own rows is taken, and by which village."""
    if not numbers:
        return {}
    with township_facts(session):
        rows = session.execute(select(CensusChild.id_number, Village.name)
                               .join(Village, Village.id == CensusChild.village_id)
                               .where(CensusChild.source == "census", CensusChild.village_id != village_id,
                                      CensusChild.id_number.in_(numbers))).all()
    return dict(rows)


def list_template(kind: str) -> bytes:
    layout = LAYOUTS[kind]
    return imports.write_template(layout.template_spec, [(line, n == 0) for n, line in enumerate(layout.help)])


# --- keeping a child by hand -----------------------------------------------------------------------

CHILD_FIELDS = ("name", "id_number", "village_group", "hukou_place", "guardian_name", "guardian_phone", "lives_here",
                "note")


def do_add_child(session: Session, village_id: int, form: dict[str, Any]) -> CensusChild:
    """A village enters one school-age child of its census (文化户口)."""
    village = access_census_village(session, village_id)
    errors: dict[str, str] = {}
    values = _child_values(form, errors)
    if "id_number" not in errors and session.scalar(select(func.count(CensusChild.id)).where(
            CensusChild.source == "census", CensusChild.id_number == values["id_number"])):
        errors["id_number"] = "该身份证号已在本村文化户口中登记。"
    if "id_number" not in errors and (other := _listed_in_other_villages(session, village.id, [values["id_number"]])):
        errors["id_number"] = f"该儿童已登记在{next(iter(other.values()))}的文化户口中：一名儿童只登记在一个村。"
    if errors:
        raise InvalidInput(errors)
    child = CensusChild(township_id=tenant_of(session).township_id, source="census", village_id=village.id,
                        entered_by=tenant_of(session).user_id or 0, entered_at=utcnow(), **values)
    session.add(child)
    session.flush()
    audit.record(session, Event.CHILD_ADDED, entity=child, changes={
        "village": village.name, "name": child.name, "id_number": mask_id_number(child.id_number)})
    return child


def do_remove_child(session: Session, child_id: int) -> None:
    """A child listed by mistake (moved away for good, entered twice) leaves the census."""
    child = access_census_child(session, child_id, for_write=True)
    if child.source != "census":
        raise not_found()
    audit.record(session, Event.CHILD_REMOVED, entity=child, changes={
        "name": child.name, "id_number": mask_id_number(child.id_number)})
    session.delete(child)
    session.flush()


def _child_values(form: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, label, length, required in (("name", "姓名", 40, True), ("village_group", "组（屯）", 40, False),
                                          ("hukou_place", "户籍所在地", 200, False),
                                          ("guardian_name", "监护人姓名", 40, False),
                                          ("guardian_phone", "联系电话", 20, False), ("note", "备注", 200, False)):
        values[name] = field_text(form.get(name), errors, name, label=label, max_length=length, required=required)
    number = normalise_id_number(str(form.get("id_number") or ""))
    if not is_valid_id_number(number):
        errors["id_number"] = "身份证号应为 18 位且校验位正确（末位可为 X）：请核对。"
    else:
        values.update(id_number=number, birth_date=birth_date_of(number), gender=gender_of(number))
    values["lives_here"] = str(form.get("lives_here", "1")) not in ("0", "false", "否", "")
    return values


# --- what the pages show -----------------------------------------------------------------------------

@dataclass(frozen=True)
class VillageLine:
    village_id: int
    name: str
    listed: int  # school-age children on the census
    findings: dict[str, int]


def last_run(session: Session) -> CensusRun | None:
    return session.scalars(select(CensusRun).order_by(CensusRun.ran_at.desc(), CensusRun.id.desc()).limit(1)).first()


def village_lines(session: Session) -> list[VillageLine]:
    """Each village the actor sees: its school-age children listed and the last run's findings."""
    earliest, latest = school_age_births(reference_day())
    listed = dict(session.execute(select(CensusChild.village_id, func.count(CensusChild.id)).where(
        CensusChild.source == "census", CensusChild.birth_date.between(earliest, latest))
        .group_by(CensusChild.village_id)).all())
    found: dict[int | None, Counter[str]] = {}
    for village_id, kind, count in session.execute(select(CensusFinding.village_id, CensusFinding.kind,
                                                          func.count(CensusFinding.id))
                                                   .group_by(CensusFinding.village_id, CensusFinding.kind)):
        found.setdefault(village_id, Counter())[kind] = count
    scope = tenant_of(session).scope
    villages = session.scalars(select(Village).order_by(Village.name))
    return [VillageLine(v.id, v.name, listed.get(v.id, 0), dict(found.get(v.id, Counter())))
            for v in villages if scope is None or scope.whole_township or scope.unit_id == v.id]


def findings(session: Session, kind: str | None = None, village_id: int | None = None) -> list[CensusFinding]:
    query = select(CensusFinding).order_by(CensusFinding.kind, CensusFinding.village_id, CensusFinding.name)
    if kind in FINDINGS:
        query = query.where(CensusFinding.kind == kind)
    if village_id is not None:
        query = query.where(CensusFinding.village_id == village_id)
    return list(session.scalars(query.limit(2000)))


def village_children(session: Session, village_id: int) -> list[CensusChild]:
    access_census_village(session, village_id)
    return list(session.scalars(select(CensusChild).where(CensusChild.source == "census",
                                                          CensusChild.village_id == village_id)
                                .order_by(CensusChild.village_group, CensusChild.birth_date.desc())))


def list_counts(session: Session) -> dict[str, int]:
    """How many rows each list holds, as far as the actor sees them."""
    counts = dict(session.execute(select(CensusChild.source, func.count(CensusChild.id))
                                  .group_by(CensusChild.source)).all())
    counts["poverty"] = session.scalar(select(func.count(PovertyHousehold.id))) or 0
    return counts


def do_request_reconcile(session: Session) -> Any:
    """Ask for 四查三比对 now (the township office): a job recorded in this transaction."""
    scope = tenant_of(session).scope
    if scope is None or not scope.whole_township:
        raise not_found()
    run, created = _request_reconcile(session)
    if created:
        audit.record(session, Event.RECONCILE_REQUESTED, entity_type="job_runs", entity_id=run.key)
    return run


def _request_reconcile(session: Session) -> tuple[Any, bool]:
    """The comparison as a job, one a minute per person: a double click, or an import followed by
    a click, is one run. An import asks for it too, so the village sees its findings the same day."""
    from baoxue.platform.jobs import request_job
    from baoxue.tenants.census.tasks import reconcile_census, reconcile_key

    context = tenant_of(session)
    return request_job(session, context.township_id, reconcile_census,
                       reconcile_key("asked", utcnow(), context.user_id))
