"""The audit trail page: the township sees and filters its own trail, no one else's."""

from typing import Any

from litestar.testing import TestClient

from tests.platform.test_identity import page_login


def test_leader_filters_the_trail_by_person_and_outcome(app: Any, persona: Any) -> None:
    teacher = persona("bd_mid_teacher")
    assert teacher.get("/api/students/999999").status_code == 404  # a refused attempt, audited
    teacher_id = teacher.me()["user_id"]
    with TestClient(app, base_url="http://testserver.local") as browser:
        page_login(browser, "bd_leader", "baoxue2026")
        page = browser.get(f"/audit?outcome=denied&user_id={teacher_id}")
        assert page.status_code == 200 and "操作日志" in page.text
        assert "access:denied" in page.text and "被拒绝" in page.text
        assert "identity:login:succeeded" not in page.text
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
