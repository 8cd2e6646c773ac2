"""What the status changes API reads and answers, and the Chinese names of its fields.

The request's kind is `change_kind` in the API and the forms: `kind` already names a school's
kind (学校类型) across the app, and a code keeps one meaning.

A certificate travels in the JSON body as Base64 (`document.content`): one documented body
for the whole request, checked by the service like a form's upload (type, size, first bytes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from baoxue.platform.labels import Entity, Field, numeric_ids
from baoxue.platform.permissions import Permission
from baoxue.platform.request_checks import Id, base64_length, bounded, text_up_to
from baoxue.platform.files import MAX_DOCUMENT_BYTES
from baoxue.tenants.status_changes.flows import KIND_LABELS, STATE_LABELS, STEP_LABELS, Kind, Step
from baoxue.tenants.status_changes.models import StatusChange, StatusStep
from baoxue.tenants.status_changes.service import ChangeView

FIELDS: dict[str, Field | str] = {
    "change_id": Field("学籍变动", entity="status_changes"),
    "change_kind": Field("变动类型", values={str(k): v for k, v in KIND_LABELS.items()}),
    "status_changes.kind": Field("变动类型", values={str(k): v for k, v in KIND_LABELS.items()}),
    "change_state": Field("办理状态", values={str(k): v for k, v in STATE_LABELS.items()}),
    "state": Field("办理状态", values={str(k): v for k, v in STATE_LABELS.items()}),
    "step": Field("审批环节", values={str(k): v for k, v in STEP_LABELS.items()}),
    "next_step": Field("待办环节", values={"": "无", **{str(k): v for k, v in STEP_LABELS.items()}}),
    "approved": Field("审批结果", values={True: "同意", False: "不同意"}),
    "opinion": "意见",
    "reason": "申请理由",
    "destination": "乡镇外的学校（转往、转自或借读）",
    "to_school_id": Field("转入学校", entity="schools"),
    "to_class_id": Field("新班级", entity="school_classes"),
    "effective_on": "生效日期",
    "document": "证明材料",
    "document_name": "证明材料",
    "filename": "文件名",
    "content": "文件内容（Base64）",
    "held": "未随年级毕业的人数（有未办结的学籍变动）",
    "incoming_school_id": Field("转入中的学校", entity="schools"),
}


def _change_names(session: Any, ids: Any) -> dict[str, str]:
    """A change by its child and kind: 张三转出 (read through the reader's scope)."""
    wanted = numeric_ids(ids)
    rows = session.execute(select(StatusChange.id, StatusChange.student_name, StatusChange.kind)
                           .where(StatusChange.id.in_(wanted))) if wanted else []
    return {str(i): f"{name}{KIND_LABELS.get(Kind(kind), kind)}" for i, name, kind in rows}


ENTITIES = {
    # The child's name only for those who may read the changes (not the administrator reading the trail).
    "status_changes": Entity("学籍变动", _change_names, permission=Permission.STATUS_READ),
}

STEP_VALUES = frozenset(str(step) for step in Step)
# A certificate of MAX_DOCUMENT_BYTES is 4/3 as long in Base64; the service checks the bytes.
DOCUMENT_BASE64_CHARS = base64_length(MAX_DOCUMENT_BYTES)
DocumentBase64 = text_up_to(DOCUMENT_BASE64_CHARS)
# The body may carry that, and the request's other fields.
API_BODY_LIMIT = DOCUMENT_BASE64_CHARS + 64 * 1024
FileName = text_up_to(120, min_length=1)
Text200 = text_up_to(200)
Text500 = text_up_to(500)
Grade = bounded(1, 9, description="毕业年级：小学为 6，初中和九年一贯制学校为 9")


@dataclass
class DocumentIn:
    filename: FileName
    # The file's bytes in Base64: a PDF, JPG or PNG of at most 5 MB.
    content: DocumentBase64


@dataclass
class StatusChangeIn:
    """A request for one child. Which fields a kind uses: `to_school_id` or `destination` for a
    transfer out; `destination` (where from / where to) for a transfer in and 借读; `to_class_id`
    for a repetition (a lower grade of the same school) or a resumption (optional); `document`
    for a suspension (hospital certificate) and a death (death certificate)."""

    student_id: Id
    change_kind: str  # transfer_out | transfer_in | suspension | resumption | repetition | elsewhere | death
    reason: Text500
    to_school_id: Id | None = None
    to_class_id: Id | None = None
    destination: Text200 = ""
    effective_on: date | None = None
    document: DocumentIn | None = None


@dataclass
class StepIn:
    step: str  # the awaited step: class_teacher | school | principal | central_school | bureau | arrival
    approved: bool
    opinion: Text500 = ""  # required when not approved
    to_class_id: Id | None = None  # the arrival: the receiving school's class


@dataclass
class GraduationIn:
    grade: Grade


@dataclass
class GraduationOut:
    school_id: int
    grade: int
    graduated: int
    held: list[str]  # children of the grade with an open change, not graduated with it


@dataclass
class StepOut:
    step: str
    label: str
    approved: bool
    opinion: str
    actor_name: str
    decided_at: datetime

    @classmethod
    def of(cls, s: StatusStep) -> StepOut:
        label = STEP_LABELS[Step(s.step)] if s.step in STEP_VALUES else s.step
        return cls(step=s.step, label=label, approved=s.approved, opinion=s.opinion, actor_name=s.actor_name,
                   decided_at=s.decided_at)


@dataclass
class StatusChangeOut:
    id: int
    kind: str
    kind_label: str
    state: str
    state_label: str
    next_step: str
    next_step_label: str
    student_id: int
    student_name: str
    school_id: int
    school_name: str
    class_id: int | None
    class_name: str
    to_school_id: int | None
    to_school_name: str
    to_class_id: int | None
    to_class_name: str
    central_school_id: int | None
    destination: str
    reason: str
    effective_on: date | None
    has_document: bool
    document_name: str
    requested_at: datetime
    finished_at: datetime | None
    confirm_by: date | None  # in transfer: the day the receiving school's confirmation is due
    steps: list[StepOut] = field(default_factory=list)  # the detail's: every step taken, in order
    can_decide: bool = False  # the detail's: whether you may take the awaited step

    @classmethod
    def of(cls, view: ChangeView, *, can_decide: bool = False) -> StatusChangeOut:
        c = view.change
        return cls(
            id=c.id, kind=c.kind, kind_label=view.kind_label, state=c.state, state_label=view.state_label,
            next_step=c.next_step, next_step_label=view.next_step_label, student_id=c.student_id,
            student_name=c.student_name, school_id=c.school_id, school_name=view.school, class_id=c.class_id,
            class_name=view.class_name, to_school_id=c.to_school_id, to_school_name=view.to_school,
            to_class_id=c.to_class_id, to_class_name=view.to_class, central_school_id=c.central_school_id,
            destination=c.destination, reason=c.reason, effective_on=c.effective_on,
            has_document=bool(c.document_key), document_name=c.document_name, requested_at=c.requested_at,
            finished_at=c.finished_at, confirm_by=view.confirm_by, steps=[StepOut.of(s) for s in view.steps],
            can_decide=can_decide)
