"""What the referrals API reads and answers, and the Chinese names of its fields and records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from baoxue.platform.labels import Entity, Field
from baoxue.tenants.referrals.flows import DEFAULT_ROUTES, STATE_LABELS, STEPS

_KINDS = {kind: route.label for kind, route in DEFAULT_ROUTES.items()}
_STATES = {state.value: label for state, label in STATE_LABELS.items()}
_ACTIONS = {"open": "开转介单", **{action: step.label for action, step in STEPS.items()}}

FIELDS: dict[str, Field | str] = {
    "referral_id": Field("转介单", entity="referrals"),
    "kind": Field("转介事项", values=_KINDS),
    "department_id": Field("接收部门", entity="departments"),
    "reason": "转介说明",
    "subject": "事由",
    "grant_family": Field("允许部门查看家庭情况", values={True: "是", False: "否"}),
    "grant_photos": Field("允许部门查看照片", values={True: "是", False: "否"}),
    "action": Field("办理操作", values=_ACTIONS),
    "ticket_state": Field("状态", values=_STATES),
    "referrals.number": "转介单号",
    "referrals.kind": Field("转介事项", values=_KINDS),
    "referrals.department": "接收部门",
    "referrals.case_id": Field("控辍个案", entity="cases"),
    "referrals.state": Field("状态", values=_STATES),
    "referrals.action": Field("办理操作", values=_ACTIONS),
    "referrals.student_id": Field("学生", entity="students"),
    "referrals.family": Field("可查看家庭情况", values={True: "是", False: "否"}),
    **{f"referral_routes.{kind}": f"{label}（分工和期限）" for kind, label in _KINDS.items()},
    **{f"{kind}.{part}": f"{label}：{name}" for kind, label in _KINDS.items()
       for part, name in (("duties", "接收部门"), ("respond_days", "受理期限"), ("resolve_days", "办结期限"))},
}

ENTITIES = {"referrals": Entity("转介单")}


@dataclass
class ReferralIn:
    kind: str
    department_id: int
    reason: str
    case_id: int | None = None
    subject: str = ""
    grant_family: bool = False
    grant_photos: bool = False


@dataclass
class RouteIn:
    duties: list[str]
    respond_days: int
    resolve_days: int


@dataclass
class RouteOut:
    kind: str
    label: str
    duties: list[str]
    respond_days: int
    resolve_days: int


@dataclass
class StepIn:
    action: str
    note: str = ""


@dataclass
class ChildOut:
    """What the department's duty needs of the child (while the ticket is open)."""

    name: str
    age: int | None
    village: str
    id_number: str
    family: str


@dataclass
class StepOut:
    number: int
    action: str
    state: str
    note: str
    actor_name: str
    occurred_at: datetime


@dataclass
class ReferralOut:
    id: int
    number: int
    kind: str
    kind_label: str
    department: str
    subject: str
    state: str
    state_label: str
    referrer_name: str
    respond_by: date
    resolve_by: date
    opened_at: datetime
    outcome: str
    reason: str
    child: ChildOut | None = None
    steps: list[StepOut] = field(default_factory=list)
