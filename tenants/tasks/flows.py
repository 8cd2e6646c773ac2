"""A task copy's life and what it asks for.

assigned → (progress) in progress → (submit) submitted → (accept) accepted, or (send back, with
a reason) sent back → progress / submit again. The assignee's side reports and submits; the
assigning side (the leading group and its office) accepts or sends back, never its own work.
"""

from __future__ import annotations

from enum import StrEnum

from baoxue.platform.flows import Step


class State(StrEnum):
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    SENT_BACK = "sent_back"
    ACCEPTED = "accepted"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {State.ASSIGNED: "待办理", State.IN_PROGRESS: "办理中", State.SUBMITTED: "待验收",
                State.SENT_BACK: "已退回", State.ACCEPTED: "已验收"}
WORKING = frozenset({State.ASSIGNED, State.IN_PROGRESS, State.SENT_BACK})  # the assignee's turn


class Side(StrEnum):
    ASSIGNEE = "assignee"
    ASSIGNER = "assigner"


STEPS = {s.action: s for s in (
    Step("progress", "报告进展", Side.ASSIGNEE, WORKING, State.IN_PROGRESS, "请写明目前的进展。"),
    Step("submit", "提交完成材料", Side.ASSIGNEE, WORKING, State.SUBMITTED),
    Step("accept", "验收通过", Side.ASSIGNER, frozenset({State.SUBMITTED}), State.ACCEPTED),
    Step("send_back", "退回补充", Side.ASSIGNER, frozenset({State.SUBMITTED}), State.SENT_BACK,
         "请写明退回的理由和需要补充的内容。"),
)}
ACTION_LABELS = {"assign": "下达任务", "evidence": "上传材料", "remind": "提醒", **{a: s.label for a, s in STEPS.items()}}


class Evidence(StrEnum):
    """What an assignee must show to finish."""

    NOTE = "note"  # a written account
    FILES = "files"  # files or records (minutes, photos, a register)
    COUNT = "count"  # a number, e.g. "home visits made: 20"

    @property
    def label(self) -> str:
        return {"note": "文字说明", "files": "附件或记录", "count": "数量"}[self.value]


class Recurrence(StrEnum):
    MONTHLY = "monthly"  # every month, on its day
    ACTIVITY_MONTHS = "activity_months"  # every March and September (控辍保学活动月), on its day

    @property
    def label(self) -> str:
        return {"monthly": "每月", "activity_months": "每年三月、九月（活动月）"}[self.value]

    def months(self) -> tuple[int, ...]:
        return tuple(range(1, 13)) if self == Recurrence.MONTHLY else (3, 9)


class AssigneeKind(StrEnum):
    SCHOOL = "school"
    VILLAGE = "village"
    DEPARTMENT = "department"
    MEMBER = "member"  # a named person: their membership
