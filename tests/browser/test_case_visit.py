"""A class teacher records a home visit with a photo (and the guardian's signature) from the case
page, in a real browser; the principal sees it on the case's timeline and in the register."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import shot
from tests.browser.test_pages import login
from tests.tenants.cases.helpers import caseless_child, jpeg
from tests.tenants.status_changes.helpers import login_actor

FOUND = "孩子在家帮忙看店，答应周一回校（浏览器测试）。"


def test_a_teacher_records_a_visit_with_a_photo_and_the_principal_sees_it(
        page: Any, chromium: Any, live_server: str, demo: Any, tmp_path: Path) -> None:
    teacher = login_actor(demo, "lg_mid_teacher")
    child = caseless_child(demo, teacher.membership.class_ids[0])
    photo = tmp_path / "IMG_0420.jpg"
    photo.write_bytes(jpeg(gps=True, size=(640, 480)))

    login(page, live_server, "lg_mid_teacher")
    page.goto(f"{live_server}/cases/new?student_id={child}")
    page.fill("#f-note", "今天未到校，未请假。")
    page.click("text=建立个案")
    page.wait_for_selector("#timeline")
    case_url = page.url.split("?")[0]

    page.check("input[name=mode][value=home]")
    page.fill("#f-met", "父亲")
    page.fill("#f-found", FOUND)
    page.select_option("#f-reason_code", "weary")
    page.set_input_files("#f-photos", str(photo))
    pad = page.locator("#f-signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 40)
    page.mouse.down()
    for x, y in ((80, 20), (140, 60), (220, 30), (300, 70)):
        page.mouse.move(box["x"] + x, box["y"] + y, steps=4)
    page.mouse.up()
    page.click("text=保存家访记录")
    page.wait_for_selector("text=已保存")
    shot(page, "case-visit-recorded")
    timeline = page.locator("#timeline").inner_text()
    assert "第1次劝返" in timeline and FOUND in timeline
    assert page.locator("#timeline img[alt^=家访照片]").count() == 1
    assert page.locator("#timeline img.signature").count() == 1

    principal = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800}).new_page()
    try:
        login(principal, live_server, "lg_mid_principal")
        principal.goto(case_url)
        timeline = principal.locator("#timeline").inner_text()
        assert FOUND in timeline
        image = principal.locator("#timeline img[alt^=家访照片]").first
        image.wait_for()
        assert principal.evaluate("img => img.complete && img.naturalWidth > 0", image.element_handle())
        principal.goto(f"{live_server}/cases/registers")
        row = principal.locator("#teacher-visits tr", has_text=teacher.display_name)
        assert row.count() >= 1 and int(row.first.locator("td.num").first.inner_text()) >= 1
        shot(principal, "case-visit-register")
    finally:
        principal.context.close()
