"""What the rosters API answers, and the Chinese names of its fields and records.

An import answers the report (`RosterReportOut`). A refused file answers 422 with the
platform's problem details (`baoxue.platform.errors.Problem`) and two members more, as RFC 9457
allows: `problems` (`RosterProblemOut`: each problem's Excel row, column, field and reason) and
`error_workbook` (where to download the file back with each problem marked).
"""

from __future__ import annotations

import msgspec

from baoxue.platform.labels import Entity, Field, names_from
from baoxue.tenants.rosters import service
from baoxue.tenants.tenancy.models import School

FIELDS: dict[str, Field | str] = {
    # Route parameters (school_id, key, file) are the shell's and tenancy's.
    "report": "导入结果",
    # What an import audits.
    "roster.rows": "行数",
    "roster.created": "新增学生",
    "roster.updated": "更新学生",
    "roster.unchanged": "未变学生",
    "roster.arrived": "转来或恢复在读",
    "roster.arrived_ids": Field("转来或恢复在读的学生", entity="students"),
    "roster.missing": "平台有、名册无",
    "roster.classes_created": "新建班级",
}

ENTITIES = {
    # A roster is a school's: the trail names the school.
    "roster": Entity("学籍名册", names_from(School, School.name)),
}


class ArrivalOut(msgspec.Struct):
    student_id: int
    name: str
    class_name: str
    from_school: str
    previous_status: str

    @classmethod
    def of(cls, a: service.Arrival) -> ArrivalOut:
        return cls(a.student_id, a.name, a.class_name, a.from_school, a.previous_status)


class MissingOut(msgspec.Struct):
    student_id: int
    name: str
    class_name: str
    status: str

    @classmethod
    def of(cls, m: service.Missing) -> MissingOut:
        return cls(m.student_id, m.name, m.class_name, m.status)


class RosterReportOut(msgspec.Struct):
    """What an applied import did. created + updated + unchanged = rows."""

    school_id: int
    school_name: str
    rows: int
    created: int
    updated: int
    unchanged: int
    missing: int  # on the roll, not in the file: listed in `missing_students`, never deleted
    classes_created: list[str]
    arrived: list[ArrivalOut]  # records moved here from another school (or back on this roll)
    missing_students: list[MissingOut]
    changed_nothing: bool
    summary: str

    @classmethod
    def of(cls, r: service.RosterReport) -> RosterReportOut:
        return cls(school_id=r.school_id, school_name=r.school_name, rows=r.rows, created=r.created,
                   updated=r.updated, unchanged=r.unchanged, missing=len(r.missing),
                   classes_created=list(r.classes_created), arrived=[ArrivalOut.of(a) for a in r.arrived],
                   missing_students=[MissingOut.of(m) for m in r.missing], changed_nothing=r.changed_nothing,
                   summary=r.summary)


class RosterProblemOut(msgspec.Struct):
    row: int  # Excel's row number
    column: str  # its letter; "" for a whole row (a missing header)
    field: str  # the column's national header
    reason: str

    @classmethod
    def of(cls, p: service.RosterProblem) -> RosterProblemOut:
        return cls(p.row, p.column, p.field, p.reason)
