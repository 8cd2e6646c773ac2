"""Login, sessions, CSRF, lock-out, expiry, logout, password change, switching memberships."""

import re
import secrets
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from baoxue.platform.audit import AuditEvent
from baoxue.platform.clock import clock
from baoxue.platform.db import cross_township_session
from baoxue.platform.identity import hash_password
from baoxue.platform.permissions import Role
from baoxue.tenants.tenancy.models import Membership, School, Township, User

PASSWORD = "start2026pass"


@pytest.fixture
def fresh_user(demo: Any, townships: dict[str, int]) -> dict[str, Any]:
    """A throwaway class teacher of 板当镇's middle school, so lock-outs touch no shared persona."""
    username = f"t_{secrets.token_hex(4)}"
    with cross_township_session("tests: fresh user", demo) as s:
        school = s.scalars(select(School).where(School.township_id == townships["DEMO-BD"],
                                                School.kind == "middle").order_by(School.id)).first()
        user = User(username=username, display_name="测试教师", password_hash=hash_password(PASSWORD))
        s.add(user)
        s.flush()
        s.add(Membership(township_id=townships["DEMO-BD"], user_id=user.id, role=Role.CLASS_TEACHER.value,
                         school_id=school.id))
        return {"username": username, "id": user.id}


@pytest.fixture
def browser(app: Any) -> Any:
    with TestClient(app, base_url="http://testserver.local") as c:
        yield c


def page_login(c: TestClient[Any], username: str, password: str, next_path: str = "/") -> Any:
    c.get("/login")
    token = c.cookies.get("csrftoken")
    return c.post("/login", data={"username": username, "password": password, "next": next_path,
                                  "_csrf_token": token}, follow_redirects=False)


def test_page_login_sets_an_httponly_samesite_cookie_and_lands_home(browser: Any) -> None:
    r = page_login(browser, "bd_leader", "baoxue2026")
    assert r.status_code in (302, 303), r.text
    cookie = r.headers["set-cookie"]
    assert "baoxue_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    home = browser.get("/")
    assert home.status_code == 200 and "板当镇" in home.text


def test_wrong_password_says_so_in_chinese_and_is_audited(browser: Any, fresh_user: dict[str, Any],
                                                          demo: Any) -> None:
    r = page_login(browser, fresh_user["username"], "wrong-password1")
    assert r.status_code == 400 and "用户名或密码不正确" in r.text
    with cross_township_session("tests: read audit", demo) as s:
        events = s.scalars(select(AuditEvent.event).where(AuditEvent.user_id == fresh_user["id"])).all()
    assert "identity:login:failed" in events


def test_form_without_csrf_token_is_refused(browser: Any) -> None:
    browser.get("/login")
    r = browser.post("/login", data={"username": "bd_leader", "password": "baoxue2026"}, follow_redirects=False)
    assert r.status_code == 403 and "页面已过期" in r.text


def test_open_redirect_is_not_followed(browser: Any) -> None:
    r = page_login(browser, "bd_leader", "baoxue2026", next_path="https://evil.example/")
    assert r.headers["location"] == "/"


def test_lock_out_after_repeated_failures(client: Any, fresh_user: dict[str, Any], demo: Any) -> None:
    for _ in range(demo.login_max_failures):
        assert client.post("/api/auth/token", json={"username": fresh_user["username"],
                                                    "password": "nope-nope-1"}).status_code == 401
    r = client.post("/api/auth/token", json={"username": fresh_user["username"], "password": PASSWORD})
    assert r.status_code == 401 and "锁定" in r.json()["detail"]
    clock.freeze(clock.now() + timedelta(minutes=demo.login_lockout_minutes + 1))
    try:
        assert client.post("/api/auth/token", json={"username": fresh_user["username"],
                                                    "password": PASSWORD}).status_code == 201
    finally:
        clock.unfreeze()


def test_sessions_expire_when_idle(browser: Any, demo: Any) -> None:
    page_login(browser, "bd_leader", "baoxue2026")
    assert browser.get("/", follow_redirects=False).status_code == 200
    clock.freeze(clock.now() + timedelta(minutes=demo.session_idle_minutes + 1))
    try:
        assert browser.get("/", follow_redirects=False).status_code in (302, 303)
    finally:
        clock.unfreeze()


def test_tokens_expire(client: Any, fresh_user: dict[str, Any], demo: Any) -> None:
    token = client.post("/api/auth/token", json={"username": fresh_user["username"],
                                                 "password": PASSWORD}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=headers).status_code == 200
    clock.freeze(clock.now() + timedelta(hours=demo.session_absolute_hours + 1))
    try:
        assert client.get("/api/me", headers=headers).status_code == 401
    finally:
        clock.unfreeze()


