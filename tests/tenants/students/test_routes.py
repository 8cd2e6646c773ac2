"""Students through the API: scope, masking, personal data only for roles that need it, audited."""

import io
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
        assert "<html" not in fragment.text and fragment.text.strip().startswith('<tbody id="student-rows">')
