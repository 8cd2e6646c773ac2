"""What the case API reads and answers, and the Chinese names of its fields.

A timeline entry's kind is `entry_kind` in the API and the forms (`kind` already names a
school's kind across the app). Photos and a closing's document travel in the JSON body as
Base64 (`photos[].content`, `document.content`), checked by the service like a form's upload;
the guardian's signature as the `data:image/png;base64,...` URL a canvas draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from baoxue.platform.labels import Entity, Field, numeric_ids
from baoxue.platform.permissions import Permission
from baoxue.platform.photos import MAX_PHOTO_BYTES, MAX_SIGNATURE_BYTES
from baoxue.platform.request_checks import Id, base64_length, text_up_to
from baoxue.platform.files import MAX_DOCUMENT_BYTES
from baoxue.tenants.cases import notices
from baoxue.tenants.cases.flows import (
    CLOSING_LABELS,
    ENTRY_LABELS,
    REASONS,
    STAGE_LABELS,
    VISIT_MODES,
)
from baoxue.tenants.cases.models import Case, CaseEntry, HomeVisit
from baoxue.tenants.cases.service import CaseDetail, CaseView, VisitView

FIELDS: dict[str, Field | str] = {
    "case_id": Field("控辍个案", entity="cases"),
    "visit_id": Field("家访记录", entity="home_visits"),
    "photo_id": "照片",
    "entry_id": "个案记录",
    "stage": Field("个案阶段", values={str(k): v for k, v in STAGE_LABELS.items()}),
    "cases.stage": Field("个案阶段", values={str(k): v for k, v in STAGE_LABELS.items()}),
    "report": Field("上报文书", values={"absence_report": "旷课报告单", "dropout_report": "流失报告"}),
    "entry_kind": Field("记录类型", values={str(k): v for k, v in ENTRY_LABELS.items()}),
    "opened_via": Field("立案来源", values={"manual": "人工立案", "attendance": "考勤预警", "census": "入户核查"}),
    "first_absent_on": "首次缺课日期",
    "reason_code": Field("辍学原因", values=dict(REASONS)),
    "reason_text": "原因说明",
    "whereabouts": "去向",
    "note": "情况说明",
    "summary": "内容",
    "occurred_at": "时间",
    "corrects_entry_id": "更正的记录",
    "previous_case_id": Field("前一个案（再次辍学）", entity="cases"),
    "visited_at": "家访时间",
    "mode": Field("家访方式", values=dict(VISIT_MODES)),
    "visitor_ids": "家访人员",
    "visitors": "家访人员",
    "met": "见到的人及与学生关系",
    "found": "了解到的情况",
    "agreed": "商定事项",
    "next_visit_on": "下次家访日期",
    "photos": "照片",
    "signature": "监护人签名",
    "attempt": "劝返次数",
    "closing": Field("结案方式", values={str(k): v for k, v in CLOSING_LABELS.items()}),
    "closing_evidence": "结案依据",
    "return_date": "返校日期",
    "return_class_id": Field("返校后班级", entity="school_classes"),
    "watch_until": "辍返生跟踪至",
    "watch": "只看辍返生",
    "semester": "学期",
    "teacher_id": "教师",
    # The enforcement chain's documents: named beside their actions (tenants/cases/notices.py).
    **notices.FIELDS,
}


def _case_names(session: Any, ids: Any) -> dict[str, str]:
    """A case by its child: 张三的控辍个案 (read through the reader's scope)."""
    wanted = numeric_ids(ids)
    rows = session.execute(select(Case.id, Case.student_name).where(Case.id.in_(wanted))) if wanted else []
    return {str(i): f"{name}的控辍个案" for i, name in rows}


def _visit_names(session: Any, ids: Any) -> dict[str, str]:
    wanted = numeric_ids(ids)
    rows = session.execute(select(HomeVisit.id, HomeVisit.visited_at, HomeVisit.attempt).where(
        HomeVisit.id.in_(wanted))) if wanted else []
    return {str(i): (f"第{attempt}次劝返" if attempt else "家访") for i, _when, attempt in rows}


ENTITIES = {
    # The child's name only for those who may read the cases (not the administrator reading the trail).
    "cases": Entity("控辍个案", _case_names, permission=Permission.CASE_READ),
    "home_visits": Entity("家访记录", _visit_names, permission=Permission.CASE_READ),
    "photos": Entity("家访照片"),
}

# A file of N bytes is 4/3 as long in Base64; the service checks the bytes.
PHOTO_BASE64_CHARS = base64_length(MAX_PHOTO_BYTES)
PhotoBase64 = text_up_to(PHOTO_BASE64_CHARS)
DOCUMENT_BASE64_CHARS = base64_length(MAX_DOCUMENT_BYTES)
DocumentBase64 = text_up_to(DOCUMENT_BASE64_CHARS)
SIGNATURE_CHARS = base64_length(MAX_SIGNATURE_BYTES) + 100
MAX_API_PHOTOS = 3  # a JSON body of six 20 MB photos in Base64 would be too large for one request
VISIT_BODY_LIMIT = MAX_API_PHOTOS * PHOTO_BASE64_CHARS + SIGNATURE_CHARS + 64 * 1024
CLOSE_BODY_LIMIT = DOCUMENT_BASE64_CHARS + 64 * 1024


FileName = text_up_to(120, min_length=1)
Text200 = text_up_to(200)
Text500 = text_up_to(500)
Text1000 = text_up_to(1000)
Text2000 = text_up_to(2000)


@dataclass
class FileIn:
    filename: FileName
    content: PhotoBase64


@dataclass
class CaseIn:
    """Open a case for a child at risk of leaving school (疑似辍学)."""

    student_id: Id
    note: Text2000  # what happened: who noticed, since when
    first_absent_on: date | None = None
    reason_code: str = ""  # flows.REASONS; "other" needs reason_text
    reason_text: Text500 = ""


@dataclass
class StageIn:
    """Move the case to its next stage. `reported` files a report: `absence_report` (旷课报告单:
    first day absent and reason) or `dropout_report` (流失报告: and the whereabouts);
    `enforcing` needs three persuasion attempts and a note."""

    stage: str  # reported | persuading | enforcing
    report: str = ""
    first_absent_on: date | None = None
    reason_code: str = ""
    reason_text: Text500 = ""
    whereabouts: Text500 = ""
    note: Text1000 = ""


@dataclass
class EntryIn:
    """A timeline entry: phone_call, school_talk, note, dropout_report (reason and whereabouts),
    or correction (names `corrects_entry_id`). Entries are never edited."""

    entry_kind: str
    summary: Text2000 = ""
    occurred_at: datetime | None = None
    corrects_entry_id: Id | None = None
    first_absent_on: date | None = None
    reason_code: str = ""
    reason_text: Text500 = ""
    whereabouts: Text500 = ""


@dataclass
class VisitIn:
    """A home visit on the case (its next 第N次劝返, or a follow-up visit after the return).
    Photos: JPEG, PNG or HEIC, at most 3 through the API (6 through the page); EXIF is removed."""

    met: Text200
    found: Text2000
    mode: str = "home"  # home | phone | school | online
    visited_at: datetime | None = None
    visitor_ids: list[Id] = field(default_factory=list)  # memberships; default: you
    reason_code: str = ""
    reason_text: Text500 = ""
    agreed: Text2000 = ""
    next_visit_on: date | None = None
    photos: list[FileIn] = field(default_factory=list)
    signature: text_up_to(SIGNATURE_CHARS) = ""


@dataclass
class DocumentIn:
    filename: FileName
    content: DocumentBase64


@dataclass
class CloseIn:
    """Close the case: returned (return_date, return_class_id), transferred, exempted,
    home_teaching or died (closing_evidence and the document). There is no "other"."""

    closing: str
    return_date: date | None = None
    return_class_id: Id | None = None
    closing_evidence: Text1000 = ""
    document: DocumentIn | None = None


@dataclass
class EntryOut:
    id: int
    number: int
    entry_kind: str
    label: str
    occurred_at: datetime
    summary: str
    actor_name: str
    visit_id: int | None
    notice_id: int | None
    corrects_entry_id: int | None

    @classmethod
    def of(cls, e: CaseEntry) -> EntryOut:
        return cls(id=e.id, number=e.number, entry_kind=e.kind, label=_entry_label(e.kind),
                   occurred_at=e.occurred_at, summary=e.summary, actor_name=e.actor_name, visit_id=e.visit_id,
                   notice_id=e.notice_id, corrects_entry_id=e.corrects_entry_id)


def _entry_label(kind: str) -> str:
    return next((v for k, v in ENTRY_LABELS.items() if k == kind), kind)


@dataclass
class VisitOut:
    id: int
    student_id: int
    case_id: int | None
    attempt: int | None
    visited_at: datetime
    mode: str
    visitors: list[str]
    met: str
    found: str
    reason_code: str
    reason_text: str
    agreed: str
    next_visit_on: date | None
    signed: bool
    photo_ids: list[int]

    @classmethod
    def of(cls, view: VisitView) -> VisitOut:
        v = view.visit
        return cls(id=v.id, student_id=v.student_id, case_id=v.case_id, attempt=v.attempt, visited_at=v.visited_at,
                   mode=v.mode, visitors=list(view.visitors), met=v.met, found=v.found, reason_code=v.reason_code,
                   reason_text=v.reason_text, agreed=v.agreed, next_visit_on=v.next_visit_on,
                   signed=bool(v.signature_key), photo_ids=[p.id for p in view.photos])


@dataclass
class CaseOut:
    id: int
    student_id: int
    student_name: str
    school_id: int
    school_name: str
    class_id: int | None
    class_name: str
    village_id: int | None
    village_name: str
    stage: str
    stage_label: str
    opened_via: str
    opened_at: datetime
    first_absent_on: date | None
    reason_code: str
    reason_text: str
    whereabouts: str
    attempts: int
    previous_case_id: int | None
    closing: str
    closing_label: str
    closed_at: datetime | None
    return_date: date | None
    return_class_id: int | None
    watch_until: date | None
    returner: bool  # 辍返生: returned and still watched
    responsible: dict[str, str] = field(default_factory=dict)  # the detail's: role → name
    entries: list[EntryOut] = field(default_factory=list)  # the detail's: the whole timeline, in order
    visits: list[VisitOut] = field(default_factory=list)

    @classmethod
    def of(cls, view: CaseView, detail: CaseDetail | None = None) -> CaseOut:
        c = view.case
        out = cls(
            id=c.id, student_id=c.student_id, student_name=c.student_name, school_id=c.school_id,
            school_name=view.school, class_id=c.class_id, class_name=view.class_name, village_id=c.village_id,
            village_name=view.village, stage=c.stage, stage_label=view.stage_label, opened_via=c.opened_via,
            opened_at=c.opened_at, first_absent_on=c.first_absent_on, reason_code=c.reason_code,
            reason_text=c.reason_text, whereabouts=c.whereabouts, attempts=view.attempts,
            previous_case_id=c.previous_case_id, closing=c.closing, closing_label=view.closing_label,
            closed_at=c.closed_at, return_date=c.return_date, return_class_id=c.return_class_id,
            watch_until=c.watch_until, returner=view.returner)
        if detail is not None:
            out.responsible = {k: p.name for k, p in detail.people.items() if p is not None}
            out.entries = [EntryOut.of(e) for e in detail.entries]
            out.visits = [VisitOut.of(v) for v in detail.visits.values()]
        return out