def test_logout_revokes_the_token(client: Any, fresh_user: dict[str, Any]) -> None:
    token = client.post("/api/auth/token", json={"username": fresh_user["username"],
                                                 "password": PASSWORD}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.delete("/api/auth/token", headers=headers).status_code == 204
    assert client.get("/api/me", headers=headers).status_code == 401


def test_page_logout(browser: Any) -> None:
    page_login(browser, "bd_leader", "baoxue2026")
    csrf = browser.cookies.get("csrftoken")
    r = browser.post("/logout", data={"_csrf_token": csrf}, follow_redirects=False)
    assert r.status_code in (302, 303)
    assert browser.get("/", follow_redirects=False).status_code in (302, 303)


def test_cookie_does_not_drive_the_api_and_token_does_not_drive_pages(browser: Any, client: Any) -> None:
    page_login(browser, "bd_leader", "baoxue2026")
    assert browser.get("/api/me").status_code == 401
    token = client.post("/api/auth/token", json={"username": "bd_leader", "password": "baoxue2026"}).json()["token"]
    page = client.get("/", headers={"Authorization": f"Bearer {token}"}, follow_redirects=False)
    assert page.status_code in (302, 303)


def test_password_change_names_the_field_and_ends_other_sessions(client: Any, fresh_user: dict[str, Any]) -> None:
    login = {"username": fresh_user["username"], "password": PASSWORD}
    first = {"Authorization": f"Bearer {client.post('/api/auth/token', json=login).json()['token']}"}
    second = {"Authorization": f"Bearer {client.post('/api/auth/token', json=login).json()['token']}"}
    bad = client.post("/api/me/password", headers=first, json={"current_password": "wrong", "new_password": "short"})
    assert bad.status_code == 400
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {"current_password", "new_password"}
    ok = client.post("/api/me/password", headers=first,
                     json={"current_password": PASSWORD, "new_password": "newpass2026x"})
    assert ok.status_code == 201, ok.text
    assert client.get("/api/me", headers=first).status_code == 200
    assert client.get("/api/me", headers=second).status_code == 401
    assert client.post("/api/auth/token", json=login).status_code == 401
    assert client.post("/api/auth/token", json={**login, "password": "newpass2026x"}).status_code == 201


def test_switching_between_ones_own_memberships(persona: Any, demo: Any) -> None:
    from baoxue.tenants.tenancy.demo import DEMO_USERS

    username = next(u["username"] for u in DEMO_USERS
                    if u["township_code"] == "DEMO-BD" and len(u["memberships"]) == 2)
    p = persona(username)
    me = p.me()
    assert len(me["memberships"]) == 2
    other = next(m for m in me["memberships"] if m["id"] != me["membership"]["id"])
    assert p.post("/api/me/membership", json={"membership_id": other["id"]}).status_code == 201
    assert p.me()["membership"]["id"] == other["id"]
    foreign = p.post("/api/me/membership", json={"membership_id": 999999})
    assert foreign.status_code == 404
    p.post("/api/me/membership", json={"membership_id": me["membership"]["id"]})


def test_header_shows_the_membership_switcher(browser: Any) -> None:
    page_login(browser, "bd_cps_principal", "baoxue2026")
    html = browser.get("/").text
    assert re.search(r'<select id="membership_id"', html)
    assert "校长" in html and "领导小组办公室" in html


def test_password_page_reports_by_field_and_changes_on_success(browser: Any, fresh_user: dict[str, Any]) -> None:
    page_login(browser, fresh_user["username"], PASSWORD)
    csrf = browser.cookies.get("csrftoken")
    mismatch = browser.post("/password", data={"current_password": PASSWORD, "new_password": "newpass2026y",
                                               "confirm_password": "other2026y", "_csrf_token": csrf})
    assert mismatch.status_code == 400 and "两次输入的新密码不一致" in mismatch.text
    wrong = browser.post("/password", data={"current_password": "nope", "new_password": "newpass2026y",
                                            "confirm_password": "newpass2026y", "_csrf_token": csrf})
    assert wrong.status_code == 400 and "当前密码不正确" in wrong.text
    ok = browser.post("/password", data={"current_password": PASSWORD, "new_password": "newpass2026y",
                                         "confirm_password": "newpass2026y", "_csrf_token": csrf})
    assert ok.status_code == 200 and "密码已修改" in ok.text
    browser.cookies.clear()
    assert page_login(browser, fresh_user["username"], "newpass2026y").status_code in (302, 303)
