"""The central school's first screen on a phone: its worklist, overdue first, leads to the work.

The demo leaves one transfer inside each township unconfirmed past the township's days: the
central school's home opens on it, the menu counts it, and the item opens the transfer with
every step so far.
"""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import shot
from tests.browser.test_screens import PHONE, _no_sideways_scroll
from tests.browser.test_pages import login


def test_the_central_school_opens_on_its_overdue_transfer(chromium: Any, live_server: str) -> None:
    context = chromium.new_context(locale="zh-CN", viewport=PHONE)
    page = context.new_page()
    try:
        login(page, live_server, "bd_cps_academic")
        assert "已逾期" in page.locator("section.todo").inner_text()
        overdue = page.locator("section.todo a", has_text="转学超期未确认").first
        assert overdue.count() == 1, page.locator("section.todo").inner_text()
        badge = page.locator("nav.sidenav a[href='/worklist'] .badge")
        badge.wait_for()
        assert int(badge.inner_text()) >= 1
        shot(page, "central-school-home-phone")
        _no_sideways_scroll(page)
        overdue.click()
        page.wait_for_selector("text=中心校备案")
        shot(page, "transfer-in-progress-phone")
        _no_sideways_scroll(page)
        text = page.locator("main").inner_text()
        assert "转学中" in text and "校长审批" in text and "转入学校确认到校" in text
    finally:
        context.close()
