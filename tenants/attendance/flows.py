"""The vocabulary of attendance: kinds of absence, kinds of spell, how a spell ends."""

from __future__ import annotations

from enum import StrEnum


class AbsenceKind(StrEnum):
    SICK = "sick"  # 病假
    PERSONAL = "personal"  # 事假
    UNEXCUSED = "unexcused"  # 旷课: what escalates
    LATE = "late"  # 迟到: present

    @property
    def label(self) -> str:
        return ABSENCE_LABELS[self]


ABSENCE_LABELS = {AbsenceKind.SICK: "病假", AbsenceKind.PERSONAL: "事假", AbsenceKind.UNEXCUSED: "旷课",
                  AbsenceKind.LATE: "迟到"}
SHORT_LABELS = {AbsenceKind.SICK: "病", AbsenceKind.PERSONAL: "事", AbsenceKind.UNEXCUSED: "旷",
                AbsenceKind.LATE: "迟"}
AWAY = frozenset({AbsenceKind.SICK, AbsenceKind.PERSONAL, AbsenceKind.UNEXCUSED})  # not in school that day
LEAVE_KINDS = {AbsenceKind.SICK: "病假", AbsenceKind.PERSONAL: "事假"}
# Children a class teacher expects each day: on the roll (在读, 复学), or away but still on it
# (流失, 下落不明: their absence is what the procedure is about). 休学 is excused for a year.
ON_THE_LIST = ("01", "05", "06", "15")


class SpellKind(StrEnum):
    RUN = "run"  # consecutive unexcused school days
    SCATTERED = "scattered"  # N unexcused days within M school days
    SICK = "sick"  # sick leave longer than the township's check

    @property
    def label(self) -> str:
        return SPELL_LABELS[self]


SPELL_LABELS = {SpellKind.RUN: "连续旷课", SpellKind.SCATTERED: "累计旷课预警", SpellKind.SICK: "长期病假核实"}

END_REASONS = {
    "present": "学生已到校",  # a reported day without the child away (unexcused) stops the clock
    "excused": "改为请假",  # the day after was excused leave: the run is explained
    "corrected": "缺课记录已更正删除",
    "below": "已不满足预警条件",  # scattered: fewer days in the window; sick: the leave ended
    "left": "学生已不在本校在读",
}
