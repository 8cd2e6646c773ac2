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
from baoxue.tenants.tenancy.models import Membership, School, User

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


def session_csrf(c: TestClient[Any]) -> str:
    """The CSRF token a signed-in person's pages carry (their session's), read as a form has it."""
    found = re.search(r'name="_csrf_token" value="([^"]+)"', c.get("/password").text)
    assert found, "no CSRF token on the page"
    return found.group(1)


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


# --- enumeration, races, throttling -----------------------------------------------------------------

def from_addresses(app: Any) -> Any:
    """The app behind a proxy whose X-Forwarded-For is trusted (as uvicorn does for its proxy).

    Every TestClient request comes from "testclient"; tests of the per-address throttle give
    each client an address of its own instead, and charge nothing to the suite's shared one.
    """
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    return ProxyHeadersMiddleware(app, trusted_hosts="*")


def _address() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


@pytest.fixture
def proxied(app: Any) -> Any:
    with TestClient(from_addresses(app), base_url="http://testserver.local") as c:
        yield c


def _token_attempt(client: Any, username: str, password: str, ip: str) -> Any:
    return client.post("/api/auth/token", json={"username": username, "password": password},
                       headers={"X-Forwarded-For": ip})


def test_unknown_and_real_usernames_answer_alike_after_repeated_failures(proxied: Any, fresh_user: dict[str, Any],
                                                                         demo: Any) -> None:
    unknown = f"nobody_{secrets.token_hex(4)}"
    answers: dict[str, list[tuple[int, str]]] = {}
    for name in (fresh_user["username"], unknown):
        answers[name] = []
        ip = _address()
        for _ in range(demo.login_max_failures + 2):
            r = _token_attempt(proxied, name, "nope-nope-1", ip)
            answers[name].append((r.status_code, r.json()["detail"]))
    assert answers[fresh_user["username"]] == answers[unknown]
    assert "锁定" in answers[unknown][-1][1]
    clock.freeze(clock.now() + timedelta(minutes=demo.login_lockout_minutes + 1))
    try:
        for name in (fresh_user["username"], unknown):
            assert "锁定" not in _token_attempt(proxied, name, "nope-nope-1", _address()).json()["detail"]
    finally:
        clock.unfreeze()


def test_unknown_usernames_are_counted_by_a_keyed_hash_never_by_name(proxied: Any, demo: Any) -> None:
    from baoxue.platform.throttle import LoginThrottle

    unknown = f"secret_name_{secrets.token_hex(4)}"
    _token_attempt(proxied, unknown, "nope-nope-1", _address())
    with cross_township_session("tests: throttle rows", demo) as s:
        keys = s.scalars(select(LoginThrottle.key)).all()
    assert keys and not any(unknown in k for k in keys)


def test_parallel_wrong_passwords_lock_the_account_and_are_not_all_checked(
        app: Any, fresh_user: dict[str, Any], demo: Any, monkeypatch: Any) -> None:
    import threading

    from baoxue.platform import identity

    checks = []
    real_verify = identity.verify_password

    def counting_verify(password_hash: str, password: str) -> bool:
        checks.append(1)
        return real_verify(password_hash, password)

    monkeypatch.setattr(identity, "verify_password", counting_verify)
    start = threading.Barrier(20, timeout=30)
    answers: list[int] = []

    def attempt() -> None:
        # No `with`: the app is started already; twenty lifespans at once would only slow this.
        c = TestClient(from_addresses(app), base_url="http://testserver.local")
        ip = _address()
        start.wait()
        answers.append(_token_attempt(c, fresh_user["username"], "wrong-password-1", ip).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [401] * 20
    assert len(checks) <= demo.login_max_failures
    r = _token_attempt(TestClient(from_addresses(app), base_url="http://testserver.local"), fresh_user["username"],
                       PASSWORD, _address())
    assert r.status_code == 401 and "锁定" in r.json()["detail"]


def test_one_address_cannot_try_many_accounts(proxied: Any, demo: Any) -> None:
    ip = _address()
    for i in range(demo.login_address_max_failures):
        r = _token_attempt(proxied, f"spray_{i}_{secrets.token_hex(3)}", "nope-nope-1", ip)
        assert r.status_code == 401, r.text
    r = _token_attempt(proxied, "bd_leader", "baoxue2026", ip)
    assert r.status_code == 429 and r.json()["detail"].startswith("请求过于频繁")
    assert int(r.headers["retry-after"]) > 0
    assert _token_attempt(proxied, "bd_leader", "baoxue2026", _address()).status_code == 201
    with cross_township_session("tests: read audit", demo) as s:
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.event == "identity:login:throttled",
                                                    AuditEvent.ip == ip)) is not None
    clock.freeze(clock.now() + timedelta(minutes=demo.login_address_window_minutes + 1))
    try:
        assert _token_attempt(proxied, "bd_leader", "baoxue2026", ip).status_code == 201
    finally:
        clock.unfreeze()


def test_the_page_login_is_throttled_too(proxied: Any, demo: Any) -> None:
    proxied.headers["X-Forwarded-For"] = _address()
    for i in range(demo.login_address_max_failures):
        assert page_login(proxied, f"spray_{i}_{secrets.token_hex(3)}", "nope-nope-1").status_code == 400
    r = page_login(proxied, "bd_leader", "baoxue2026")
    assert r.status_code == 429 and "请求过于频繁" in r.text and int(r.headers["retry-after"]) > 0
