"""The township office follows a number on its dashboard down to the case behind it; the county
viewer sees the two townships side by side and no child, in a real browser."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from baoxue.platform.db import cross_township_session
from baoxue.tenants.students.models import Student
from tests.browser.conftest import shot
from tests.browser.test_pages import login


def test_the_office_follows_an_overdue_number_down_to_the_case(page: Any, live_server: str) -> None:
    login(page, live_server, "bd_office")
    page.click("nav >> text=看板")
    expect(page.locator("h1")).to_contain_text("乡镇看板")
    shot(page, "dashboard-office")
    links = page.locator("#unit-rows a.overdue-link")
    assert links.count() > 0
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    for href in hrefs:  # the units needing attention first; the first with a case's item
        page.goto(f"{live_server}{href}")
        cases = page.locator("#overdue-items a[href^='/cases/']")
        if cases.count():
            title = cases.first.inner_text()
            cases.first.click()
            page.wait_for_url(re.compile(r"/cases/\d+$"))
            shot(page, "dashboard-case")
            assert title.split("：")[0] in page.locator("main").inner_text()  # the child the item names
            return
    raise AssertionError("no overdue item of any unit is about a case")


def test_the_county_viewer_sees_two_townships_and_no_child(page: Any, live_server: str, demo: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/login")
    page.fill("#username", "county_edu")
    page.fill("#password", "baoxue2026")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/county")
    shot(page, "county-phone")
    rows = page.locator("#county-townships tbody tr td.primary").all_inner_texts()
    assert rows == ["板当镇", "龙岗乡"]
    text = page.locator("main").inner_text()
    with cross_township_session("tests: every child's name", demo) as s:
        names = set(s.scalars(select(Student.name)))
    assert not any(name in text for name in names if len(name) >= 2)
    assert page.locator("nav >> text=学生").count() == 0
