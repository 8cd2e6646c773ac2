"""The office assigns a task to a school, the principal (on a phone) uploads the evidence and
submits it, the office accepts it: in a real browser, two people, two windows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from baoxue.platform.clock import clock
from tests.browser.conftest import shot
from tests.browser.test_pages import login
from tests.tenants.tasks.helpers import PDF

TITLE = "上报本学期家访登记表（浏览器测试）"


def test_the_office_assigns_the_principal_submits_the_office_accepts(
        chromium: Any, live_server: str, tmp_path: Path) -> None:
    office = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800}).new_page()
    principal = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}).new_page()
    evidence = tmp_path / "家访登记表.pdf"
    evidence.write_bytes(PDF)
    try:
        login(office, live_server, "lg_office")
        office.goto(f"{live_server}/tasks")
        office.click("text=下达任务")
        office.fill("#f-title", TITLE)
        office.fill("#f-deadline", (clock.today() + timedelta(days=5)).isoformat())
        office.check("input[name=evidence][value=files]")
        office.check("label.check:has-text('龙岗中学') input")
        office.click("button:has-text('下达')")
        expect(office.locator("#task-copies")).to_contain_text("待办理")
        shot(office, "task-assigned")

        login(principal, live_server, "lg_mid_principal")
        expect(principal.locator("body")).to_contain_text(TITLE)  # on the first screen's worklist
        principal.goto(f"{live_server}/tasks")
        principal.click(f"text={TITLE}")
        principal.set_input_files("#f-file", str(evidence))
        principal.click("#evidence button:has-text('上传')")
        expect(principal.locator("#evidence-list")).to_contain_text("家访登记表.pdf")
        principal.fill("#note-submit", "本学期家访 46 户，登记表已上传。")
        principal.click("#step-submit button")
        expect(principal.locator("#copy-state")).to_have_text("待验收")
        shot(principal, "task-submitted-phone")
        copy_url = principal.url.split("?")[0]

        office.goto(f"{live_server}/")
        expect(office.locator("body")).to_contain_text(f"验收任务：龙岗中学“{TITLE}”")
        office.goto(copy_url)
        expect(office.locator("#copy-note")).to_have_text("本学期家访 46 户，登记表已上传。")
        office.click("#step-accept button")
        expect(office.locator("#copy-state")).to_have_text("已验收")
        principal.goto(copy_url)
        expect(principal.locator("#task-steps")).to_contain_text("验收通过")
    finally:
        office.context.close()
        principal.context.close()


def test_the_leading_groups_agenda_lists_an_overdue_ticket_of_another_case(
        chromium: Any, live_server: str, demo: Any, townships: dict[str, int]) -> None:
    from sqlalchemy import select

    from baoxue.platform.db import cross_township_session
    from baoxue.tenants.referrals.models import Referral

    with cross_township_session("tests: an overdue ticket", demo) as s:
        number = s.scalars(select(Referral.number).where(
            Referral.township_id == townships["DEMO-LG"], Referral.case_id.is_not(None), Referral.state == "opened",
            Referral.respond_by < clock.today()).order_by(Referral.number).limit(1)).one()
    office = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800}).new_page()
    try:
        login(office, live_server, "lg_office")
        office.goto(f"{live_server}/meetings")
        office.fill("#p-attendees", "乡长、分管副乡长、各成员单位负责人（浏览器测试）")
        office.click("#prepare button:has-text('生成议题')")
        agenda = office.locator("#agenda")
        expect(agenda).to_contain_text(f"转介单第{number}号")
        expect(agenda.locator(f"li:has-text('转介单第{number}号')")).to_contain_text("逾期")
        shot(office, "leading-group-agenda")
    finally:
        office.context.close()
