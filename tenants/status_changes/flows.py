"""Which approvals each kind of status change needs, who takes each, and what it changes.

DOMAIN.md §7: a transfer needs the application, the class teacher's opinion, the school's
opinion and the principal's approval, and is filed with the central school; repetition and
suspension need the bureau's sign-off (the central school records it). A transfer inside the
township completes only when the receiving school confirms the child has arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from baoxue.platform.permissions import Role


class Kind(StrEnum):
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    SUSPENSION = "suspension"
    RESUMPTION = "resumption"
    REPETITION = "repetition"
    ELSEWHERE = "elsewhere"
    GRADUATION = "graduation"
    DEATH = "death"
    # JY/T 1001 codes 03 and 14: named so that a request for them is refused with the law's
    # reason (never "unknown kind"); no page offers them.
    WITHDRAWAL = "withdrawal"
    EXPULSION = "expulsion"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    Kind.TRANSFER_OUT: "转出", Kind.TRANSFER_IN: "转入", Kind.SUSPENSION: "休学", Kind.RESUMPTION: "复学",
    Kind.REPETITION: "留级", Kind.ELSEWHERE: "借读", Kind.GRADUATION: "毕业", Kind.DEATH: "死亡",
    Kind.WITHDRAWAL: "退学", Kind.EXPULSION: "开除",
}
REFUSED_KINDS = frozenset({Kind.WITHDRAWAL, Kind.EXPULSION})
REFUSED_KIND_MESSAGE = ("义务教育阶段不得办理{kind}：《中华人民共和国义务教育法》第五条、第十一条规定，适龄儿童、少年"
                        "应当接受并完成义务教育，学校不得让其退学或开除其学籍（第二十七条）。"
                        "学生长期不到校的，请按控辍保学程序登记缺勤并劝返。")


class Step(StrEnum):
    # The request itself, recorded like the approvals (who, when, the reason); no rule takes it.
    APPLICATION = "application"
    CLASS_TEACHER = "class_teacher"
    SCHOOL = "school"
    PRINCIPAL = "principal"
    CENTRAL_SCHOOL = "central_school"
    BUREAU = "bureau"
    ARRIVAL = "arrival"

    @property
    def label(self) -> str:
        return STEP_LABELS[self]


STEP_LABELS = {
    Step.APPLICATION: "提出申请", Step.CLASS_TEACHER: "班主任意见", Step.SCHOOL: "学校意见（教导处）",
    Step.PRINCIPAL: "校长审批", Step.CENTRAL_SCHOOL: "中心校备案", Step.BUREAU: "教育局审批", Step.ARRIVAL: "转入学校确认到校",
}


class Where(StrEnum):
    """Whose staff take a step: the child's school, the central school, the receiving school."""

    SCHOOL = "school"
    CENTRAL = "central"
    RECEIVING = "receiving"


@dataclass(frozen=True)
class StepRule:
    step: Step
    where: Where
    roles: tuple[Role, ...]  # the first is the owner of the worklist item

    @property
    def owner_role(self) -> Role:
        return self.roles[0]


_SCHOOL_LEADS = (Role.ACADEMIC_OFFICE, Role.PRINCIPAL)
RULES = {
    Step.CLASS_TEACHER: StepRule(Step.CLASS_TEACHER, Where.SCHOOL, (Role.CLASS_TEACHER, Role.ACADEMIC_OFFICE)),
    Step.SCHOOL: StepRule(Step.SCHOOL, Where.SCHOOL, (Role.ACADEMIC_OFFICE,)),
    Step.PRINCIPAL: StepRule(Step.PRINCIPAL, Where.SCHOOL, (Role.PRINCIPAL,)),
    Step.CENTRAL_SCHOOL: StepRule(Step.CENTRAL_SCHOOL, Where.CENTRAL, _SCHOOL_LEADS),
    # The county bureau signs on paper; the central school records its sign-off and document number.
    Step.BUREAU: StepRule(Step.BUREAU, Where.CENTRAL, _SCHOOL_LEADS),
    Step.ARRIVAL: StepRule(Step.ARRIVAL, Where.RECEIVING, _SCHOOL_LEADS),
}

FLOWS: dict[Kind, tuple[Step, ...]] = {
    Kind.TRANSFER_OUT: (Step.CLASS_TEACHER, Step.SCHOOL, Step.PRINCIPAL, Step.CENTRAL_SCHOOL),
    Kind.TRANSFER_IN: (Step.SCHOOL, Step.PRINCIPAL, Step.CENTRAL_SCHOOL),
    Kind.SUSPENSION: (Step.CLASS_TEACHER, Step.PRINCIPAL, Step.BUREAU),
    Kind.RESUMPTION: (Step.PRINCIPAL, Step.CENTRAL_SCHOOL),
    Kind.REPETITION: (Step.CLASS_TEACHER, Step.PRINCIPAL, Step.BUREAU),
    Kind.ELSEWHERE: (Step.PRINCIPAL, Step.CENTRAL_SCHOOL),
    Kind.GRADUATION: (),  # the principal graduates the whole grade in one action
    Kind.DEATH: (Step.CLASS_TEACHER, Step.PRINCIPAL, Step.CENTRAL_SCHOOL),
}
NEEDS_DOCUMENT = {Kind.SUSPENSION: "医院诊断证明", Kind.DEATH: "死亡证明"}
# What a page offers to request, in this order: never 退学/开除 (refused), never 毕业 (the principal
# graduates a whole grade in one action).
REQUESTABLE_KINDS = (Kind.TRANSFER_OUT, Kind.TRANSFER_IN, Kind.SUSPENSION, Kind.RESUMPTION, Kind.REPETITION,
                     Kind.ELSEWHERE, Kind.DEATH)
# The child's status (JY/T 1001) a request needs: 在读, except a resumption (休学) and a death (either).
ALLOWED_STATUSES: dict[Kind, frozenset[str]] = {
    **{kind: frozenset({"01"}) for kind in Kind},
    Kind.RESUMPTION: frozenset({"02"}),
    Kind.DEATH: frozenset({"01", "02"}),
}


def steps_of(kind: str, *, inside_township: bool = False) -> tuple[Step, ...]:
    """The steps of a kind in order; a transfer inside the township ends with the arrival."""
    steps = FLOWS[Kind(kind)]
    return (*steps, Step.ARRIVAL) if kind == Kind.TRANSFER_OUT and inside_township else steps


class State(StrEnum):
    PENDING = "pending"  # waiting for `next_step`
    IN_TRANSFER = "in_transfer"  # filed; the receiving school has not confirmed arrival
    COMPLETED = "completed"
    REFUSED = "refused"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


OPEN_STATES = frozenset({State.PENDING, State.IN_TRANSFER})  # one open change per child at a time

STATE_LABELS = {State.PENDING: "审批中", State.IN_TRANSFER: "转学中（待转入学校确认）", State.COMPLETED: "已办结",
                State.REFUSED: "未通过"}

# What the child's status becomes when a change completes (None: unchanged).
STATUS_AFTER = {
    Kind.TRANSFER_OUT: "10", Kind.SUSPENSION: "02", Kind.RESUMPTION: "01", Kind.GRADUATION: "07",
    Kind.DEATH: "11",
}
