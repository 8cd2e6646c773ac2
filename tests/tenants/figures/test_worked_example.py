"""The worked example (tests/tenants/figures/worked.py), computed by hand here, against the
platform's stored figures at every level, under both settings of 休学; retention never above 100 %."""

from __future__ import annotations

from typing import Any

from baoxue.tenants.figures.reports import live_table
from baoxue.tenants.figures.service import children, figures_of
from baoxue.tenants.figures.settings import write_township
from tests.tenants.figures.conftest import OCTOBER, YEAR
from tests.tenants.figures.worked import Small


def _line(lines: list[Any], label: str) -> Any:
    return next(line for line in lines if line.label == label)


def _check(line: Any, *, start: int, end: int, should: int, dropouts: int, rate: float | None,
           retention: float | None) -> None:
    got = (line.start, line.end, line.should, line["dropouts"],
           None if line.dropout_rate is None else round(line.dropout_rate, 2),
           None if line.retention is None else round(line.retention, 2))
    assert got == (start, end, should, dropouts, rate, retention), line.label


def test_the_school_year_by_hand_with_suspension_not_counted(small: Small) -> None:
    f = figures_of(small.session, YEAR)
    total = f.total
    # Enrolled at 1 September: a1 a2 a3 a5 a6 (a4 not yet here, a7 休学, a8 a dropout of last
    # year), b1–b4, c1–c4 = 13. Who should be here: 13 + a4 − a3 − a5 − c4 (借读) − a6 (休学) = 10.
    # Still here on 15 January: a1 a2 a4 a8 b1 b2 b4 c1 c3 = 9 (b3 and c2 are dropouts).
    assert (total["start_enrolled"], total["start_suspended"], total["transfers_in"], total["transfers_out"],
            total["suspensions"], total["deaths"], total["elsewhere"], total["suspected"], total["dropouts"],
            total["returns"], total["end_enrolled"], total["end_suspended"]) == (13, 1, 1, 1, 1, 1, 1, 3, 2, 2, 9, 2)
    _check(total, start=13, end=9, should=10, dropouts=2, rate=15.38, retention=90.0)
    _check(_line(f.township, "小学"), start=5, end=4, should=3, dropouts=0, rate=0.0, retention=100.0)
    _check(_line(f.township, "初中"), start=8, end=5, should=7, dropouts=2, rate=25.0, retention=71.43)
    # The primary school: a8's return puts 4 where 3 should be: retention is capped at 100 %.
    _check(_line(f.schools, "例小学"), start=5, end=4, should=3, dropouts=0, rate=0.0, retention=100.0)
    _check(_line(f.schools, "例中学"), start=8, end=5, should=7, dropouts=2, rate=25.0, retention=71.43)
    _check(_line(f.grades, "三年级"), start=5, end=4, should=3, dropouts=0, rate=0.0, retention=100.0)
    _check(_line(f.grades, "七年级"), start=4, end=3, should=4, dropouts=1, rate=25.0, retention=75.0)
    _check(_line(f.grades, "八年级"), start=4, end=2, should=3, dropouts=1, rate=25.0, retention=66.67)
    # 分母不变: the class that lost b3 is scored over the four who should be in it, not the three left.
    _check(_line(f.classes, "例中学 七年级（1）班"), start=4, end=3, should=4, dropouts=1, rate=25.0, retention=75.0)
    _check(_line(f.classes, "例中学 八年级（1）班"), start=4, end=2, should=3, dropouts=1, rate=25.0, retention=66.67)
    _check(_line(f.villages, "一村"), start=8, end=6, should=6, dropouts=1, rate=12.5, retention=100.0)
    _check(_line(f.villages, "二村"), start=5, end=3, should=4, dropouts=1, rate=20.0, retention=75.0)
    assert all(line.retention is None or line.retention <= 100 for line in
               [*f.township, *f.schools, *f.grades, *f.classes, *f.villages])
    # Against the targets: the middle school's 25 % is over the school ceiling (2 %), its
    # 71.43 % under the retention floor (98 %); the primary school meets both.
    assert _line(f.schools, "例中学").over_ceiling and _line(f.schools, "例中学").under_floor
    assert not _line(f.schools, "例小学").over_ceiling and not _line(f.schools, "例小学").under_floor
    assert "不计入" in f.settings.suspension_text


