"""The figures pages and API over the demo: every reader sees their scope's figures, with the
township's setting printed; numbers link to the children for those who may read them; the
settings are the office's; a school submits its month once; the Excel opens in the §14 layout
and its totals are the figures page's."""

from __future__ import annotations

import io
import re
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func, select

from baoxue.platform.audit import AuditEvent
from baoxue.platform.clock import clock
from baoxue.platform.db import cross_township_session
from baoxue.tenants.figures import periods
from baoxue.tenants.figures.reports import do_export_report
from baoxue.tenants.figures.service import figures_of, rebuild
from tests.tenants.figures.conftest import OCTOBER
from tests.tenants.figures.worked import Small


def _month() -> str:
    return periods.current_month(clock.today()).key


def test_the_township_reads_every_level_with_the_setting_printed(signed_in: Any) -> None:
    page = signed_in("bd_leader").get("/figures").text
    assert "休学是否计入：不计入" in page and "分母不变" in page
    for title in ("全乡镇", "按学校", "按年级", "按班级", "按户籍所在村"):
        assert title in page
    assert "/figures/children?" in page  # the leader reads the children behind the numbers


def test_a_reader_without_the_students_sees_numbers_without_names(signed_in: Any, persona: Any) -> None:
    page = signed_in("bd_county").get("/figures").text
    assert "按学校" in page and "/figures/children?" not in page
    assert persona("bd_county").get("/api/figures/children?measure=start").status_code == 403


def test_the_children_behind_a_number_are_names_only(signed_in: Any, persona: Any) -> None:
    year = periods.year_period(periods.school_year_of_today()).key
    listed = persona("bd_leader").get(f"/api/figures/children?measure=start&period={year}").json()
    total = persona("bd_leader").get(f"/api/figures?period={year}").json()["township"][0]["start"]
    assert len(listed) == total > 0
    assert set(listed[0]) == {"name", "school", "class_name", "village"}
    page = signed_in("bd_leader").get(f"/figures/children?measure=start&period={year}").text
    assert listed[0]["name"] in page and not re.search(r"\d{17}[\dX]", page)  # never an ID number
    refused = persona("bd_leader").get("/api/figures/children?measure=salary")
    assert refused.status_code == 400 and "measure" in refused.text


def test_a_school_and_a_village_read_their_own(persona: Any) -> None:
    principal = persona("bd_mid_principal")
    school_id = principal.me()["membership"]["unit_id"]
    data = principal.get("/api/figures").json()
    assert [line["filter"]["school_id"] for line in data["schools"]] in ([], [school_id])
    assert all(line["filter"].get("school_id") == school_id for line in data["classes"])
    cadre = persona("bd_village1")
    village_id = cadre.me()["membership"]["unit_id"]
    villages = cadre.get("/api/figures").json()["villages"]
    assert [line["filter"]["village_id"] for line in villages] == [village_id]
    assert cadre.get("/api/figures/reports").status_code == 404  # a village keeps no monthly report


def test_the_settings_are_the_offices_and_refuse_bad_input_by_field(persona: Any) -> None:
    office = persona("bd_office")
    before = office.get("/api/figures/settings").json()
    assert before["targets"]["dropout_max:primary"] == 2.0 and before["targets"]["retention_min:all"] == 98.0
    bad = office.put("/api/figures/settings", json={"report_cutoff_day": 31, "targets": {"dropout_max:junior": "3.456"}})
    assert bad.status_code == 400
    errors = bad.json()["extra"] if "extra" in bad.json() else bad.json()
    assert "report_cutoff_day" in str(errors) and "dropout_max:junior" in str(errors)
    assert persona("bd_mid_principal").put("/api/figures/settings", json={"report_cutoff_day": 20}).status_code == 403
    changed = office.put("/api/figures/settings", json={"suspension_counts": True,
                                                        "targets": {"dropout_max:grade1": "1.25"}})
    try:
        assert changed.status_code == 200, changed.text
        assert changed.json()["suspension_counts"] is True and changed.json()["targets"]["dropout_max:grade1"] == 1.25
        assert "休学是否计入：计入" in persona("bd_leader").get("/api/figures").json()["suspension_text"]
    finally:
        office.put("/api/figures/settings", json={"suspension_counts": False, "targets": {"dropout_max:grade1": None}})


