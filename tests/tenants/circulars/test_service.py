"""Circulars on the demo: a draft names exactly the units behind; issuing numbers it in the
township's series for the year (unique in the database), renders the PDF (read back with
pdftotext) and tells the units; an issued circular never changes; only the office and the
party-government office draft and issue."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from baoxue.platform.clock import CHINA, clock
from baoxue.platform.errors import Conflict, Forbidden, InvalidInput
from baoxue.platform.permissions import UnitKind
from baoxue.tenants.circulars import service
from baoxue.tenants.circulars.models import Circular, CircularUnit
from baoxue.tenants.worklist.models import WorkItem
from baoxue.tenants.worklist.service import Due, Owner, reconcile
from tests.tenants.cases.notice_helpers import pdf_text
from tests.tenants.circulars.helpers import school_id, village_id
from tests.tenants.referrals.helpers import acting


def _late_task(s: Any, village: int, days: int = 3) -> None:
    """An overdue task of the village on the worklist (the tasks concept's item kind)."""
    reconcile(s, "tests_circulars", 900000 + village, [Due("tasks:do", "完成任务：测试", "/tasks", Owner(
        UnitKind.VILLAGE, village), clock.today() - timedelta(days=days))])


def test_the_draft_names_exactly_the_units_behind(s: Any, demo: Any, townships: dict[str, int]) -> None:
    from baoxue.tenants.dashboard.service import dashboard

    bd = townships["DEMO-BD"]
    office = acting(s, demo, "bd_office")
    village = village_id(demo, bd, 5)
    _late_task(s, village)
    # What the draft should name, read here the plain way: overdue items' units, and the schools
    # whose report is missing past its cut-off or whose rates miss their targets.
    expected = {(k, i) for k, i in s.execute(select(WorkItem.owner_unit_kind, WorkItem.owner_unit_id).where(
        WorkItem.closed_at.is_(None), WorkItem.due_on < clock.today(),
        WorkItem.owner_unit_kind.in_(["school", "village", "department"])))}
    for row in dashboard(s).units:
        if row.report_missing or (row.line is not None and (row.line.over_ceiling or row.line.under_floor)):
            expected.add((row.kind, row.id))
    circular = service.do_draft_circular(s, office)
    named = service.units_of(s, [circular.id])[circular.id]
    assert {(u.unit_kind, u.unit_id) for u in named} == expected
    assert all(u.reason for u in named)
    mine = next(u for u in named if (u.unit_kind, u.unit_id) == ("village", village))
    assert "1 项任务逾期" in mine.reason or "项任务逾期" in mine.reason
    assert mine.name in circular.body and circular.state == "draft" and circular.number == ""


def test_issuing_numbers_in_the_series_per_year_and_the_number_is_unique(s: Any, demo: Any,
                                                                        townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    office = acting(s, demo, "bd_office")
    units = [f"school:{school_id(demo, bd)}", f"village:{village_id(demo, bd, 1)}"]
    issued = []
    for title in ("关于甲的通报", "关于乙的通报"):
        circular = service.do_draft_circular(s, office)
        service.do_change_circular(s, office, circular.id, title=title, body="正文。", units=units)
        issued.append(service.do_issue_circular(s, office, circular.id, settings=demo))
    first, second = issued
    year = clock.today().year
    assert second.serial == first.serial + 1 and first.year == second.year == year
    assert second.number == f"板当府通〔{year}〕{second.serial}号"
    with clock.kept():  # next year the series starts again at 1
        clock.freeze(datetime(year + 1, 1, 5, 9, tzinfo=CHINA))
        circular = service.do_draft_circular(s, office)
        service.do_change_circular(s, office, circular.id, title="新年第一份通报", body="正文。", units=units)
        assert service.do_issue_circular(s, office, circular.id, settings=demo).number == f"板当府通〔{year + 1}〕1号"
    with pytest.raises(IntegrityError):  # the database refuses a second circular with the same number
        with s.begin_nested():
            s.add(Circular(township_id=bd, state="issued", title="重号", drafted_by_unit_kind="township",
                           drafted_at=clock.now(), year=year, serial=second.serial))
            s.flush()


def test_the_pdf_reads_number_title_and_units(s: Any, demo: Any, townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    party = acting(s, demo, "bd_party")  # the party-government office issues too
    circular = service.do_draft_circular(s, party)
    service.do_change_circular(s, party, circular.id, title="关于板当中学月报逾期的通报", body="经查，现予通报。",
                               units=[f"school:{school_id(demo, bd)}", f"village:{village_id(demo, bd, 2)}"])
    service.do_issue_circular(s, party, circular.id, settings=demo)
    data, name = service.do_download_circular(s, circular, demo)
    text = pdf_text(data)
    assert circular.number in text and "关于板当中学月报逾期的通报" in text and "板当镇人民政府" in text
    for unit in service.units_of(s, [circular.id])[circular.id]:
        assert unit.name in text
    assert name.endswith(".pdf") and circular.number in name


def test_an_issued_circular_never_changes(s: Any, demo: Any, townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    office = acting(s, demo, "bd_office")
    circular = service.do_draft_circular(s, office)
    service.do_change_circular(s, office, circular.id, title="通报", body="正文。",
                               units=[f"school:{school_id(demo, bd)}"])
    service.do_issue_circular(s, office, circular.id, settings=demo)
    number = circular.number
    with pytest.raises(Conflict) as refused:
        service.do_change_circular(s, office, circular.id, title="改", body="改", units=[f"school:{school_id(demo, bd)}"])
    assert "已经印发" in refused.value.detail
    with pytest.raises(Conflict):
        service.do_issue_circular(s, office, circular.id, settings=demo)
    assert (circular.title, circular.number) == ("通报", number)


def test_who_drafts_and_bad_input(s: Any, demo: Any, townships: dict[str, int]) -> None:
    lg = townships["DEMO-LG"]
    with pytest.raises(Forbidden):
        service.do_draft_circular(s, acting(s, demo, "bd_police"))  # a department whose duty it is not
    office = acting(s, demo, "bd_office")
    circular = service.do_draft_circular(s, office)
    before = [(u.unit_kind, u.unit_id) for u in service.units_of(s, [circular.id]).get(circular.id, [])]
    with pytest.raises(InvalidInput) as refused:
        service.do_change_circular(s, office, circular.id, title=" ", body="", units=[f"school:{school_id(demo, lg)}"])
    assert set(refused.value.errors) == {"title", "body", "units"} and "本乡镇" in refused.value.errors["units"]
    with pytest.raises(InvalidInput) as empty:
        service.do_change_circular(s, office, circular.id, title="t", body="b", units=[])
    assert "至少选择" in empty.value.errors["units"]
    assert [(u.unit_kind, u.unit_id) for u in s.scalars(select(CircularUnit).where(
        CircularUnit.circular_id == circular.id).order_by(CircularUnit.id))] == before


def test_the_party_office_opens_on_the_units_behind_and_other_departments_do_not(s: Any, demo: Any) -> None:
    from baoxue.tenants.circulars.home import todos

    party = acting(s, demo, "bd_party")
    (first, *_) = [t.text for t in todos(s, party)]
    assert "个单位存在逾期未办事项" in first  # the demo has overdue census tasks and case steps
    police = acting(s, demo, "bd_police")
    assert not any("逾期未办" in t.text for t in todos(s, police))
