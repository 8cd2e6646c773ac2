"""The monthly report's Excel and the township dashboard tell the same month (the worked example);
the summary the dashboard keeps per process follows every new snapshot and target."""

from __future__ import annotations

import io
from datetime import datetime, time

from openpyxl import load_workbook

from baoxue.platform.clock import CHINA, clock
from baoxue.tenants.dashboard.service import dashboard
from baoxue.tenants.figures.models import FigureTarget
from baoxue.tenants.figures.reports import COLUMNS, do_export_report
from baoxue.tenants.figures.service import rebuild, summary_of
from tests.tenants.figures.conftest import OCTOBER
from tests.tenants.figures.worked import Small


def test_the_months_excel_totals_are_the_dashboards(small: Small) -> None:
    clock.freeze(datetime.combine(OCTOBER.ends_on, time(18), tzinfo=CHINA))  # the month's last evening
    board = dashboard(small.session)
    assert board.month == OCTOBER and board.year.period.key == f"ytd:{OCTOBER.key}"
    data, _name = do_export_report(small.session, OCTOBER.key)
    sheet = load_workbook(io.BytesIO(data))["汇总"]
    total = next(row for row in sheet.iter_rows(min_row=5, values_only=True) if row[0] == "合计")
    cell = {key: total[i] for i, (key, _h, _s) in enumerate(COLUMNS, start=1)}
    year = board.year.total
    assert (cell["suspected"], cell["dropouts"], cell["returns"]) == (
        board.month_counts["suspected"], board.month_counts["dropouts"], board.month_counts["returns"])
    assert (cell["suspected_total"], cell["dropouts_total"]) == (year["suspected"], year["dropouts"])
    assert cell["dropouts_total"] == 2 and board.ledgers["dropouts"] >= 1  # the worked example's two dropouts


def test_the_kept_summary_follows_a_new_snapshot_and_new_targets(small: Small) -> None:
    first = summary_of(small.session, OCTOBER)
    assert summary_of(small.session, OCTOBER) is first  # nothing moved: the process's copy
    rebuild(small.session, "figures:test:again", [OCTOBER])
    second = summary_of(small.session, OCTOBER)
    assert second is not first and second.total.as_dict() == first.total.as_dict()  # a new snapshot, same counts
    small.session.add(FigureTarget(township_id=small.township_id, level="primary", metric="dropout_max",
                                   hundredths=1))
    small.session.flush()
    third = summary_of(small.session, OCTOBER)
    assert third is not second and third.township[1].ceiling == 1  # the township's new target, at once
