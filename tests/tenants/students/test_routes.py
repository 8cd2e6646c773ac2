"""Students through the API: scope, masking, personal data only for roles that need it, audited."""

import io
import re
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select

from baoxue.platform.audit import AuditEvent
from baoxue.platform.db import cross_township_session


def _audit(settings: Any, request_id: str) -> list[AuditEvent]:
    with cross_township_session("tests: audit by request", settings) as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.request_id == request_id)))


def test_lists_are_masked_even_for_roles_that_may_see_more(persona: Any) -> None:
    rows = persona("bd_leader").get("/api/students").json()
    assert rows and all("*" in r["id_number"] and r["guardian_phone"] is None for r in rows)


def test_one_record_is_unmasked_for_a_class_teacher_and_the_view_is_audited(persona: Any, demo: Any) -> None:
    teacher = persona("bd_mid_teacher")
    student = teacher.get("/api/students").json()[0]
    r = teacher.get(f"/api/students/{student['id']}")
    assert r.status_code == 200
    body = r.json()
    assert "*" not in body["id_number"] and len(body["id_number"]) == 18 and body["guardian_phone"]
    # The national record's fields and both family members, the guardian among them.
    assert body["ethnicity"] and len(body["entry_month"]) == 6 and body["hukou_place"]
    assert len(body["family"]) == 2 and sum(m["is_guardian"] for m in body["family"]) == 1
    assert body["guardian_name"] == next(m["name"] for m in body["family"] if m["is_guardian"])
    (event,) = _audit(demo, r.headers["x-request-id"])
    me = teacher.me()
    assert event.event == "students:student:personal_viewed" and event.entity_id == str(student["id"])
    assert event.user_id == me["user_id"] and event.membership_id == me["membership"]["id"]
    assert event.role == "class_teacher"


def test_subject_teacher_sees_the_record_but_not_personal_data(persona: Any) -> None:
    subject = persona("bd_mid_subject")
    student = subject.get("/api/students").json()[0]
    body = subject.get(f"/api/students/{student['id']}").json()
    assert "*" in body["id_number"] and body["guardian_phone"] is None and body["family_circumstances"] is None
    assert body["family"] is None and body["address"] is None and body["phone"] is None
    assert subject.get("/api/students/export").status_code == 403


def test_export_holds_only_the_scope_and_is_audited(persona: Any, demo: Any) -> None:
    principal = persona("bd_mid_principal")
    r = principal.get("/api/students/export")
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "姓名" and len(rows) > 100
    assert {row[5] for row in rows[1:]} == {"板当中学"}
    assert all(isinstance(row[3], str) and len(row[3]) == 18 for row in rows[1:])  # IDs stay text
    (event,) = _audit(demo, r.headers["x-request-id"])
    assert event.event == "students:export:downloaded" and event.changes["rows"] == len(rows) - 1


def test_formula_injection_is_neutralised() -> None:
    from baoxue.platform.spreadsheets import safe_cell

    assert safe_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert safe_cell("+86 123") == "'+86 123" and safe_cell("王芳") == "王芳" and safe_cell(7) == 7


def test_audit_page_and_api_show_the_townships_trail(persona: Any) -> None:
    leader = persona("bd_leader")
    leader.get("/api/students/1")
    events = leader.get("/api/audit?event=students:").json()
    assert events and all(e["event"].startswith("students:") for e in events)
    assert persona("bd_mid_teacher").get("/api/audit").status_code == 403


def test_htmx_search_returns_only_the_rows(app: Any) -> None:
    from litestar.testing import TestClient

    from tests.platform.test_identity import page_login

    with TestClient(app, base_url="http://testserver.local") as browser:
        page_login(browser, "bd_mid_teacher", "baoxue2026")
        full = browser.get("/students")
        assert full.status_code == 200 and "<html" in full.text
        fragment = browser.get("/students?q=张", headers={"HX-Request": "true"})
        assert fragment.status_code == 200 and fragment.headers["vary"] == "HX-Request"
        assert "<html" not in fragment.text and fragment.text.strip().startswith('<div id="student-results">')
        assert 'id="student-rows"' in fragment.text  # the count, the rows and the pager: all the search changes


# --- the list: pages, filters, class names, number searches ----------------------------------------

def _numbers_of(settings: Any, student_id: int) -> tuple[str, str]:
    from baoxue.tenants.students.models import Student

    with cross_township_session("tests: a student's numbers", settings) as s:
        student = s.get(Student, student_id)
        return student.id_number, student.student_number


def _filter_form(html: str) -> Any:
    from tests.pages import parse

    return next(f for f in parse(html).forms if f.action == "/students")


def test_a_page_past_the_end_shows_the_last_page(signed_in: Any) -> None:
    from tests.pages import visible_text

    leader = signed_in("bd_leader")
    first = visible_text(leader.get("/students").text)
    pages = int(first.split("第 1 / ")[1].split(" ")[0])
    last = leader.get("/students?page=9999")
    assert last.status_code == 200
    text = visible_text(last.text)
    assert f"第 {pages} / {pages} 页" in text and "9999" not in text and "没有找到学生" not in text


