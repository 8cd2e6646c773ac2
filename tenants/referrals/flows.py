"""A ticket's kinds, states and steps, and the routing table's defaults (DOMAIN.md §3)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from baoxue.platform.flows import Step
from baoxue.platform.permissions import DutyCode


@dataclass(frozen=True)
class Route:
    """Which departments take a kind of ticket, and in how many days they answer and finish."""

    kind: str
    label: str
    duties: tuple[DutyCode, ...]
    respond_days: int = 3
    resolve_days: int = 15


# The township may change these (the routing table); a township with no rows of its own uses them.
DEFAULT_ROUTES = {r.kind: r for r in (
    Route("child_labour", "儿童外出务工或被雇用", (DutyCode.LABOUR, DutyCode.MARKET)),
    Route("internet_cafe", "网吧等场所接纳未成年人", (DutyCode.CULTURE,)),
    Route("poverty", "家庭经济困难", (DutyCode.FINANCE, DutyCode.SOCIAL_AFFAIRS)),
    Route("left_behind", "留守、流浪儿童", (DutyCode.SOCIAL_AFFAIRS, DutyCode.WOMENS_FEDERATION)),
    Route("guardian_refuses", "监护人拒不送学（已发限期复学通知）", (DutyCode.JUSTICE, DutyCode.POLICE)),
    Route("harm", "侵害儿童", (DutyCode.POLICE,), respond_days=1, resolve_days=7),
)}
ENFORCEMENT_KIND = "guardian_refuses"  # the ticket a case entering 依法控辍 opens to the justice office


class State(StrEnum):
    OPENED = "opened"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {State.OPENED: "待受理", State.ACCEPTED: "已受理", State.IN_PROGRESS: "办理中",
                State.RESOLVED: "已办结，待转介方确认", State.CLOSED: "已关闭", State.RETURNED: "已退回",
                State.WITHDRAWN: "已撤回"}
# While one of these, the department sees what its duty needs of the case.
OPEN_STATES = frozenset({State.OPENED, State.ACCEPTED, State.IN_PROGRESS, State.RESOLVED})


class Side(StrEnum):
    REFERRER = "referrer"
    DEPARTMENT = "department"


STEPS = {s.action: s for s in (
    Step("accept", "受理", Side.DEPARTMENT, frozenset({State.OPENED}), State.ACCEPTED),
    Step("return", "退回", Side.DEPARTMENT, frozenset({State.OPENED}), State.RETURNED,
         "请写明退回的理由（例如不属于本部门职责，应转哪个部门）。"),
    Step("start", "开始办理", Side.DEPARTMENT, frozenset({State.ACCEPTED}), State.IN_PROGRESS),
    Step("resolve", "办结", Side.DEPARTMENT, frozenset({State.ACCEPTED, State.IN_PROGRESS}), State.RESOLVED,
         "请写明办理结果（做了什么、结果如何）。"),
    Step("close", "确认关闭", Side.REFERRER, frozenset({State.RESOLVED}), State.CLOSED),
    Step("reopen", "重新办理", Side.REFERRER, frozenset({State.RESOLVED}), State.IN_PROGRESS,
         "请写明为什么需要重新办理。"),
    Step("withdraw", "撤回", Side.REFERRER, frozenset({State.OPENED}), State.WITHDRAWN),
)}
