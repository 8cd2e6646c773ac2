"""The daily arrival report through the pages and the API, committed like real use, on the real
clock: the day reported is the most recent school day of the class's school (the demo reported
four weeks up to it, so saving it is a correction). Each test takes children of the class with
nothing going on and puts the day back as it found it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from baoxue.platform.audit import AuditEvent
from baoxue.platform.clock import clock
from baoxue.platform.db import cross_township_session, tenant_session
from baoxue.platform.jobs import township_context
from baoxue.tenants.attendance.models import AbsenceSpell, AttendanceReport
from baoxue.tenants.school_calendar.rules import RULE_FIELDS, RULE_LABELS, rules_of
from baoxue.tenants.school_calendar.service import Calendar
from baoxue.tenants.students.models import Student
from baoxue.tenants.worklist.models import WorkItem
from tests.pages import csrf_token
from tests.tenants.attendance.audit_helpers import last_school_day, quiet_children
from tests.tenants.status_changes.helpers import login_actor

TAKEN: set[int] = set()  # the children these tests have used (each test takes its own)


@dataclass(frozen=True)
class Register:
    """bd_mid_teacher's class and the day it reports."""

    township_id: int
    school_id: int
    class_id: int
    membership_id: int
    day: date
    calendar: Calendar

    @property
    def page(self) -> str:
        return f"/attendance/classes/{self.class_id}/{self.day.isoformat()}"

    @property
    def api(self) -> str:
        return f"/api{self.page}"

    def children(self, settings: Any, n: int = 1) -> list[int]:
        return quiet_children(settings, self.class_id, self.day, n, taken=TAKEN)


@pytest.fixture(scope="module")
def register(demo: Any, townships: dict[str, int]) -> Register:
    township = townships["DEMO-BD"]
    teacher = login_actor(demo, "bd_mid_teacher")
    school_id = teacher.membership.unit_id
    with tenant_session(township_context(township), demo) as s:
        calendar = Calendar.load(s, [school_id])
    return Register(township, school_id, teacher.membership.class_ids[0], teacher.membership_id,
                    last_school_day(calendar, school_id, clock.today()), calendar)



def _chosen(html: str, student_id: int) -> str:
    """Which choice of the child's radio group the class's page has checked."""
    found = re.search(rf'name="kind_{student_id}" value="(\w+)" checked', html)
    assert found, f"no choice checked for {student_id}"
    return found.group(1)


def _form(absences: list[dict[str, Any]], **marks: tuple[str, str]) -> dict[str, str]:
    """The class's form as a browser posts it: the day's marks (from the API), with `marks`
    ({"kind_<id>": ...} style keys made from `c<id>=(kind, note)`) changed."""
    data: dict[str, str] = {}
    for a in absences:
        data[f"kind_{a['student_id']}"], data[f"note_{a['student_id']}"] = a["absence_kind"], a["note"]
    for key, (kind, note) in marks.items():
        data[f"kind_{key[1:]}"], data[f"note_{key[1:]}"] = kind, note
    return data


def _report_id(settings: Any, class_id: int, day: date) -> int:
    with cross_township_session("tests: the report", settings) as s:
        return s.scalars(select(AttendanceReport.id).where(AttendanceReport.class_id == class_id,
                                                           AttendanceReport.day == day)).one()


def _audited(settings: Any, event: str, entity_type: str, entity_id: int, since: int = 0) -> list[dict[str, Any]]:
    with cross_township_session("tests: audit rows", settings) as s:
        return list(s.scalars(select(AuditEvent.changes).where(
            AuditEvent.event == event, AuditEvent.entity_type == entity_type,
            AuditEvent.entity_id == str(entity_id), AuditEvent.id > since).order_by(AuditEvent.id)))


def _last_audit_id(settings: Any) -> int:
    with cross_township_session("tests: last audit row", settings) as s:
        return s.scalar(select(func.max(AuditEvent.id))) or 0


