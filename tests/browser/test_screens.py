"""The student list, the audit trail and an error page, on a 390 px phone and a laptop, as three roles.

Screenshots land in var/test-artifacts/ (look at them); the assertions hold what they showed:
no sideways scrolling on a phone, names on one line, the live search and its filters working.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_pages import login

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
ROLES = ("bd_leader", "bd_village1", "bd_mid_subject")


def _no_sideways_scroll(page: Any) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px"


@pytest.mark.parametrize("username", ROLES)
@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_students_audit_and_an_error_page(chromium: Any, live_server: str, username: str, size: str) -> None:
    viewport = PHONE if size == "phone" else LAPTOP
    context = chromium.new_context(locale="zh-CN", viewport=viewport)
    page = context.new_page()
    try:
        login(page, live_server, username)
        page.goto(f"{live_server}/students")
        page.wait_for_selector("#student-rows")
        shot(page, f"students-{username}-{size}")
        _no_sideways_scroll(page)
        name = page.locator("#student-rows td.primary").first
        line = page.evaluate("parseFloat(getComputedStyle(document.querySelector('#student-rows td.primary')).lineHeight)")
        assert name.bounding_box()["height"] < 2 * line, "a student's name wraps"
        if size == "phone":  # one card per child: every cell says what it is
            assert page.locator("#student-rows td[data-label='班级']").first.is_visible()
            assert page.locator("table.stack thead").first.bounding_box()["height"] <= 1  # headings: for screen readers

        page.goto(f"{live_server}/audit")
        shot(page, f"audit-{username}-{size}")
        _no_sideways_scroll(page)
        text = page.locator("main").inner_text()
        if username == "bd_leader":
            assert "操作日志" in text and "登录成功" in text and "identity:" not in text
        else:
            assert "没有权限" in text

        page.goto(f"{live_server}/students?school_id=abc")
        shot(page, f"error-{username}-{size}")
        _no_sideways_scroll(page)
        text = page.locator("main").inner_text()
        assert "请求内容有误" in text and "school_id" not in text
    finally:
        context.close()


def test_the_live_search_filters_and_keeps_the_url(page: Any, live_server: str) -> None:
    login(page, live_server, "bd_leader")
    page.goto(f"{live_server}/students")
    page.wait_for_selector("#student-rows")
    total = page.locator(".result-summary strong").inner_text()
    with page.expect_response(lambda r: "/students?" in r.url and "grade=7" in r.url) as answer:
        page.select_option("select[name=grade]", "7")
    assert answer.value.status == 200
    # Locator assertions poll without eval, which the page's CSP (script-src 'self') forbids.
    expect(page.locator(".result-summary strong")).not_to_have_text(total)
    assert "grade=7" in page.url  # a filtered list can be bookmarked and reloaded
    classes = set(page.locator("#student-rows td[data-label='班级']").all_inner_texts())
    assert classes and all(c.startswith("七年级") for c in classes)
    with page.expect_response(lambda r: "page=2" in r.url) as answer:
        page.click(".pager >> text=下一页")
    assert answer.value.status == 200
    expect(page.locator(".pager")).to_contain_text("第 2 /")
    shot(page, "students-live-search")


def test_htmx_sends_the_csrf_token(page: Any, live_server: str) -> None:
    """The header htmx adds to every request is the page's token, not a function's repr."""
    login(page, live_server, "bd_office")
    headers = json.loads(page.get_attribute("body", "hx-headers"))
    (name, token), = headers.items()
    assert name.lower() == "x-csrftoken" and token and "function" not in token
    with page.expect_response(lambda r: r.url.endswith("/logout")) as answer:
        page.evaluate("htmx.ajax('POST', '/logout', {target: 'main', swap: 'none'})")
    assert answer.value.status in (200, 302, 303)
