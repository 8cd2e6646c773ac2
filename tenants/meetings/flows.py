"""The kinds of meeting and publicity record, and the routine a school's meetings are counted against
(DOMAIN.md §10: the school team three times a semester, the academic office each month, a special
meeting in each activity month, March and September)."""

from __future__ import annotations

from dataclasses import dataclass

from baoxue.platform.permissions import UnitKind


@dataclass(frozen=True)
class Kind:
    code: str
    label: str
    units: frozenset[UnitKind]  # which units record it
    publicity: bool = False


_ANY = frozenset({UnitKind.SCHOOL, UnitKind.VILLAGE, UnitKind.DEPARTMENT, UnitKind.TOWNSHIP})
_SCHOOL = frozenset({UnitKind.SCHOOL})

KINDS = {k.code: k for k in (
    Kind("school_start", "学校行政会·期初", _SCHOOL),
    Kind("school_mid", "学校行政会·期中", _SCHOOL),
    Kind("school_end", "学校行政会·期末", _SCHOOL),
    Kind("academic_monthly", "教导处月初例会", _SCHOOL),
    Kind("activity_month", "活动月专题会", _ANY),
    Kind("leading_group", "领导小组会议", frozenset({UnitKind.TOWNSHIP})),
    Kind("broadcast", "宣传活动·广播", _ANY, publicity=True),
    Kind("board", "宣传活动·展板", _ANY, publicity=True),
    Kind("slogan", "宣传活动·标语", _ANY, publicity=True),
    Kind("parents_meeting", "宣传活动·家长会", _ANY, publicity=True),
    Kind("letter", "宣传活动·致家长的一封信", _ANY, publicity=True),
)}
LEADING_GROUP = "leading_group"
KIND_LABELS = {code: kind.label for code, kind in KINDS.items()}
SCHOOL_TEAM = ("school_start", "school_mid", "school_end")
ACTIVITY_MONTHS = (3, 9)

# An agenda item's source: what it was drawn from.
SOURCE_LABELS = {"decision": "上次会议未办结的决定", "case": "依法控辍个案", "referral": "逾期转介单",
                 "school": "工作滞后的学校", "village": "工作滞后的村", "department": "工作滞后的部门",
                 "figures": "指标超标", "manual": "临时议题"}
