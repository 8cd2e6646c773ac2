"""The township's dashboard over the demo: its numbers are the records' (counted another way
here), the units needing attention come first, an overdue number leads to its items and their
records; a school and a village see their own on their home page; others may not open it."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from baoxue.platform.clock import clock
from baoxue.platform.db import cross_township_session
from baoxue.tenants.cases.models import Case
from baoxue.tenants.dashboard.service import UnitRow
from baoxue.tenants.tenancy.models import School, Village
from baoxue.tenants.worklist.models import WorkItem


def _count(demo: Any, township_id: int, *where: Any, model: Any = Case) -> int:
    with cross_township_session("tests: dashboard counts", demo) as s:
        return s.scalar(select(func.count(model.id)).where(model.township_id == township_id, *where)) or 0


def test_the_numbers_are_the_records(demo: Any, persona: Any, townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    data = persona("bd_office").get("/api/dashboard").json()
    assert data["cases_open"] == _count(demo, bd, Case.stage != "closed") > 0
    by_stage = {s["stage"]: s["open"] for s in data["cases_by_stage"]}
    assert by_stage["persuading"] == _count(demo, bd, Case.stage == "persuading")
    overdue = _count(demo, bd, WorkItem.closed_at.is_(None), WorkItem.due_on < clock.today(), model=WorkItem)
    assert data["overdue"] == overdue > 0
    assert sum(u["overdue"] for u in data["units"]) <= overdue  # items of the township itself are no unit's
    assert data["year"]["lines"][0]["label"] == "合计" and data["reports_due"] == 7


def test_the_units_needing_attention_come_first(persona: Any) -> None:
    units = persona("bd_office").get("/api/dashboard").json()["units"]
    scores = [u["attention"] for u in units]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]
    worst = units[0]
    assert worst["reasons"] and worst["overdue"] > 0
    assert {u["kind"] for u in units} == {"school", "village"}


def test_attention_weighs_an_overdue_item_above_an_open_case() -> None:
    late, busy = UnitRow("school", 1, "甲", overdue=1), UnitRow("school", 2, "乙", cases_open=2)
    assert late.attention > busy.attention and late.reasons == ["逾期事项 1 项"] and busy.reasons == []


def test_an_overdue_number_leads_to_its_items_and_their_records(demo: Any, signed_in: Any, persona: Any) -> None:
    units = persona("bd_office").get("/api/dashboard").json()["units"]
    unit = next(u for u in units if u["overdue"])
    client = signed_in("bd_office")
    page = client.get("/dashboard").text
    link = f"/dashboard/overdue?unit_kind={unit['kind']}&amp;unit_id={unit['id']}"
    assert link in page
    listed = client.get(link.replace("&amp;", "&")).text
    rows = re.findall(r'<td data-label="事项"><a href="([^"]+)">', listed)
    assert len(rows) == unit["overdue"]
    assert client.get(rows[0]).status_code == 200  # the record the item is about


def test_the_overdue_list_of_another_township_is_not_found(demo: Any, signed_in: Any,
                                                             townships: dict[str, int]) -> None:
    with cross_township_session("tests: another township's school", demo) as s:
        theirs = s.scalar(select(School.id).where(School.township_id == townships["DEMO-LG"]).limit(1))
    client = signed_in("bd_office")
    assert client.get(f"/dashboard/overdue?unit_kind=school&unit_id={theirs}").status_code == 404
    refused = client.get("/dashboard/overdue?unit_kind=family&unit_id=1")
    assert refused.status_code == 400 and "请从看板选择" in refused.text


def test_only_the_leading_group_and_its_office_open_the_dashboard(signed_in: Any, persona: Any) -> None:
    for username in ("bd_leader", "bd_office"):
        assert signed_in(username).get("/dashboard").status_code == 200
    for username in ("bd_mid_principal", "bd_village1", "bd_police", "bd_county"):
        assert persona(username).get("/api/dashboard").status_code == 403


def test_a_school_and_a_village_see_their_own_on_their_home_page(demo: Any, signed_in: Any, persona: Any,
                                                                  townships: dict[str, int]) -> None:
    principal = persona("bd_mid_principal")
    school_id = principal.me()["membership"]["unit_id"]
    page = signed_in("bd_mid_principal").get("/").text
    assert "本校的统计与台账" in page and "辍学台账（未销号）" in page
    reported = re.search(r'href="/ledgers/suspected"><div class="card-number">(\d+)<', page)
    assert reported is not None
    assert int(reported.group(1)) <= _count(demo, townships["DEMO-BD"], Case.stage != "closed",
                                            Case.school_id == school_id)
    village = signed_in("bd_village1").get("/").text
    assert "本村的统计与台账" in village and "文化户口登记适龄儿童" in village
    with cross_township_session("tests: village names", demo) as s:
        others = list(s.scalars(select(Village.name).where(Village.township_id == townships["DEMO-BD"])))
    assert not any(f"{name}（村）" in village for name in others)  # no attention table of the township
