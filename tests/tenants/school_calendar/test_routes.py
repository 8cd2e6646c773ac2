"""The school calendar through the page and the API, committed like real use: the page for several
roles, its forms adding and removing, the API's answers, and bad input answered with a 400 in
Chinese that names the field (never a 500). What a test adds it removes, in far years that no
other test counts in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from baoxue.platform.audit import AuditEvent
from baoxue.platform.clock import school_year
from baoxue.platform.db import cross_township_session
from baoxue.tenants.school_calendar.demo import year_plan
from baoxue.tenants.school_calendar.models import CalendarDay, SchoolTerm
from tests.pages import csrf_token, parse, visible_text
from tests.tenants.status_changes.helpers import school_ids



@pytest.fixture(scope="module")
def bd(demo: Any, townships: dict[str, int]) -> dict[str, int]:
    return school_ids(demo, townships["DEMO-BD"])


@pytest.fixture
def tidy(demo: Any) -> Iterator[None]:
    """Whatever a test adds in the far years it uses is gone afterwards, even when it fails."""
    yield
    with cross_township_session("tests: calendar cleanup", demo) as s:
        s.execute(delete(CalendarDay).where(CalendarDay.day >= date(2035, 1, 1)))
        s.execute(delete(SchoolTerm).where(SchoolTerm.starts_on >= date(2035, 1, 1)))


def _day_ids(demo: Any, name: str) -> list[int]:
    with cross_township_session("tests: calendar days", demo) as s:
        return list(s.scalars(select(CalendarDay.id).where(CalendarDay.name == name).order_by(CalendarDay.day)))


# --- the page ---------------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["bd_office", "bd_leader", "bd_mid_principal", "bd_mid_teacher", "bd_village1",
                                      "bd_edu", "bd_county", "lg_office"])
def test_the_page_shows_the_school_year_as_months_for_every_role(signed_in: Any, username: str) -> None:
    year = school_year()
    r = signed_in(username).get("/calendar")
    assert r.status_code == 200, r.text
    text = visible_text(r.text)
    assert f"{year}—{year + 1}学年" in text
    months = re.findall(r"(\d{4})年(\d{1,2})月 上课 (\d+) 天", text)
    assert [(int(y), int(m)) for y, m, _n in months] == [
        *((year, m) for m in range(9, 13)), *((year + 1, m) for m in range(1, 8))]
    assert all(int(n) <= 23 for _y, _m, n in months) and int(months[0][2]) > 10
    assert "国庆节（放假）" in text and "学期" in text
    forms = {f.action for f in parse(r.text).forms if f.method == "post"}
    writes = {a for a in forms if a.startswith("/calendar")}
    if username == "bd_office" or username == "lg_office":
        assert {"/calendar/terms#add-term", "/calendar/days#add-day"} <= writes
        assert any(re.fullmatch(r"/calendar/terms/\d+/remove", a) for a in writes)
    elif username == "bd_mid_principal":
        assert "/calendar/days#add-day" in writes and not any(a.startswith("/calendar/terms") for a in writes)
        assert any(re.fullmatch(r"/calendar/days/\d+/remove", a) for a in writes)  # the school's storm day
        assert "本校（" in text  # the form adds the school's own day
    else:
        assert not writes
    # The middle school of 板当镇 closed for a storm: shown to its township, never to 龙岗乡.
    assert ("暴雨停课（停课）" in text) == username.startswith("bd_")


def test_a_schools_view_counts_its_own_closed_day(signed_in: Any, bd: dict[str, int]) -> None:
    page = signed_in("bd_leader")
    plan = year_plan(school_year())
    month = plan.closed.month
    mid = visible_text(page.get(f"/calendar?school_id={bd['mid']}").text)
    cps = visible_text(page.get(f"/calendar?school_id={bd['cps']}").text)
    count = re.compile(rf"{plan.closed.year}年{month}月 上课 (\d+) 天")
    assert int(count.search(mid).group(1)) == int(count.search(cps).group(1)) - 1  # type: ignore[union-attr]
    assert "暴雨停课（停课）" in mid and "暴雨停课" not in cps
    # The principal's page is the school's own view by default.
    principal = visible_text(signed_in("bd_mid_principal").get("/calendar").text)
    assert count.search(principal).group(1) == count.search(mid).group(1)  # type: ignore[union-attr]


def test_other_years_and_bad_parameters(signed_in: Any, demo: Any, townships: dict[str, int]) -> None:
    page = signed_in("bd_office")
    r = page.get("/calendar?year=2040")
    assert r.status_code == 200 and "2040—2041学年" in visible_text(r.text)
    assert "本学年还没有录入学期" in visible_text(r.text)
    for bad, field in (("year=1900", "学年"), ("year=abc", "学年"), ("school_id=abc", "学校")):
        r = page.get(f"/calendar?{bad}")
        assert r.status_code == 400, (bad, r.status_code)
        assert f"“{field}" in visible_text(r.text) or field in visible_text(r.text)
    lg_school = school_ids(demo, townships["DEMO-LG"])["mid"]
    assert page.get(f"/calendar?school_id={lg_school}").status_code == 404


def test_the_office_adds_a_holiday_of_several_days_and_removes_it(signed_in: Any, demo: Any, tidy: None) -> None:
    page = signed_in("bd_office")
    token = csrf_token(page.get("/calendar").text)
    r = page.post("/calendar/days", data={"_csrf_token": token, "school_id": "", "day": "2035-10-01",
                                          "until": "2035-10-07", "school_day": "false", "name": "测试国庆"},
                  follow_redirects=False)
    assert r.status_code == 303, r.text
    ids = _day_ids(demo, "测试国庆")
    assert len(ids) == 7
    html = page.get("/calendar?year=2035").text
    assert "1—7日 测试国庆（放假）" in visible_text(html)
    # Again over the same days: refused as a whole, naming the day taken, and nothing added.
    r = page.post("/calendar/days", data={"_csrf_token": token, "day": "2035-09-30", "until": "2035-10-02",
                                          "school_day": "false", "name": "再测"}, follow_redirects=False)
    assert r.status_code == 400 and "2035-10-01 已有校历安排" in visible_text(r.text)
    assert _day_ids(demo, "再测") == []
    # The list shows the seven days as one line, removed at once (each day checked and audited).
    assert "2035-10-01（周一）至 10-07（周日），7 天" in visible_text(html)
    r = page.post(f"/calendar/days/{ids[0]}/remove", data={"_csrf_token": token, "day_ids": [str(i) for i in ids[1:]]},
                  follow_redirects=False)
    assert r.status_code == 303, r.text
    assert _day_ids(demo, "测试国庆") == []
    with cross_township_session("tests: removal audit", demo) as s:
        removed = s.scalars(select(AuditEvent.entity_id).where(AuditEvent.event == "school_calendar:day:removed",
                                                               AuditEvent.entity_id.in_([str(i) for i in ids])))
        assert sorted(int(i) for i in removed) == ids


def test_the_day_form_names_each_bad_field(signed_in: Any) -> None:
    page = signed_in("bd_office")
    token = csrf_token(page.get("/calendar").text)
    r = page.post("/calendar/days", data={"_csrf_token": token, "day": "", "school_day": "", "name": ""})
    assert r.status_code == 400
    text = visible_text(r.text)
    assert "请填写日期" in text and "请选择" in text and "请填写名称" in text
    r = page.post("/calendar/days", data={"_csrf_token": token, "day": "2035-10-07", "until": "2035-10-01",
                                          "school_day": "false", "name": "倒序"})
    assert r.status_code == 400 and "截止日期应在开始日期当天或之后" in visible_text(r.text)
    r = page.post("/calendar/days", data={"_csrf_token": token, "day": "2035-10-07", "until": "十月",
                                          "school_day": "false", "name": "坏截止"})
    assert r.status_code == 400 and "截止日期的格式" in visible_text(r.text)
    r = page.post("/calendar/days", data={"_csrf_token": token, "day": "2035-10-07", "school_day": "false",
                                          "name": "坏学校", "school_id": "abc"})
    assert r.status_code == 404  # junk is no school of anyone's


def test_the_office_adds_a_term_and_an_overlap_is_refused(signed_in: Any, demo: Any, tidy: None) -> None:
    page = signed_in("bd_office")
    token = csrf_token(page.get("/calendar").text)
    term = {"_csrf_token": token, "name": "2035—2036学年第一学期", "starts_on": "2035-09-03", "ends_on": "2036-01-18"}
    r = page.post("/calendar/terms", data=term, follow_redirects=False)
    assert r.status_code == 303, r.text
    r = page.post("/calendar/terms", data={**term, "name": "重叠学期", "starts_on": "2035-12-01",
                                           "ends_on": "2036-03-01"})
    assert r.status_code == 400 and "2035—2036学年第一学期" in visible_text(r.text)
    assert 'value="重叠学期"' in r.text  # the form keeps what was typed
    r = page.post("/calendar/terms", data={**term, "name": "", "starts_on": "2036/09/01", "ends_on": ""})
    text = visible_text(r.text)
    assert r.status_code == 400 and "请填写学期名称" in text and "开学日期的格式" in text and "请填写学期结束日期" in text
    with cross_township_session("tests: the term", demo) as s:
        term_id = s.scalars(select(SchoolTerm.id).where(SchoolTerm.name == "2035—2036学年第一学期")).one()
    html = page.get("/calendar?year=2035").text
    assert f"/calendar/terms/{term_id}/remove" in html and "本学年还没有录入学期" not in visible_text(html)
    # Another township's office cannot remove it; this one can.
    lg = signed_in("lg_office")
    assert lg.post(f"/calendar/terms/{term_id}/remove",
                   data={"_csrf_token": csrf_token(lg.get("/calendar").text)}).status_code == 404
    r = page.post(f"/calendar/terms/{term_id}/remove", data={"_csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303


def test_a_principal_keeps_the_schools_days_only(signed_in: Any, demo: Any, bd: dict[str, int], tidy: None) -> None:
    page = signed_in("bd_mid_principal")
    html = page.get("/calendar").text
    token = csrf_token(html)
    assert f'name="school_id" value="{bd["mid"]}"' in html  # the form is the school's own
    r = page.post("/calendar/days", data={"_csrf_token": token, "school_id": str(bd["mid"]), "day": "2035-11-14",
                                          "school_day": "false", "name": "测试停课"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    [own] = _day_ids(demo, "测试停课")
    with cross_township_session("tests: the day", demo) as s:
        assert s.get(CalendarDay, own).school_id == bd["mid"]  # type: ignore[union-attr]
    # Another school's day or the township's: refused, nothing added.
    for school_id in (str(bd["cps"]),):
        r = page.post("/calendar/days", data={"_csrf_token": token, "school_id": school_id, "day": "2035-11-15",
                                              "school_day": "false", "name": "越权停课"})
        assert r.status_code == 403 and "只能添加本校" in visible_text(r.text)
    assert _day_ids(demo, "越权停课") == []
    # A township's term or day cannot be removed by the school: the one 404.
    with cross_township_session("tests: township rows", demo) as s:
        township_day = s.scalars(select(CalendarDay.id).where(CalendarDay.school_id.is_(None),
                                                              CalendarDay.township_id == s.get(
                                                                  CalendarDay, own).township_id)).first()
    assert page.post(f"/calendar/days/{township_day}/remove", data={"_csrf_token": token}).status_code == 404
    # Nor slipped in behind its own day: the whole removal is refused, its own day kept.
    r = page.post(f"/calendar/days/{own}/remove", data={"_csrf_token": token, "day_ids": str(township_day)})
    assert r.status_code == 404 and _day_ids(demo, "测试停课") == [own]
    assert page.post("/calendar/terms", data={"_csrf_token": token, "name": "本校学期", "starts_on": "2035-09-03",
                                              "ends_on": "2036-01-18"}).status_code == 403
    r = page.post(f"/calendar/days/{own}/remove", data={"_csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and _day_ids(demo, "测试停课") == []
    # A teacher has no write at all.
    teacher = signed_in("bd_mid_teacher")
    r = teacher.post("/calendar/days", data={"_csrf_token": csrf_token(teacher.get("/calendar").text),
                                             "day": "2035-11-16", "school_day": "false", "name": "教师停课"})
    assert r.status_code == 403


# --- the API ----------------------------------------------------------------------------------

def test_the_api_answers_the_terms_and_the_school_days(persona: Any, bd: dict[str, int]) -> None:
    year = school_year()
    plan = year_plan(year)
    terms = persona("bd_leader").get("/api/calendar/terms")
    assert terms.status_code == 200, terms.text
    found = {t["name"]: t for t in terms.json()}
    name, first, last = plan.terms[0]
    assert found[name]["starts_on"] == first.isoformat() and found[name]["ends_on"] == last.isoformat()
    assert 60 < found[name]["school_days"] < 120

    start, end = date(year, 9, 28), date(year, 10, 11)
    r = persona("bd_leader").get(f"/api/calendar/school-days?start={start}&end={end}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["school_id"] is None and body["count"] == len(body["days"])
    assert not any(f"{year}-10-0{d}" in body["days"] for d in range(1, 8))  # 国庆节
    assert all(date.fromisoformat(d).weekday() < 5 or (date.fromisoformat(d), True) in
               {(day, on) for day, on, _n in plan.days} for d in body["days"])

    closed = plan.closed
    week = (closed - timedelta(days=closed.weekday()), closed + timedelta(days=6 - closed.weekday()))
    query = f"start={week[0]}&end={week[1]}"
    mid = persona("bd_leader").get(f"/api/calendar/school-days?{query}&school_id={bd['mid']}").json()
    cps = persona("bd_leader").get(f"/api/calendar/school-days?{query}&school_id={bd['cps']}").json()
    assert closed.isoformat() not in mid["days"] and closed.isoformat() in cps["days"]
    assert mid["count"] == cps["count"] - 1
    # A school's people get their own school's days without naming it.
    own = persona("bd_mid_academic").get(f"/api/calendar/school-days?{query}").json()
    assert own["school_id"] == bd["mid"] and own["days"] == mid["days"]


def test_the_api_adds_a_day_once(persona: Any, bd: dict[str, int], demo: Any, tidy: None) -> None:
    office = persona("bd_office")
    r = office.post("/api/calendar/days", json={"day": "2036-10-01", "school_day": False, "name": "测试国庆"})
    assert r.status_code == 201, r.text
    assert r.json()["school_id"] is None and r.json()["label"] == "放假"
    again = office.post("/api/calendar/days", json={"day": "2036-10-01", "school_day": True, "name": "测试调休"})
    assert again.status_code == 409 and "已有校历安排" in again.json()["detail"]
    principal = persona("bd_mid_principal")
    r = principal.post("/api/calendar/days", json={"day": "2036-10-01", "school_day": True, "name": "测试补课"})
    assert r.status_code == 201, r.text
    assert r.json()["school_id"] == bd["mid"] and r.json()["label"] == "上课（补课）"
    r = principal.post("/api/calendar/days", json={"day": "2036-10-02", "school_day": False, "name": "越权",
                                                   "school_id": bd["cps"]})
    assert r.status_code == 403
    assert persona("bd_village1").post("/api/calendar/days", json={
        "day": "2036-10-02", "school_day": False, "name": "村里停课"}).status_code == 403
    assert persona("lg_office").post("/api/calendar/days", json={
        "day": "2036-10-02", "school_day": False, "name": "越界", "school_id": bd["mid"]}).status_code == 404
    days = persona("bd_leader").get("/api/calendar/school-days?start=2036-09-29&end=2036-10-02").json()
    assert "2036-10-01" not in days["days"]
    days = persona("bd_leader").get(f"/api/calendar/school-days?start=2036-09-29&end=2036-10-02"
                                    f"&school_id={bd['mid']}").json()
    assert "2036-10-01" in days["days"]


@pytest.mark.parametrize(("request_", "field", "words"), [
    ("GET /api/calendar/school-days?start=2026-10-08&end=2026-10-01", "end", "结束日期不能早于开始日期"),
    ("GET /api/calendar/school-days?start=2026-01-01&end=2028-01-01", "end", "一次最多查询"),
    ("GET /api/calendar/school-days?start=abc&end=2026-10-01", "start", "开始日期"),
    ("GET /api/calendar/school-days?end=2026-10-01", "start", "开始日期"),
    ("GET /api/calendar/school-days?start=9999-12-31&end=9999-12-31&school_id=x", "school_id", "学校"),
    ('POST {"day": "2036-13-01", "school_day": false, "name": "坏日期"}', "day", "日期"),
    ('POST {"day": "2036-10-03", "school_day": "maybe", "name": "坏"}', "school_day", "是否上课"),
    ('POST {"day": "2036-10-03", "school_day": false}', "name", "名称"),
    ('POST {"day": "2036-10-03", "school_day": false, "name": "   "}', "name", "名称"),
    ('POST {"day": "2036-10-03", "school_day": false, "name": "' + "长" * 41 + '"}', "name", "名称"),
    ('POST {"day": "2036-10-03", "school_day": false, "name": "坏", "school_id": 0}', "school_id", "学校"),
])
def test_bad_input_is_a_400_naming_the_field_in_chinese(persona: Any, request_: str, field: str, words: str,
                                                         tidy: None) -> None:
    office = persona("bd_office")
    method, rest = request_.split(" ", 1)
    if method == "GET":
        r = office.get(rest)
    else:
        r = office.post("/api/calendar/days", content=rest.encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    problem = r.json()
    assert any(e["field"] == field and words in e["message"] for e in problem.get("errors", [])) \
        or words in problem["detail"], problem
    assert re.search(r"[\u4e00-\u9fff]", problem["detail"])


def test_the_far_end_of_the_calendar_is_not_a_500(persona: Any) -> None:
    r = persona("bd_leader").get("/api/calendar/school-days?start=9999-12-25&end=9999-12-31")
    assert r.status_code == 200 and r.json()["count"] == 5
