"""A school refers a case to the labour office, the labour office accepts and resolves it, and the
school reads the outcome on the case and confirms it, in a real browser (two people, two windows)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_pages import login
from tests.tenants.referrals.helpers import open_case

OUTCOME = "已到鞋厂核查，责令辞退，孩子已回家（浏览器测试）。"


def test_a_school_refers_the_labour_office_resolves_and_the_school_sees_the_outcome(
        chromium: Any, live_server: str, demo: Any, townships: dict[str, int]) -> None:
    case_id = open_case(demo, townships["DEMO-LG"])
    school = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800}).new_page()
    labour = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}).new_page()
    try:
        login(school, live_server, "lg_mid_academic")
        school.goto(f"{live_server}/cases/{case_id}")
        school.click("text=转介部门")
        school.select_option("#f-kind", "child_labour")
        school.select_option("#f-department", label="社保中心（劳动）")
        school.fill("#f-reason", "家长说孩子去了广东的鞋厂打工（浏览器测试）。")
        school.click("button:has-text('转介')")
        expect(school.locator("h1")).to_contain_text("待受理")
        ticket_url = school.url.split("?")[0]

        login(labour, live_server, "lg_labour")
        labour.goto(ticket_url)
        expect(labour.locator("#child")).to_contain_text("身份证号")
        labour.click("#actions button:has-text('受理')")
        expect(labour.locator("h1")).to_contain_text("已受理")
        labour.fill("#note-resolve", OUTCOME)
        labour.click("#actions button:has-text('办结')")
        expect(labour.locator("#referral-outcome")).to_have_text(OUTCOME)
        shot(labour, "referral-labour-resolved-phone")

        school.goto(f"{live_server}/cases/{case_id}")
        expect(school.locator("#timeline")).to_contain_text(OUTCOME)  # the outcome, on the case
        school.goto(ticket_url)
        school.click("#actions button:has-text('确认关闭')")
        expect(school.locator("h1")).to_contain_text("已关闭")
        labour.goto(ticket_url)
        expect(labour.locator("#child")).to_contain_text("不再对本部门开放")
    finally:
        school.context.close()
        labour.context.close()