def _spells(settings: Any, student_id: int) -> list[AbsenceSpell]:
    with cross_township_session("tests: spells", settings) as s:
        found = list(s.scalars(select(AbsenceSpell).where(AbsenceSpell.student_id == student_id)
                               .order_by(AbsenceSpell.id)))
        s.expunge_all()
        return found


def _items(settings: Any, spell_id: int) -> dict[str, WorkItem]:
    with cross_township_session("tests: a spell's items", settings) as s:
        found = {i.kind: i for i in s.scalars(select(WorkItem).where(
            WorkItem.subject_type == "absence_spells", WorkItem.subject_id == spell_id).order_by(WorkItem.id))}
        s.expunge_all()
        return found


def _errors(response: Any) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json().get("errors", [])}


# --- the class's day on its page --------------------------------------------------------------

def test_a_class_teacher_corrects_the_day_on_the_page_and_the_same_form_twice_changes_nothing(
        signed_in: Any, persona: Any, demo: Any, register: Register) -> None:
    page, api = signed_in("bd_mid_teacher"), persona("bd_mid_teacher")
    away, late = register.children(demo, 2)
    home = page.get("/attendance")
    assert home.status_code == 200 and register.page in home.text  # today's page leads to the class's day
    before = api.get(register.api).json()
    assert before["reported"] and before["editable"] and before["enrolled"] >= 20  # the demo reported it
    html = page.get(register.page).text
    assert _chosen(html, away) == "present" and _chosen(html, late) == "present"
    assert "保存更正" in html  # a reported day is corrected, not reported again
    report_id = _report_id(demo, register.class_id, register.day)
    since = _last_audit_id(demo)
    form = {**_form(before["absences"], **{f"c{away}": ("unexcused", "早上未到校，电话未接通"), f"c{late}": ("late", "")}),
            "_csrf_token": csrf_token(html)}
    try:
        r = page.post(register.page, data=form, follow_redirects=False)
        assert r.status_code == 303, r.text
        assert r.headers["location"] == f"{register.page}?saved=1"
        shown = page.get(r.headers["location"]).text
        assert "已保存" in shown and "早上未到校，电话未接通" in shown
        assert (_chosen(shown, away), _chosen(shown, late)) == ("unexcused", "late")
        assert "连续旷课1天" in shown  # the child now needs eyes on them
        after = api.get(register.api).json()
        marks = {a["student_id"]: (a["absence_kind"], a["label"], a["note"]) for a in after["absences"]}
        assert marks[away] == ("unexcused", "旷课", "早上未到校，电话未接通") and marks[late] == ("late", "迟到", "")
        assert {k: v for k, v in marks.items() if k not in (away, late)} == {
            a["student_id"]: (a["absence_kind"], a["label"], a["note"]) for a in before["absences"]}
        assert after["revisions"] == before["revisions"] + 1
        corrected = _audited(demo, "attendance:report:corrected", "attendance_reports", report_id, since)
        assert len(corrected) == 1
        assert corrected[0]["added"] == sorted([[away, "旷课"], [late, "迟到"]])  # as the audit page shows them
        assert corrected[0]["removed"] == [] and corrected[0]["source"] == "page"

        # The first day away without leave is on the teacher's list the same day: the call home.
        (spell,) = _spells(demo, away)
        assert (spell.kind, spell.days, spell.first_day, spell.ended_at) == ("run", 1, register.day, None)
        assert _items(demo, spell.id)["attendance:contact"].closed_at is None
        assert _spells(demo, late) == []  # late is present: nothing escalates

        # The same form again (a double tap, a retry): nothing changes, nothing more on the record.
        r = page.post(register.page, data=form, follow_redirects=False)
        assert r.status_code == 303, r.text
        assert api.get(register.api).json() == after
        assert len(_audited(demo, "attendance:report:corrected", "attendance_reports", report_id, since)) == 1
    finally:
        put_back = {**_form(before["absences"], **{f"c{away}": ("present", ""), f"c{late}": ("present", "")}),
                    "_csrf_token": form["_csrf_token"]}
        restored = page.post(register.page, data=put_back, follow_redirects=False)
    assert restored.status_code == 303, restored.text
    assert api.get(register.api).json()["absences"] == before["absences"]
    # The correction took the only day away back: the spell ends as corrected, its step closes.
    (spell,) = _spells(demo, away)
    assert spell.ended_reason == "corrected" and spell.ended_at is not None
    assert _items(demo, spell.id)["attendance:contact"].closed_at is not None


