"""What a class teacher and the leading-group leader see, in a real browser."""

from typing import Any

from sqlalchemy import select

from baoxue.platform.db import cross_township_session
from baoxue.tenants.tenancy.models import School
from tests.browser.conftest import shot


def login(page: Any, base: str, username: str, password: str = "baoxue2026") -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _schools(settings: Any, township_id: int) -> list[str]:
    with cross_township_session("tests: school names", settings) as s:
        return list(s.scalars(select(School.name).where(School.township_id == township_id)))


def test_class_teacher_sees_only_their_school(page: Any, live_server: str, demo: Any,
                                              townships: dict[str, int]) -> None:
    login(page, live_server, "bd_mid_teacher")
    shot(page, "class-teacher-home")
    header = page.locator("header").inner_text()
    assert "班主任" in header
    own = [n for n in _schools(demo, townships["DEMO-BD"]) if n in page.locator("main").inner_text()]
    assert len(own) == 1, own
    page.click("nav >> text=学生")
    page.wait_for_selector("#student-rows")
    shot(page, "class-teacher-students")
    school_cells = page.locator("#student-rows tr td:nth-child(3)").all_inner_texts()
    assert school_cells and set(school_cells) == {own[0]}
    assert "*" in page.locator("#student-rows tr td:nth-child(6)").first.inner_text()  # masked in lists
    for name in _schools(demo, townships["DEMO-LG"]):
        assert name not in page.content()


def test_leader_sees_the_whole_township(page: Any, live_server: str, demo: Any, townships: dict[str, int]) -> None:
    login(page, live_server, "bd_leader")
    shot(page, "leader-home")
    main = page.locator("main").inner_text()
    assert "板当镇" in main
    for name in _schools(demo, townships["DEMO-BD"]):
        assert name in main
    for name in _schools(demo, townships["DEMO-LG"]):
        assert name not in page.content()
    assert "龙岗" not in page.content()


def test_wrong_password_shows_a_chinese_message(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/login")
    page.fill("#username", "bd_leader")
    page.fill("#password", "not-the-password1")
    page.click("button[type=submit]")
    assert "用户名或密码不正确" in page.locator(".errors").inner_text()
    shot(page, "login-error")
