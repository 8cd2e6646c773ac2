"""What the census API reads and answers, and the Chinese names of its fields and records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from baoxue.platform.labels import Entity, Field, names_from
from baoxue.platform.permissions import Permission
from baoxue.platform.request_checks import text_up_to
from baoxue.tenants.census.models import FINDINGS, SOURCES, CensusChild
from baoxue.tenants.census.service import ImportReport, VillageLine
from baoxue.tenants.tenancy.models import Village

_COUNTS = {"listed": "适龄儿童（名单）", "here": "在本乡镇就读", "accounted": "已依法离校（毕业、转出等）",
           "cases_opened": "本次比对新建的控辍个案", **FINDINGS}
FIELDS: dict[str, Field | str] = {
    "village_id": Field("村", entity="villages"),
    "child_id": Field("登记的儿童", entity="census_children"),
    "list_kind": Field("名单", values={"census": "文化户口", "register": "户籍", "poverty": "贫困户"}),
    "finding": Field("比对结果", values=FINDINGS),
    "id_number": "身份证号",
    "village_group": "组（屯）",
    "hukou_place": "户籍所在地",
    "guardian_name": "监护人姓名",
    "guardian_phone": "联系电话",
    "lives_here": Field("是否在本村居住", values={True: "是", False: "否"}),
    "note": "备注",
    "census_children.name": "姓名",
    "census_children.village": "村",
    "census_list.kind": Field("名单", values={"census": "文化户口", "register": "户籍", "poverty": "贫困户"}),
    "census_list.village": "村",
    "census_list.rows": "行数",
    "census_list.added": "新增",
    "census_list.updated": "更新",
    "census_list.unchanged": "未变",
    "census_list.missing": "原有、本次文件中没有",
    "census_runs.reference_day": "年龄计算日",
    **{f"census_runs.{code}": label for code, label in _COUNTS.items()},
    "census_ledger.ledger": "台账",
    "census_ledger.rows": "条数",
}

ENTITIES = {
    "census_children": Entity("文化户口登记", names_from(CensusChild, CensusChild.name),
                              permission=Permission.CENSUS_READ),
    "census_list": Entity("名单导入", names_from(Village, Village.name)),
    "census_runs": Entity("四查三比对"),
    "census_ledger": Entity("台账"),
}
COUNT_LABELS = _COUNTS

Text40, Text200 = text_up_to(40), text_up_to(200)


@dataclass
class ChildIn:
    name: Text40
    id_number: Text40
    village_group: Text40 = ""
    hukou_place: Text200 = ""
    guardian_name: Text40 = ""
    guardian_phone: Text40 = ""
    lives_here: bool = True
    note: Text200 = ""


@dataclass
class ChildOut:
    id: int
    name: str
    id_number: str  # masked
    birth_date: date
    gender: str
    village_group: str
    guardian_name: str
    lives_here: bool
    source: str

    @classmethod
    def of(cls, c: CensusChild, masked: str) -> ChildOut:
        return cls(c.id, c.name, masked, c.birth_date, c.gender, c.village_group, c.guardian_name, c.lives_here,
                   SOURCES.get(c.source, c.source))


@dataclass
class VillageOut:
    village_id: int
    name: str
    listed: int
    findings: dict[str, int]

    @classmethod
    def of(cls, line: VillageLine) -> VillageOut:
        return cls(line.village_id, line.name, line.listed, line.findings)


@dataclass
class FindingOut:
    kind: str
    label: str
    name: str
    village_id: int | None
    school_id: int | None
    student_id: int | None
    case_id: int | None
    poverty: str


@dataclass
class ImportOut:
    kind: str
    village: str
    rows: int
    added: int
    updated: int
    unchanged: int
    missing: list[str]

    @classmethod
    def of(cls, r: ImportReport) -> ImportOut:
        return cls(r.kind, r.village, r.rows, r.added, r.updated, r.unchanged, r.missing)


@dataclass
class RunOut:
    key: str
    status: str
    last_run_at: datetime | None = None
