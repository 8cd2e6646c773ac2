"""A class teacher reports today's absences on a phone, in a real browser, with the keyboard and
a tap; the next morning's escalation job, run by a real worker, has the steps on the right lists:
the call home on the teacher's (overdue), and on the principal's as a subordinate's overdue step."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

import pytest
from sqlalchemy import select

from baoxue.platform.clock import CHINA, clock
from baoxue.platform.db import cross_township_session, new_session
from baoxue.platform.jobs import request_job, township_context
from baoxue.tenants.attendance.tasks import escalate_key
from baoxue.tenants.school_calendar.service import Calendar
from baoxue.tenants.students.models import Student
from tests.browser.conftest import shot
from tests.browser.test_pages import login
from tests.tenants.cases.helpers import caseless_child
from tests.tenants.status_changes.helpers import login_actor
from tests.workers.conftest import app_broker, finished, private_broker, start_worker, wait_for  # noqa: F401

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def held() -> Iterator[None]:
    yield
    clock.unfreeze()


def _next_school_days(settings: Any, township_id: int, school_id: int) -> tuple[date, date]:
    """The first two school days after today: days the demo has not reported."""
    with cross_township_session("tests: the calendar", settings) as s:
        from baoxue.platform.db import TenantContext, set_tenant
        from baoxue.platform.scoping import Scope

        set_tenant(s, TenantContext(scope=Scope.township(township_id)))
        calendar = Calendar.load(s, [school_id])
        first = calendar.after(school_id, clock.today(), 1)
        return first, calendar.after(school_id, first, 1)


def test_a_teacher_reports_absences_on_a_phone_and_the_morning_job_lists_the_steps(
        chromium: Any, live_server: str, demo: Any, townships: dict[str, int], held: None,
        private_broker: Any, app_broker: Any, start_worker: Any) -> None:  # noqa: F811
    township = townships["DEMO-LG"]
    teacher = login_actor(demo, "lg_mid_teacher")
    class_id = teacher.membership.class_ids[0]
    away, ill = caseless_child(demo, class_id), None
    with cross_township_session("tests: the class", demo) as s:
        school_id = s.scalar(select(Student.school_id).where(Student.id == away))
        names = dict(s.execute(select(Student.id, Student.name).where(Student.class_id == class_id)).all())
    ill = caseless_child(demo, class_id, taken={away})
    day1, day2 = _next_school_days(demo, township, school_id)
    clock.freeze(datetime.combine(day1, time(8, 20), CHINA))

    context = chromium.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        login(page, live_server, "lg_mid_teacher")
        # The first screen says what to do today: the class's daily report.
        page.click("text=提交今天的到校日报告")
        page.wait_for_selector("#sheet")
        assert page.locator("[data-roll-row]").count() >= 20
        marked = page.locator(".roll input[type=radio]:checked:not([value=present])").count()  # leave already granted
        # The keyboard alone: focus the child's choice, press 3 (旷课); focus moves to the next child.
        row = page.locator("[data-roll-row]", has_text=names[away])
        row.locator("input[value=present]").focus()
        page.keyboard.press("3")
        assert row.locator("input[value=unexcused]").is_checked()
        # A tap for another: 病假, with a note.
        other = page.locator("[data-roll-row]", has_text=names[ill])
        other.locator("label.seg-sick").tap()
        other.locator(".roll-note").fill("发烧，家长电话请假")
        assert f"缺勤或迟到 {marked + 2} 人" in page.locator("[data-roll-count]").inner_text()
        shot(page, "attendance-class-day-phone")
        page.click("#sheet button[type=submit]")
        page.wait_for_selector("text=已保存")
        assert page.locator("[data-roll-row]", has_text=names[away]).locator("input[value=unexcused]").is_checked()
        # Same day: the call home is already on the teacher's list (辍学上报不过夜).
        page.goto(f"{live_server}/worklist")
        assert f"联系监护人：{names[away]}" in page.locator("main").inner_text()
        assert names[ill] not in page.locator("main").inner_text()  # excused: never escalates
    finally:
        context.close()

    # The next morning, 06:00: the township's escalation job, on a real worker.
    app_broker(private_broker)
    start_worker(private_broker)
    clock.freeze(datetime.combine(day2, time(6, 0), CHINA))
    key = escalate_key(day2)
    session = new_session(township_context(township), demo)
    try:
        request_job(session, township, "escalate_absences", key)
        session.commit()
    finally:
        session.close()
    run = wait_for(lambda: finished(demo, township, key))
    assert run.status == "done", run.error
    assert run.result["open_spells"] >= 1

    clock.freeze(datetime.combine(day2, time(7, 30), CHINA))
    for username, section, text in (("lg_mid_teacher", "main", f"联系监护人：{names[away]}"),
                                    ("lg_mid_principal", "main", f"联系监护人：{names[away]}")):
        context = chromium.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
        page = context.new_page()
        try:
            login(page, live_server, username)
            page.goto(f"{live_server}/worklist")
            main = page.locator(section).inner_text()
            assert text in main, main
            if username == "lg_mid_principal":
                assert "下属逾期未办" in main  # the teacher's overdue call, for their superior
            else:
                assert "已逾期" in main
            shot(page, f"attendance-worklist-{username}")
        finally:
            context.close()
