"""The township's figure settings: whether 休学 counts, the 月报's cut-off day, and its targets.

The two settings are columns of `townships` (revision 0009), read and written here through a
lightweight table (the `Township` model belongs to the tenancy concept). Targets are
`FigureTarget` rows; a township without any reads the seed defaults (DOMAIN.md §5), which the
migration stored for the townships that existed then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import column, select, table, update
from sqlalchemy.orm import Session

from baoxue.platform.db import township_id_of

_TOWNSHIPS = table("townships", column("id"), column("suspension_counts"), column("report_cutoff_day"))

# (level, metric) -> hundredths of a percent: the seeds' targets (revision 0009 stores the same).
DEFAULT_TARGETS: dict[tuple[str, str], int] = {
    ("primary", "dropout_max"): 200, ("junior", "dropout_max"): 300, ("grade7", "dropout_max"): 150,
    ("grade8", "dropout_max"): 200, ("grade9", "dropout_max"): 300, ("school", "dropout_max"): 200,
    ("all", "retention_min"): 9800,
}
LEVEL_LABELS = {"all": "全部", "primary": "小学", "junior": "初中", "school": "每所学校",
                **{f"grade{g}": f"{'一二三四五六七八九'[g - 1]}年级" for g in range(1, 10)}}
METRIC_LABELS = {"dropout_max": "辍学率上限", "retention_min": "巩固率下限"}
# Every target the settings page offers, as its form field: "dropout_max:primary".
TARGET_FIELDS = tuple(f"{metric}:{level}" for metric in METRIC_LABELS for level in LEVEL_LABELS
                      if not (metric == "retention_min" and level == "school"))


def target_label(name: str) -> str:
    metric, level = name.split(":", 1)
    return f"{LEVEL_LABELS[level]}{METRIC_LABELS[metric]}（%）"


@dataclass(frozen=True)
class FigureSettings:
    suspension_counts: bool = False
    report_cutoff_day: int = 28
    targets: dict[tuple[str, str], int] = field(default_factory=lambda: dict(DEFAULT_TARGETS))

    @property
    def suspension_text(self) -> str:
        """What every table prints under it."""
        return ("休学是否计入：计入（休学学生计入在校生，即分子和分母）" if self.suspension_counts
                else "休学是否计入：不计入（休学学生既不计入分子，也不计入分母）")

    def dropout_ceiling(self, *levels: str) -> int | None:
        """The first of `levels` with a dropout ceiling (a grade's, else its school level's)."""
        for level in levels:
            if (level, "dropout_max") in self.targets:
                return self.targets[(level, "dropout_max")]
        return None

    def retention_floor(self, *levels: str) -> int | None:
        for level in (*levels, "all"):
            if (level, "retention_min") in self.targets:
                return self.targets[(level, "retention_min")]
        return None


def settings_of(session: Session) -> FigureSettings:
    """Two small queries: the township's columns and its targets."""
    from baoxue.tenants.figures.models import FigureTarget

    township_id = township_id_of(session)
    row = session.execute(select(_TOWNSHIPS.c.suspension_counts, _TOWNSHIPS.c.report_cutoff_day)
                          .where(_TOWNSHIPS.c.id == township_id)).first()
    targets = {(level, metric): value for level, metric, value in session.execute(
        select(FigureTarget.level, FigureTarget.metric, FigureTarget.hundredths))}
    counts, cutoff = (bool(row[0]), int(row[1])) if row is not None else (False, 28)
    return FigureSettings(counts, cutoff, targets if targets else dict(DEFAULT_TARGETS))


def write_township(session: Session, **values: Any) -> None:
    session.execute(update(_TOWNSHIPS).where(_TOWNSHIPS.c.id == township_id_of(session)).values(**values))
