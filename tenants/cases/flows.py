"""The vocabulary of a case: its stages, how it may close and on what evidence, the kinds of
timeline entry, visit modes, reasons for leaving, the enforcement chain, and the placement
after a return (DOMAIN.md §6, §13)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Stage(StrEnum):
    IDENTIFIED = "identified"  # 疑似辍学
    REPORTED = "reported"  # 报告
    PERSUADING = "persuading"  # 劝返
    ENFORCING = "enforcing"  # 依法控辍
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]


STAGE_LABELS = {Stage.IDENTIFIED: "疑似辍学", Stage.REPORTED: "已报告", Stage.PERSUADING: "劝返中",
                Stage.ENFORCING: "依法控辍", Stage.CLOSED: "已结案"}
STAGE_ORDER = (Stage.IDENTIFIED, Stage.REPORTED, Stage.PERSUADING, Stage.ENFORCING, Stage.CLOSED)


class Closing(StrEnum):
    """The only ways a case ends. There is no "other": a case that cannot say how is not closed."""

    RETURNED = "returned"
    TRANSFERRED = "transferred"
    EXEMPTED = "exempted"
    HOME_TEACHING = "home_teaching"
    DIED = "died"

    @property
    def label(self) -> str:
        return CLOSING_LABELS[self]


CLOSING_LABELS = {Closing.RETURNED: "已返校复学", Closing.TRANSFERRED: "依法转学", Closing.EXEMPTED: "经批准免学、缓学",
                  Closing.HOME_TEACHING: "送教上门", Closing.DIED: "死亡"}


@dataclass(frozen=True)
class Evidence:
    """What a closing must carry: the fields it needs, named as the form names them."""

    fields: tuple[str, ...]
    document: str = ""  # a file it needs (the approval, the plan), "" for none


CLOSINGS = {
    Closing.RETURNED: Evidence(("return_date", "return_class_id")),
    Closing.TRANSFERRED: Evidence(("closing_evidence",), "转学手续（接收学校的接收证明）"),  # the receiving school
    Closing.EXEMPTED: Evidence(("closing_evidence",), "县教育局免学、缓学批复"),
    Closing.HOME_TEACHING: Evidence(("closing_evidence",), "送教上门计划"),
    Closing.DIED: Evidence(("closing_evidence",), "死亡证明"),
}


class EntryKind(StrEnum):
    OPENED = "opened"
    PHONE_CALL = "phone_call"
    HOME_VISIT = "home_visit"
    SCHOOL_TALK = "school_talk"
    ABSENCE_REPORT = "absence_report"  # 旷课报告单
    DROPOUT_REPORT = "dropout_report"  # 流失报告: reason and whereabouts
    STAGE = "stage"  # moved to a stage
    NOTICE_ISSUED = "notice_issued"
    NOTICE_SERVED = "notice_served"
    REFERRAL = "referral"  # the tasks and referrals issue adds these
    RETURNED = "returned"
    FOLLOW_UP = "follow_up"  # a visit after the return
    CLOSED = "closed"
    CORRECTION = "correction"  # says which entry it corrects and how
    NOTE = "note"

    @property
    def label(self) -> str:
        return ENTRY_LABELS[self]


ENTRY_LABELS = {
    EntryKind.OPENED: "立案", EntryKind.PHONE_CALL: "电话联系", EntryKind.HOME_VISIT: "家访劝返",
    EntryKind.SCHOOL_TALK: "到校面谈", EntryKind.ABSENCE_REPORT: "旷课报告", EntryKind.DROPOUT_REPORT: "流失报告",
    EntryKind.STAGE: "阶段变更", EntryKind.NOTICE_ISSUED: "制发文书", EntryKind.NOTICE_SERVED: "文书送达",
    EntryKind.REFERRAL: "转介部门", EntryKind.RETURNED: "返校复学", EntryKind.FOLLOW_UP: "返校后回访",
    EntryKind.CLOSED: "结案", EntryKind.CORRECTION: "更正", EntryKind.NOTE: "备注",
}

VISIT_MODES = {"home": "上门", "phone": "电话", "school": "到校面谈", "online": "线上"}

# Why a child left (a coded list; 其他 needs its text).
REASONS = {
    "study_difficulty": "学习困难、厌学", "poverty": "家庭经济困难", "working": "外出务工", "early_marriage": "早婚早育",
    "illness": "疾病或残疾", "weary": "厌学", "left_behind": "留守无人照管", "family": "家庭变故", "distance": "上学路远",
    "other": "其他",
}


class NoticeKind(StrEnum):
    """The enforcement chain in its order (DOMAIN.md §13: the Ximeng case)."""

    PERSUASION = "persuasion"  # 劝学通知书: the school; return within 7 days (art. 11)
    ORDER = "order"  # 责令限期复学通知书: the township (art. 58: criticism and an order to correct)
    PENALTY = "penalty"  # 行政处罚决定书: where a provincial rule provides for a fine
    COURT = "court"  # 强制执行申请书: to the county court

    @property
    def label(self) -> str:
        return NOTICE_LABELS[self]


NOTICE_LABELS = {NoticeKind.PERSUASION: "劝学通知书", NoticeKind.ORDER: "责令限期复学通知书",
                 NoticeKind.PENALTY: "行政处罚决定书", NoticeKind.COURT: "强制执行申请书"}
NOTICE_ORDER = (NoticeKind.PERSUASION, NoticeKind.ORDER, NoticeKind.PENALTY, NoticeKind.COURT)
NOTICE_DEADLINE_DAYS = {NoticeKind.PERSUASION: 7, NoticeKind.ORDER: 10, NoticeKind.PENALTY: 15, NoticeKind.COURT: 30}
SERVICE_MANNERS = ("直接送达", "留置送达", "委托送达", "邮寄送达")


def placement_grade(grade_left: int, left_on: date, returned_on: date, birth_date: date) -> int:
    """The grade a returner is proposed for (DOMAIN.md §13): under 3 months away the same grade,
    3–12 months one grade lower, longer by age (the grade of children born that year)."""
    days = (returned_on - left_on).days
    if days < 91:
        return grade_left
    if days <= 365:
        return max(1, grade_left - 1)
    school_year = returned_on.year if returned_on.month >= 9 else returned_on.year - 1
    by_age = school_year - birth_date.year - 6 + (1 if birth_date.month < 9 else 0)
    return min(9, max(1, by_age))
