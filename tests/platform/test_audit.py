"""The audit trail page: the township sees and filters its own trail, no one else's."""

import re
from typing import Any

from litestar.testing import TestClient

from tests.pages import visible_text
from tests.platform.test_identity import page_login
from tests.platform.test_query_counts import count_queries


def _table_text(html: str) -> str:
    """The visible text of the trail's table (not the filters above it)."""
    return visible_text(html[html.index("<table"):html.index("</table>")])


def test_leader_filters_the_trail_by_person_and_outcome(app: Any, persona: Any) -> None:
    teacher = persona("bd_mid_teacher")
    assert teacher.get("/api/students/999999").status_code == 404  # a refused attempt, audited
    teacher_id = teacher.me()["user_id"]
    with TestClient(app, base_url="http://testserver.local") as browser:
        page_login(browser, "bd_leader", "baoxue2026")
        page = browser.get(f"/audit?outcome=denied&user_id={teacher_id}")
        assert page.status_code == 200 and "操作日志" in page.text
        rows = _table_text(page.text)
        assert "访问被拒绝" in rows and "被拒绝" in rows
        assert "登录成功" not in rows
        assert f'<option value="{teacher_id}" selected>' in page.text


def test_the_trail_shows_only_the_own_township(persona: Any) -> None:
    lg = persona("lg_leader")
    lg.get("/api/students")
    bd_events = persona("bd_leader").get("/api/audit").json()
    lg_user = lg.me()["user_id"]
    assert all(e["user_id"] != lg_user for e in bd_events)


def test_a_class_teacher_cannot_open_the_trail(app: Any) -> None:
    with TestClient(app, base_url="http://testserver.local") as browser:
        page_login(browser, "bd_mid_teacher", "baoxue2026")
        page = browser.get("/audit")
        assert page.status_code == 403 and "没有权限" in page.text


def test_the_trail_says_in_words_who_did_what_to_which_record(persona: Any, signed_in: Any,
                                                             school_year_2026: None) -> None:
    admin = persona("bd_admin")
    middle = next(s["id"] for s in admin.get("/api/schools").json() if s["kind"] == "middle")
    import secrets

    u = secrets.token_hex(2)
    klass = admin.post("/api/classes", json={"school_id": middle, "grade": 7, "name": f"七年级（{u}）班",
                                             "entry_year": 2026}).json()
    r = admin.patch(f"/api/classes/{klass['id']}", json={"grade": 8, "name": f"八年级（{u}）班", "entry_year": 2025})
    assert r.status_code == 200, r.text
    page = signed_in("bd_leader").get("/audit?event=tenancy:class:updated")
    rows = _table_text(page.text)
    me = admin.me()
    assert me["display_name"] in rows and "系统管理员" in rows and "修改班级" in rows
    assert f"班级 八年级（{u}）班" in rows and "年级 七年级 → 八年级" in rows and "入学年份 2026 → 2025" in rows
    for code in ("tenancy:class:updated", "school_classes", "grade", "entry_year", "{", "users "):
        assert code not in rows, code
    # The filter offers Chinese labels whose values are the codes.
    assert '<option value="tenancy:class:updated" selected>修改班级</option>' in page.text


def test_ids_inside_changes_are_named(persona: Any, signed_in: Any) -> None:
    admin = persona("bd_admin")
    school = next(s for s in admin.get("/api/schools").json() if s["kind"] == "middle")
    import secrets

    r = admin.post("/api/people", json={"username": f"audit_{secrets.token_hex(3)}", "display_name": "日志测试",
                                        "password": "Audit2026x", "role": "principal", "school_id": school["id"]})
    assert r.status_code == 201, r.text
    rows = _table_text(signed_in("bd_leader").get("/audit?event=tenancy:membership:added").text)
    assert f"学校 {school['name']}" in rows and "角色 校长" in rows and "人员 日志测试" in rows


def test_a_childs_name_reaches_only_those_who_may_read_the_roll(persona: Any, signed_in: Any, demo: Any,
                                                               db_session: Any, townships: dict[str, int]) -> None:
    from sqlalchemy import select

    from baoxue.platform.audit import AuditEvent
    from baoxue.platform.audit_view import describe
    from baoxue.platform.permissions import Permission

    teacher = persona("bd_mid_teacher")
    student = teacher.get("/api/students").json()[0]
    teacher.get(f"/api/students/{student['id']}")  # an audited view of the full record
    leader_rows = _table_text(signed_in("bd_leader").get("/audit?event=students:student:personal_viewed").text)
    assert f"学生 {student['name']}" in leader_rows

    class NoRoll:  # a role that may read the trail but not the roll (none does today)
        def can(self, permission: str) -> bool:
            return permission != Permission.STUDENT_READ

    session = db_session(townships["DEMO-BD"])
    events = list(session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "students",
                                                           AuditEvent.entity_id == str(student["id"]))))
    (row, *_) = describe(session, NoRoll(), events)
    assert row.record_kind == "学生" and row.record_name == str(student["id"]) and row.what == "查看学生完整信息"


def test_the_trail_names_records_with_one_query_per_kind(signed_in: Any, demo: Any) -> None:
    leader = signed_in("bd_leader")
    leader.get("/audit")
    with count_queries(demo) as full:
        assert leader.get("/audit").status_code == 200
    with count_queries(demo) as denied_only:
        leader.get("/audit?outcome=denied")
    # A page of up to 100 rows: the session, the rows, the people, one query per kind of record
    # named on it (never one per row: no table is read twice), however many kinds there are.
    from collections import Counter

    from baoxue.platform.labels import entities

    tables = Counter(found.group(1) for q in full if (found := re.search(r"FROM (\w+)", q)))
    # Read for the signing-in too: the person (and the page's and the filter's people), their memberships.
    signing_in = {"users": 3, "memberships": 2}
    assert all(n <= signing_in.get(table, 1) for table, n in tables.items()), tables
    assert len(full) <= 11 + len(entities()), "\n".join(q[:120] for q in full)
    assert len(denied_only) <= len(full)