def test_the_school_year_by_hand_with_suspension_counted(small: Small) -> None:
    write_township(small.session, suspension_counts=True)
    f = figures_of(small.session, YEAR)
    # a7 (休学 at the start) joins the start; a6 and a7 are on the roll at the end; nobody is
    # taken out of the denominator for 休学: 14 + 1 − 1 − 1 − 1 = 12, and 11 are there.
    _check(f.total, start=14, end=11, should=12, dropouts=2, rate=14.29, retention=91.67)
    _check(_line(f.schools, "例小学"), start=6, end=6, should=5, dropouts=0, rate=0.0, retention=100.0)
    _check(_line(f.schools, "例中学"), start=8, end=5, should=7, dropouts=2, rate=25.0, retention=71.43)
    _check(_line(f.villages, "一村"), start=9, end=8, should=8, dropouts=1, rate=11.11, retention=100.0)
    assert "计入（" in f.settings.suspension_text


def test_a_month_by_hand(small: Small) -> None:
    f = figures_of(small.session, OCTOBER)
    # 1 October: c2 is already a dropout (report 09-28), c4 借读, a8 not back: a1 a2 a3 a5 a6,
    # b1–b4, c1 c3 = 11. In October: a8 back (10-05), b3 opened and reported, a3 out, a4 in, a6 休学.
    total = f.total
    assert (total["suspected"], total["dropouts"], total["returns"], total["transfers_in"],
            total["transfers_out"], total["suspensions"]) == (1, 1, 1, 1, 1, 1)
    _check(total, start=11, end=10, should=10, dropouts=1, rate=9.09, retention=100.0)
    _check(_line(f.schools, "例中学"), start=6, end=5, should=6, dropouts=1, rate=16.67, retention=83.33)


def test_the_monthly_report_by_hand(small: Small) -> None:
    table = live_table(small.session, OCTOBER, small.middle)
    seven, eight = table.lines["7"], table.lines["8"]
    assert (seven.start, seven["suspected"], seven["dropouts"], seven.end) == (4, 1, 1, 3)
    # Running totals since 1 September: c2's case (opened 09-20) and dropout count in 八年级.
    assert (eight.start, eight["suspected"], eight["suspected_total"], eight["dropouts_total"], eight.end) == (
        2, 0, 1, 1, 2)
    assert table.value("junior", "dropouts_total") == 2 and table.value("total", "start") == 6
    assert table.value("primary", "start") == 0  # the middle school has no primary grades
    assert table.value("total", "dropout_rate") == 16.67


def test_the_children_behind_a_number_are_those_counted(small: Small) -> None:
    named = {c.name for c in children(small.session, YEAR, "dropouts", school_id=small.middle)}
    assert named == {"例b3", "例c2"}
    assert {c.name for c in children(small.session, YEAR, "start", village_id=small.v2)} == {
        "例a2", "例c1", "例c2", "例c3", "例c4"}
    assert {c.name for c in children(small.session, OCTOBER, "returns")} == {"例a8"}
    assert {c.name for c in children(small.session, YEAR, "deaths")} == {"例a5"}


def test_a_term_is_counted_like_any_period(small: Small) -> None:
    """The calendar's first term (1 September to 24 January) holds everything so far: its
    figures are the school year's; its key reads back through `periods.parse`."""
    from datetime import date

    from baoxue.tenants.figures import periods
    from baoxue.tenants.figures.service import rebuild
    from baoxue.tenants.school_calendar.models import SchoolTerm

    term = SchoolTerm(township_id=small.township_id, name="2026—2027学年第一学期", starts_on=date(2026, 9, 1),
                      ends_on=date(2027, 1, 24))
    small.session.add(term)
    small.session.flush()
    period = periods.parse(small.session, f"term:{term.id}")
    assert period is not None and period.label == term.name
    rebuild(small.session, "figures:test:term", [period])
    f = figures_of(small.session, period)
    _check(f.total, start=13, end=9, should=10, dropouts=2, rate=15.38, retention=90.0)
    assert periods.parse(small.session, "term:999999999") is None