def test_bad_input_is_refused_by_field_in_chinese_and_never_a_500(signed_in: Any, persona: Any, demo: Any,
                                                                   register: Register) -> None:
    page, api = signed_in("bd_mid_teacher"), persona("bd_mid_teacher")
    (child,) = register.children(demo)
    before = api.get(register.api).json()
    token = csrf_token(page.get(register.page).text)
    cal, school, today = register.calendar, register.school_id, clock.today()
    future = cal.after(school, today, 1)  # a school day, but not yet
    rest = next(d for d in (today - timedelta(days=n) for n in range(14)) if not cal.is_school_day(school, d))
    old = cal.after(school, today, -8)  # a school day beyond the correction window (3 by default)
    cid = register.class_id

    def page_of(day: date) -> str:
        return f"/attendance/classes/{cid}/{day.isoformat()}"

    refused_forms = [
        (register.page, ("truant", ""), "缺勤类型只能是病假、事假、旷课或迟到。"),
        (register.page, ("sick", "发烧\x07"), "备注含有不可见的控制字符（U+0007）"),
        (register.page, ("sick", "备" * 201), "备注不能超过 200 个字。"),
        (page_of(future), ("sick", ""), "不能提前填报以后的到校情况"),
        (page_of(rest), ("sick", ""), f"{rest.isoformat()} 不是本校的教学日"),
        (page_of(old), ("sick", ""), "只能填报或更正最近 3 个教学日的到校日报告。"),
    ]
    for path, mark, message in refused_forms:
        r = page.post(path, data={**_form(before["absences"], **{f"c{child}": mark}), "_csrf_token": token},
                      follow_redirects=False)
        assert r.status_code == 400, (path, mark, r.status_code)
        assert message in r.text, (path, mark)

    refused_api = [
        (register.api, {"absence_kind": "truant"}, "absences",
         f"student_id {child}：缺勤类型只能是病假、事假、旷课或迟到。"),
        (register.api, {"absence_kind": "sick", "note": "发烧\x07"}, "absences", "控制字符"),
        (f"/api{page_of(future)}", {"absence_kind": "sick"}, "day", "不能提前填报"),
        (f"/api{page_of(rest)}", {"absence_kind": "sick"}, "day", "不是本校的教学日"),
        (f"/api/attendance/classes/{cid}/2026-02-30", {"absence_kind": "sick"}, "day", "日期的格式应为"),
        (f"/api/attendance/classes/{cid}/today", {"absence_kind": "sick"}, "day", "日期的格式应为"),
    ]
    for path, absence, field, message in refused_api:
        r = api.put(path, json={"absences": [{"student_id": child, **absence}]})
        assert r.status_code == 400, (path, absence, r.status_code, r.text)
        assert message in _errors(r).get(field, ""), (path, r.json())
    r = api.put(register.api, json={"absences": [{"student_id": child, "absence_kind": "sick", "note": "备" * 201}]})
    assert r.status_code == 400 and "200" in _errors(r)["absences"], r.text  # checked while decoding
    r = api.put(register.api, json={"absences": "all"})
    assert r.status_code == 400 and "absences" in _errors(r), r.text
    for path in (f"/attendance/classes/{cid}/2026-02-30", f"/api/attendance/classes/{cid}/2026-13-01"):
        r = page.get(path) if not path.startswith("/api/") else api.get(path)
        assert r.status_code == 400 and "日期的格式应为" in r.text, (path, r.status_code)
    # A future day and a day without school read fine; they say why they cannot be saved.
    html = page.get(page_of(future)).text
    assert "不能提前填报以后的到校情况" in html and "提交到校日报告" not in html
    assert api.get(f"/api{page_of(rest)}").json()["school_day"] is False
    # Nothing of it was kept.
    assert api.get(register.api).json() == before


