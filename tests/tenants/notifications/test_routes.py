"""The header's count and the list, over the demo: each login reads its own, read and unread;
opening one marks it read and goes where it leads (POST, 303); another's is the one 404; the
e-mail address is the person's own and refused in Chinese when it is not one."""

from __future__ import annotations

import uuid
from typing import Any

from baoxue.platform.permissions import UnitKind
from baoxue.tenants.worklist.service import Owner
from tests.pages import csrf_token, parse, visible_text
from tests.tenants.notifications.helpers import membership_of, rows, tell


def _key() -> str:
    return f"test:{uuid.uuid4().hex[:12]}"


def test_every_demo_login_has_read_and_unread_notifications(persona: Any) -> None:
    for username in ("bd_mid_teacher", "bd_labour", "bd_justice", "bd_cps_teacher", "lg_mid_teacher"):
        mine = persona(username).get("/api/notifications").json()
        assert mine["unread"] > 0 and any(not n["unread"] for n in mine["items"]), (username, mine)


def test_the_header_counts_and_the_list_shows_newest_first_unread_marked(
        demo: Any, signed_in: Any, townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    me = membership_of(demo, "bd_cps_subject")
    browser = signed_in("bd_cps_subject")
    home = browser.get("/")
    assert 'hx-get="/notifications/count"' in home.text and "/notifications" in parse(home.text).links
    before = browser.get("/notifications/count").text
    key = _key()
    tell(demo, bd, key, [Owner(UnitKind.SCHOOL, None, membership_id=me)], kind="task",
         text="新任务：本周内完成学籍核对", href="/worklist")
    count = visible_text(browser.get("/notifications/count").text)
    assert count and count != visible_text(before)
    listing = browser.get("/notifications")
    assert listing.status_code == 200
    text = visible_text(listing.text)
    assert "新任务：本周内完成学籍核对" in text and "新任务" in text and "未读" in text
    assert text.index("新任务：本周内完成学籍核对") < text.index("邮件通知")  # the newest first
    (n,) = rows(demo, bd, key)
    assert f'action="/notifications/{n.id}/read"' in listing.text  # unread: a form that marks it read
    opened = browser.post(f"/notifications/{n.id}/read", data={"_csrf_token": csrf_token(listing.text)},
                          follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/worklist"
    assert rows(demo, bd, key)[0].read_at is not None
    again = browser.get("/notifications")
    assert f'action="/notifications/{n.id}/read"' not in again.text and 'href="/worklist"' in again.text
    assert browser.post(f"/notifications/{n.id}/read", data={}, follow_redirects=False).status_code == 403  # no CSRF


def test_anothers_notification_is_not_found_on_the_api_and_the_pages(
        demo: Any, persona: Any, signed_in: Any, townships: dict[str, int]) -> None:
    bd, lg = townships["DEMO-BD"], townships["DEMO-LG"]
    key = _key()
    tell(demo, bd, key, [Owner(UnitKind.SCHOOL, None, membership_id=membership_of(demo, "bd_mid_principal"))])
    (theirs,) = rows(demo, bd, key)
    for username in ("bd_mid_academic", "bd_leader", "lg_leader"):
        assert persona(username).post(f"/api/notifications/{theirs.id}/read").status_code == 404
        assert theirs.id not in [n["id"] for n in persona(username).get("/api/notifications").json()["items"]]
    browser = signed_in("bd_mid_academic")
    token = csrf_token(browser.get("/notifications").text)
    assert browser.post(f"/notifications/{theirs.id}/read", data={"_csrf_token": token},
                        follow_redirects=False).status_code == 404
    assert rows(demo, bd, key)[0].read_at is None
    assert lg  # the other township's leader was tried above


def test_the_api_marks_one_then_all_read(demo: Any, persona: Any, townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    me = membership_of(demo, "bd_cps_academic")
    keys = [_key(), _key()]
    for key in keys:
        tell(demo, bd, key, [Owner(UnitKind.SCHOOL, None, membership_id=me)], kind="circular", text="通报：第二次")
    api = persona("bd_cps_academic")
    listed = api.get("/api/notifications", params={"unread_only": "true"}).json()
    ids = {rows(demo, bd, key)[0].id for key in keys}
    assert ids <= {n["id"] for n in listed["items"]} and all(n["unread"] for n in listed["items"])
    one = api.post(f"/api/notifications/{min(ids)}/read").json()
    assert one["read_at"] and not one["unread"] and one["kind_label"] == "通报"
    done = api.post("/api/notifications/read-all").json()
    assert done["marked"] >= 1 and done["unread"] == 0
    assert api.get("/api/notifications").json()["unread"] == 0
    assert api.post(f"/api/notifications/{min(ids)}/read").status_code == 200  # read again: nothing changes


def test_the_page_marks_all_read(demo: Any, signed_in: Any, townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    tell(demo, bd, _key(), [Owner(UnitKind.VILLAGE, None, membership_id=membership_of(demo, "bd_village2"))],
         kind="meeting", text="会议：本周五召开控辍保学推进会")
    browser = signed_in("bd_village2")
    page = browser.get("/notifications")
    assert "全部标为已读" in page.text
    done = browser.post("/notifications/read-all", data={"_csrf_token": csrf_token(page.text)}, follow_redirects=False)
    assert done.status_code == 303
    assert visible_text(browser.get("/notifications/count").text) == ""
    assert "没有未读通知" in visible_text(browser.get("/notifications").text)


def test_the_email_address_is_ones_own_and_checked(persona: Any, signed_in: Any) -> None:
    api = persona("bd_youth")
    bad = api.put("/api/notifications/email", json={"email": "不是邮箱"})
    assert bad.status_code == 400 and "电子邮箱" in bad.text
    assert api.put("/api/notifications/email", json={"email": "youth@bandang.example.cn"}).json() == {
        "email": "youth@bandang.example.cn"}
    browser = signed_in("bd_youth")
    page = browser.get("/notifications")
    assert 'value="youth@bandang.example.cn"' in page.text
    refused = browser.post("/notifications/email", data={"_csrf_token": csrf_token(page.text), "email": "a@b"})
    assert refused.status_code == 400 and "请填写正确的电子邮箱地址" in visible_text(refused.text)
    cleared = browser.post("/notifications/email", data={"_csrf_token": csrf_token(page.text), "email": ""},
                           follow_redirects=False)
    assert cleared.status_code == 303
    assert api.put("/api/notifications/email", json={"email": ""}).json() == {"email": ""}