def test_a_village_cadre_sees_the_class_of_their_residents_but_not_the_classes(persona: Any,
                                                                               signed_in: Any) -> None:
    cadre = persona("bd_village1")
    rows = cadre.get("/api/students").json()
    assert rows and all(r["class_name"] for r in rows if r["class_id"])
    # The class policy is unchanged: a village reads no class itself.
    assert cadre.get("/api/classes").json() == []
    assert cadre.get(f"/api/classes/{rows[0]['class_id']}").status_code == 404
    page = signed_in("bd_village1").get("/students")
    assert rows[0]["class_name"] in page.text
    assert {o for o in _filter_form(page.text).selects["class_id"] if o}  # and may filter by it
    detail = signed_in("bd_village1").get(f"/students/{rows[0]['id']}")
    assert rows[0]["class_name"] in detail.text


def test_the_list_filters_by_class_grade_and_status(persona: Any, signed_in: Any) -> None:
    leader = persona("bd_leader")
    seventh = leader.get("/api/students?grade=7").json()
    assert seventh and all(r["class_name"].startswith("七年级") for r in seventh)
    one_class = leader.get(f"/api/students?class_id={seventh[0]['class_id']}").json()
    assert {r["class_id"] for r in one_class} == {seventh[0]["class_id"]}
    assert leader.get("/api/students?status=15").json() == []  # 下落不明: no demo child
    assert leader.get("/api/students?status=01").json()
    form = _filter_form(signed_in("bd_leader").get("/students").text)
    assert {"school_id", "grade", "class_id", "status"} <= set(form.selects)
    live = signed_in("bd_leader").get("/students?grade=7&status=01", headers={"HX-Request": "true"})
    assert live.status_code == 200 and "七年级" in live.text and "八年级" not in live.text


def test_the_pager_keeps_the_filters(signed_in: Any) -> None:
    from tests.pages import parse

    page = signed_in("bd_leader").get("/students?grade=7")
    next_links = [href for href in parse(page.text).links if "page=2" in href]
    assert next_links and all("grade=7" in href for href in next_links)


def test_a_name_search_is_not_a_pattern(persona: Any) -> None:
    assert persona("bd_leader").get("/api/students?q=%25").json() == []


def test_without_personal_access_an_id_number_finds_nothing_and_says_why(persona: Any, signed_in: Any,
                                                                        demo: Any) -> None:
    """A masked ID plus exact-match searches would give the number away: roles that may not read it
    (a subject teacher, the administrator) cannot search by it."""
    from tests.pages import visible_text

    subject = persona("bd_mid_subject")
    student = subject.get("/api/students").json()[0]
    id_number, student_number = _numbers_of(demo, student["id"])
    for who in ("bd_mid_subject", "bd_admin"):
        for q in (id_number, student_number, id_number[:10], id_number.lower()):
            assert persona(who).get(f"/api/students?q={q}").json() == [], (who, q)
        page = signed_in(who).get(f"/students?q={id_number}")
        assert student["name"] not in visible_text(page.text).split("没有找到学生")[0].split("查询")[-1]
        assert "需要“查看学生完整信息”的权限" in visible_text(page.text)


def test_with_personal_access_a_whole_number_finds_the_child_and_is_audited(persona: Any, demo: Any) -> None:
    """A lookup by number is a body, never a URL, and every one is on the record, found or not."""
    teacher = persona("bd_mid_teacher")
    student = teacher.get("/api/students").json()[0]
    id_number, student_number = _numbers_of(demo, student["id"])
    for number in (id_number, student_number, id_number.lower()):
        r = teacher.post("/api/students/lookup", json={"number": number})
        found = r.json()["student"]
        assert r.status_code == 200 and found["id"] == student["id"] and found["id_number"] == id_number
        (event,) = _audit(demo, r.headers["x-request-id"])
        assert event.event == "students:student:personal_searched" and event.entity_id == str(student["id"])
        assert number.upper() not in str(event.changes) and event.changes["found"] is True
    partial = teacher.post("/api/students/lookup", json={"number": id_number[:12]})
    assert partial.status_code == 200 and partial.json() == {"student": None}
    (event,) = _audit(demo, partial.headers["x-request-id"])
    assert event.changes["found"] is False
    # In a URL a number matches nothing, for every role, and leaves no trace to audit.
    listed = teacher.get(f"/api/students?q={id_number}")
    assert listed.json() == [] and _audit(demo, listed.headers["x-request-id"]) == []
    assert persona("bd_mid_subject").post("/api/students/lookup", json={"number": id_number}).status_code == 403


def test_the_lookup_form_opens_the_childs_record(signed_in: Any, persona: Any, demo: Any) -> None:
    student = persona("bd_mid_teacher").get("/api/students").json()[0]
    id_number, _ = _numbers_of(demo, student["id"])
    browser = signed_in("bd_mid_teacher")
    page = browser.get("/students").text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page).group(1)
    r = browser.post("/students/lookup", data={"number": id_number, "_csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/students/{student['id']}"
    missing = browser.post("/students/lookup", data={"number": "522727200001010000", "_csrf_token": token})
    assert missing.status_code == 200 and "没有找到证件号为" in missing.text and "522727200001010000" not in missing.text