def test_last_months_reports_one_late_and_the_rollup(persona: Any, signed_in: Any) -> None:
    previous = periods.previous_month(periods.current_month(clock.today())).key
    data = persona("bd_office").get(f"/api/figures/reports?month={previous}").json()
    states = [s["state"] for s in data["schools"]]
    assert states.count("late") == 1 and states.count("on_time") == len(states) - 1
    page = signed_in("bd_office").get(f"/figures/reports?month={previous}").text
    assert "逾期报送" in page and "小学小计" in page and "初中小计" in page


def test_a_school_submits_its_month_once(persona: Any) -> None:
    principal = persona("bd_cps_principal")
    month = _month()
    first = principal.post("/api/figures/reports", json={"month": month})  # the demo stored this month's figures
    assert first.status_code == 201, first.text
    assert first.json()["month"] == month and first.json()["submitter_name"]
    again = principal.post("/api/figures/reports", json={"month": month})
    assert again.status_code == 400 and "已于" in again.text
    assert principal.post("/api/figures/reports", json={"month": "2026-13"}).status_code == 400
    assert persona("bd_office").post("/api/figures/reports", json={"month": month}).status_code == 403


def test_the_excel_opens_in_the_forms_layout_and_is_audited(signed_in: Any, demo: Any) -> None:
    previous = periods.previous_month(periods.current_month(clock.today())).key
    with cross_township_session("tests: audit count", demo) as s:
        before = s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.event == "figures:report:exported"))
    r = signed_in("bd_office").get(f"/figures/reports/export?month={previous}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxml")
    book = load_workbook(io.BytesIO(r.content))
    sheet = book["汇总"]
    assert "月报汇总表" in sheet["A1"].value and sheet["A2"].value.startswith("填报单位（盖章）")
    assert "A3:A4" in {str(m) for m in sheet.merged_cells.ranges}  # the two-row header
    labels = [row[0].value for row in sheet.iter_rows(min_row=5)]
    assert labels[:9] == ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级", "八年级", "九年级"]
    assert labels[9:12] == ["小学小计", "初中小计", "合计"] and labels[-1].startswith("审核人")
    assert any(str(v).startswith("说明：休学是否计入") for v in labels)
    with cross_township_session("tests: audit count", demo) as s:
        after = s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.event == "figures:report:exported"))
    assert after == before + 1


def test_the_excel_totals_are_the_figures_pages(small: Small) -> None:
    data, name = do_export_report(small.session, OCTOBER.key)
    sheet = load_workbook(io.BytesIO(data))["汇总"]
    header = [c.value for c in sheet[3]]
    total_row = next(row for row in sheet.iter_rows(min_row=5, values_only=True) if row[0] == "合计")
    got = dict(zip(range(len(header)), total_row, strict=False))
    line = figures_of(small.session, OCTOBER).total
    expected = [line.start, line["transfers_in"], line["resumptions"], line["transfers_out"], line["suspensions"],
                line["suspected"], None, line["dropouts"], None, line["returns"], line.end,
                round(line.dropout_rate, 2), round(line.retention, 2)]
    for i, want in enumerate(expected, start=1):
        if want is not None:
            assert got[i] == want, (header[i], got[i], want)
    assert (total_row[1], total_row[8], total_row[11], total_row[12], total_row[13]) == (11, 1, 10, 9.09, 100.0)
    assert name.endswith("2026-10月报汇总.xlsx")


def test_a_rebuild_stores_the_period_once_per_key(small: Small) -> None:
    first = rebuild(small.session, "figures:test:twice", [OCTOBER])
    again = rebuild(small.session, "figures:test:twice", [OCTOBER])
    assert first["stored"] > 0 and again["stored"] == 0


def test_the_figures_pages_are_a_fixed_number_of_queries(persona: Any, demo: Any) -> None:
    """Whatever the period (a month's rows or a whole year's): sign-in, the settings 2, the
    snapshot and its counts 2, schools, classes and villages 3; the roll-up likewise."""
    from tests.platform.test_query_counts import count_queries

    leader = persona("bd_leader")
    year = periods.year_period(periods.school_year_of_today()).key
    counts = []
    for url in (f"/api/figures?period={year}", f"/api/figures?period={_month()}",
                f"/api/figures/reports?month={_month()}"):
        leader.get(url)
        with count_queries(demo) as q:
            assert leader.get(url).status_code == 200
        counts.append(len(q))
    assert counts[0] == counts[1] <= 18, counts
    assert counts[2] <= 20, counts
