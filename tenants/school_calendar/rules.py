"""The township's attendance and escalation rules as one value (the columns are on `townships`).

Each step of the absence procedure falls due on a school day of a run of consecutive unexcused
absence (day 1 is the first day away). The defaults are the seeds' (DOMAIN.md §6): call the
guardian on day 1, begin home visits on day 2, file the 旷课报告单 on day 3, open the case
(疑似辍学) with the village on day 5, a school leader's final visit on day 10, confirm the dropout
on day 15. Counties differ (§13: a week, 4 weeks), so every number is the township's.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform.db import township_id_of
from baoxue.tenants.tenancy.models import Township


@dataclass(frozen=True)
class Rules:
    step_contact: int = 1
    step_visits: int = 2
    step_report: int = 3
    step_village: int = 5
    step_final_visit: int = 10
    step_confirm: int = 15
    scattered_days: int = 5
    scattered_window: int = 20
    sick_check_days: int = 10
    report_by_hour: int = 10
    correction_days: int = 3

    @property
    def longest(self) -> int:
        """How far back (school days) a run or a window can reach."""
        return max(self.step_confirm, self.scattered_window, self.sick_check_days) + 1


RULE_FIELDS = tuple(f.name for f in fields(Rules))

# What the rules page calls each number, and its bounds.
RULE_LABELS = {
    "step_contact": ("联系监护人（班主任）", 1, 5),
    "step_visits": ("开始家访劝返，至少3次（班主任、任课教师）", 1, 10),
    "step_report": ("填报旷课报告单（班主任→学校）", 1, 15),
    "step_village": ("认定疑似辍学、建立个案并联系村委会", 1, 20),
    "step_final_visit": ("校领导最后一次家访", 2, 30),
    "step_confirm": ("确认流失并上报流失报告（乡镇、村委会、县教育局）", 3, 40),
    "scattered_days": ("累计旷课预警：旷课天数", 2, 20),
    "scattered_window": ("累计旷课预警：在多少个教学日内", 5, 60),
    "sick_check_days": ("病假超过多少个教学日须核实", 3, 60),
    "report_by_hour": ("到校日报告截止时间（点）", 8, 12),
    "correction_days": ("到校日报告可更正的教学日数", 0, 10),
}


def rules_of(session: Session) -> Rules:
    columns = [getattr(Township, name) for name in RULE_FIELDS]
    row = session.execute(select(*columns).where(Township.id == township_id_of(session))).first()
    return Rules(*row) if row is not None else Rules()