# --- who may reach a class's day --------------------------------------------------------------

def test_another_class_another_township_and_the_village_are_refused(signed_in: Any, persona: Any, demo: Any,
                                                                    register: Register) -> None:
    with cross_township_session("tests: a spell of the class", demo) as s:
        spell_id = s.scalars(select(AbsenceSpell.id).where(AbsenceSpell.class_id == register.class_id)
                             .order_by(AbsenceSpell.id)).first()
    assert spell_id is not None, "the demo's class teacher lives some spells"
    pages = [register.page, f"/attendance/classes/{register.class_id}", f"/attendance/spells/{spell_id}"]
    # Its own teacher reaches all three (the bare class address goes on to today).
    own = signed_in("bd_mid_teacher")
    assert [own.get(p, follow_redirects=False).status_code for p in pages] == [200, 303, 200]
    for username, write in (("bd_cps_teacher", 404), ("lg_mid_teacher", 404), ("lg_mid_academic", 404),
                            ("lg_office", 403), ("lg_leader", 403)):  # the township reads, the schools report
        browser = signed_in(username)
        assert [browser.get(p, follow_redirects=False).status_code for p in pages] == [404, 404, 404], username
        token = csrf_token(browser.get("/").text)
        r = browser.post(register.page, data={"_csrf_token": token}, follow_redirects=False)
        assert r.status_code == write, (username, r.status_code)
        r = browser.post(f"/attendance/spells/{spell_id}/contact", data={
            "_csrf_token": token, "mode": "phone", "met": "父亲", "found": "探针"}, follow_redirects=False)
        assert r.status_code == write, (username, r.status_code)
        api = persona(username)
        assert api.get(register.api).status_code == 404, username
        assert api.put(register.api, json={"absences": []}).status_code == write, username
        assert spell_id not in {s["id"] for s in api.get("/api/attendance/spells?open=0").json()}, username
    # A village reads no attendance at all (it joins a child's file when the case opens).
    village = signed_in("bd_village1")
    assert [village.get(p, follow_redirects=False).status_code for p in pages] == [403, 403, 403]
    assert village.get("/attendance").status_code == 403
    assert persona("bd_village1").get(register.api).status_code == 403
    assert persona("bd_village1").get("/api/attendance/spells").status_code == 403


# --- the API ----------------------------------------------------------------------------------

def test_the_api_replaces_the_days_list_and_refuses_duplicates_and_strangers(persona: Any, demo: Any,
                                                                             register: Register) -> None:
    academic = persona("bd_mid_academic")
    (child,) = register.children(demo)
    with cross_township_session("tests: a child of another class", demo) as s:
        stranger = s.scalars(select(Student.id).where(Student.school_id == register.school_id,
                                                      Student.class_id != register.class_id,
                                                      Student.status == "01").order_by(Student.id)).first()
    before = academic.get(register.api).json()
    kept = [{"student_id": a["student_id"], "absence_kind": a["absence_kind"], "note": a["note"]}
            for a in before["absences"]]
    report_id = _report_id(demo, register.class_id, register.day)
    since = _last_audit_id(demo)
    wanted = {"absences": [*kept, {"student_id": child, "absence_kind": "late"}]}
    try:
        r = academic.put(register.api, json=wanted)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["class_id"], body["day"], body["reported"]) == (register.class_id, register.day.isoformat(), True)
        marks = {a["student_id"]: (a["absence_kind"], a["label"]) for a in body["absences"]}
        assert marks[child] == ("late", "迟到") and len(marks) == len(kept) + 1
        assert body["revisions"] == before["revisions"] + 1
        (corrected,) = _audited(demo, "attendance:report:corrected", "attendance_reports", report_id, since)
        assert corrected["source"] == "api" and corrected["added"] == [[child, "迟到"]]
        # The same list again (a retry): nothing changes, nothing more on the record.
        again = academic.put(register.api, json=wanted)
        assert again.status_code == 200 and again.json() == body
        assert len(_audited(demo, "attendance:report:corrected", "attendance_reports", report_id, since)) == 1

        twice = {"absences": [*kept, {"student_id": child, "absence_kind": "late"},
                              {"student_id": child, "absence_kind": "sick"}]}
        r = academic.put(register.api, json=twice)
        assert r.status_code == 400 and "两次" in _errors(r)["absences"], r.text
        r = academic.put(register.api, json={"absences": [*kept, {"student_id": stranger, "absence_kind": "late"}]})
        assert r.status_code == 400 and "不在本班名单上" in _errors(r)["absences"], r.text
        r = academic.put(register.api, json={"absences": [{"student_id": -5, "absence_kind": "late"}]})
        assert r.status_code == 400, r.text
        assert academic.get(register.api).json() == body  # the refusals kept nothing
    finally:
        restored = academic.put(register.api, json={"absences": kept})
    assert restored.status_code == 200, restored.text
    assert restored.json()["absences"] == before["absences"]


# --- a spell's page ---------------------------------------------------------------------------

def test_the_spell_page_records_the_call_home_and_its_step_closes(signed_in: Any, demo: Any,
                                                                  register: Register) -> None:
    with cross_township_session("tests: a spell waiting for its call", demo) as s:
        found = s.execute(select(AbsenceSpell.id, AbsenceSpell.student_name, WorkItem.id).join(
            WorkItem, (WorkItem.subject_type == "absence_spells") & (WorkItem.subject_id == AbsenceSpell.id)).where(
            AbsenceSpell.class_id == register.class_id, AbsenceSpell.ended_at.is_(None),
            AbsenceSpell.case_id.is_(None), WorkItem.kind == "attendance:contact", WorkItem.closed_at.is_(None))
            .order_by(AbsenceSpell.id)).first()
    assert found is not None, "the demo leaves a child away since the last school day, the call home due"
    spell_id, name, item_id = found
    page = signed_in("bd_mid_teacher")
    html = page.get(f"/attendance/spells/{spell_id}").text
    assert name in html and f"联系监护人：{name}" in html and "登记联系家长或家访" in html
    url = f"/attendance/spells/{spell_id}/contact"
    call = {"_csrf_token": csrf_token(html), "mode": "phone", "visited_at": "", "visitor_ids": str(register.membership_id),
            "met": "", "found": "电话打通，母亲说孩子早上出门了，不知道没到校。", "agreed": "明天由家长送到校门口。"}
    r = page.post(url, data=call, follow_redirects=False)
    assert r.status_code == 400 and "不能为空" in r.text  # who was reached is asked for
    assert _item_closed(demo, item_id) is None
    r = page.post(url, data={**call, "met": "母亲"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/attendance/spells/{spell_id}?saved=1"
    assert _item_closed(demo, item_id) is not None  # the step it fulfils closed at once
    shown = page.get(r.headers["location"]).text
    assert "已保存" in shown and "电话打通，母亲说孩子早上出门了" in shown and "已完成" in shown


def _item_closed(settings: Any, item_id: int) -> Any:
    with cross_township_session("tests: an item", settings) as s:
        return s.scalars(select(WorkItem.closed_at).where(WorkItem.id == item_id)).one()


# --- the township's rules ---------------------------------------------------------------------

def test_the_rules_page_and_the_rules_api(signed_in: Any, persona: Any, demo: Any, register: Register) -> None:
    for username in ("bd_mid_teacher", "bd_mid_academic", "bd_leader", "bd_office"):
        r = signed_in(username).get("/attendance/rules")
        assert r.status_code == 200 and "联系监护人（班主任）" in r.text, username
        assert ('type="submit">保存</button>' in r.text) == (username == "bd_office"), username
    assert signed_in("bd_village1").get("/attendance/rules").status_code == 403
    with tenant_session(township_context(register.township_id), demo) as s:
        original = {name: getattr(rules_of(s), name) for name in RULE_FIELDS}
    office = persona("bd_office")

    r = office.put("/api/attendance/rules", json={**original, "step_contact": 3, "step_visits": 2})
    assert r.status_code == 400 and "不能早于" in _errors(r)["step_visits"], r.text
    _label, low, high = RULE_LABELS["report_by_hour"]
    r = office.put("/api/attendance/rules", json={**original, "report_by_hour": high + 1})
    assert r.status_code == 400 and f"{low} 到 {high}" in _errors(r)["report_by_hour"], r.text
    r = office.put("/api/attendance/rules", json={name: v for name, v in original.items() if name != "step_confirm"})
    assert r.status_code == 400 and "step_confirm" in _errors(r), r.text

    window = original["scattered_window"]
    changed = {**original, "scattered_window": window + 1 if window < 60 else window - 1}
    since = _last_audit_id(demo)
    try:
        r = office.put("/api/attendance/rules", json=changed)
        assert r.status_code == 200 and r.json() == changed, r.text
        (audited,) = _audited(demo, "attendance:rules:changed", "townships", register.township_id, since)
        assert audited == {"scattered_window": [window, changed["scattered_window"]]}
        assert f'value="{changed["scattered_window"]}"' in signed_in("bd_office").get("/attendance/rules").text
        # A class teacher reads the rules and changes none of them.
        teacher = persona("bd_mid_teacher")
        assert teacher.put("/api/attendance/rules", json=original).status_code == 403
        page = signed_in("bd_mid_teacher")
        token = csrf_token(page.get("/attendance/rules").text)
        r = page.post("/attendance/rules", data={"_csrf_token": token, **{k: str(v) for k, v in original.items()}},
                      follow_redirects=False)
        assert r.status_code == 403
    finally:
        restored = office.put("/api/attendance/rules", json=original)
    assert restored.status_code == 200 and restored.json() == original, restored.text


def test_leave_is_granted_and_cancelled_through_the_api_and_another_township_cannot(persona: Any, demo: Any) -> None:
    teacher = login_actor(demo, "bd_mid_teacher")
    class_id = teacher.membership.class_ids[0]
    child = quiet_children(demo, class_id, clock.today(), 1)[-1]
    api = persona("bd_mid_teacher")
    start = clock.today() + timedelta(days=30)
    r = api.post("/api/attendance/leaves", json={"student_id": child, "leave_kind": "personal",
                                                 "starts_on": start.isoformat(),
                                                 "ends_on": (start + timedelta(days=1)).isoformat(),
                                                 "reason": "随家长去县城办证"})
    assert r.status_code == 201, r.text
    leave = r.json()
    assert persona("lg_mid_teacher").post(f"/api/attendance/leaves/{leave['id']}/cancel").status_code == 404
    assert persona("bd_cps_teacher").post(f"/api/attendance/leaves/{leave['id']}/cancel").status_code == 404
    r = api.post(f"/api/attendance/leaves/{leave['id']}/cancel")
    assert r.status_code == 200 and r.json()["cancelled"] is True
    again = api.post(f"/api/attendance/leaves/{leave['id']}/cancel")
    assert again.status_code == 409  # cancelled once; the record stays, with when it was cancelled


def test_the_student_page_shows_the_childs_attendance_to_their_school_only(signed_in: Any, demo: Any) -> None:
    with cross_township_session("tests: a child on sick leave", demo) as s:
        child = s.scalar(select(AbsenceSpell.student_id).where(AbsenceSpell.kind == "sick",
                                                               AbsenceSpell.township_id == Student.township_id)
                         .join(Student, Student.id == AbsenceSpell.student_id)
                         .where(Student.school_id == login_actor(demo, "bd_mid_teacher").membership.unit_id))
    assert child is not None, "the demo has a long sick leave in the teacher's class"
    r = signed_in("bd_mid_teacher").get(f"/attendance/student/{child}")
    assert r.status_code == 200 and "到校情况" in r.text and "长期病假核实" in r.text and "病假 <strong>" in r.text
    assert signed_in("lg_mid_teacher").get(f"/attendance/student/{child}").status_code == 404
    assert signed_in("bd_village1").get(f"/attendance/student/{child}").status_code == 403
