"""Input no handler can store: integers beyond BIGINT, NUL characters, bodies that are not UTF-8.

Each is a 400 naming the field (problem details on the API, the Chinese error page on pages),
checked once by the platform before any handler runs; never a 500 from the database.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.tenants.tenancy.test_routes import browser_login, form_post

BIG = 2**63  # one past BIGINT's largest value
TOO_SMALL = -(2**63) - 1


def _fields(r: Any) -> set[str]:
    return {e["field"] for e in r.json().get("errors", [])}


def _is_api_400(r: Any, field: str) -> None:
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in _fields(r), r.text


@pytest.fixture(scope="module")
def admin(persona: Any) -> Any:
    return persona("bd_admin")


@pytest.fixture(scope="module")
def admin_browser(app: Any) -> Any:
    return browser_login(app, "bd_admin")


@pytest.mark.parametrize("url, field", [
    (f"/api/villages/{BIG}", "village_id"),
    (f"/api/students/{BIG}", "student_id"),
    (f"/api/classes?school_id={BIG}", "school_id"),
    (f"/api/classes?school_id={TOO_SMALL}", "school_id"),
    (f"/api/students?class_id={BIG}", "class_id"),
    (f"/api/audit?user_id={BIG}", "user_id"),
    (f"/api/students?page={10**18}", "page"),
    (f"/api/audit?page={10**18}", "page"),
    ("/api/students?page=0", "page"),
])
def test_an_integer_out_of_range_in_the_path_or_query_is_a_400_naming_it(admin: Any, url: str, field: str) -> None:
    _is_api_400(admin.get(url), field)


@pytest.mark.parametrize("method, url, body, field", [
    ("post", "/api/classes", {"school_id": BIG, "grade": 7, "name": "超大班", "entry_year": 2026}, "school_id"),
    ("post", "/api/schools", {"name": "超大学校", "kind": "primary", "village_id": BIG}, "village_id"),
    ("patch", "/api/schools/1", {"village_id": BIG}, "village_id"),
    ("post", "/api/me/membership", {"membership_id": BIG}, "membership_id"),
    ("post", "/api/memberships", {"user_id": BIG, "role": "class_teacher"}, "user_id"),
    ("post", "/api/people", {"username": "big_ids", "display_name": "超大", "password": "Big2026pass",
                             "role": "class_teacher", "class_ids": [BIG]}, "class_ids"),
])
def test_an_integer_out_of_range_in_a_json_body_is_a_400_naming_it(admin: Any, method: str, url: str,
                                                                   body: dict[str, Any], field: str) -> None:
    _is_api_400(admin.request(method.upper(), url, json=body), field)


def test_an_integer_out_of_range_in_a_form_is_a_chinese_400(admin_browser: Any) -> None:
    r = form_post(admin_browser, "/admin/memberships", {"user_id": str(BIG), "role": "class_teacher"})
    assert r.status_code == 400, r.text
    assert "text/html" in r.headers["content-type"] and "超出范围" in r.text
    r = form_post(admin_browser, "/admin/people", {"username": "big_form", "display_name": "超大",
                                                   "password": "Big2026pass", "role": "village_cadre",
                                                   "village_id": str(BIG)})
    assert r.status_code == 400 and "超出范围" in r.text
    r = admin_browser.get(f"/admin/villages/{BIG}")
    assert r.status_code == 400 and "超出范围" in r.text


@pytest.mark.parametrize("method, url, body, field", [
    ("post", "/api/villages", {"name": "空\u0000字符村"}, "name"),
    ("post", "/api/auth/token", {"username": "bd_admin\u0000", "password": "baoxue2026"}, "username"),
    ("post", "/api/auth/token", {"username": "bd_admin", "password": "baoxue\u00002026"}, "password"),
    ("patch", "/api/villages/1", {"code": "\u0000"}, "code"),
])
def test_a_nul_character_in_a_json_body_is_a_400_naming_the_field(admin: Any, method: str, url: str,
                                                                  body: dict[str, Any], field: str) -> None:
    _is_api_400(admin.request(method.upper(), url, json=body), field)


def test_a_nul_character_in_the_query_is_a_400_naming_it(admin: Any) -> None:
    _is_api_400(admin.get("/api/students", params={"q": "张\u0000"}), "q")
    _is_api_400(admin.get("/api/audit", params={"event": "\u0000"}), "event")


def test_a_nul_character_in_a_form_is_a_chinese_400(app: Any, admin_browser: Any) -> None:
    from litestar.testing import TestClient

    with TestClient(app, base_url="http://testserver.local") as anonymous:
        anonymous.get("/login")
        r = anonymous.post("/login", data={"username": "bd_admin\u0000", "password": "baoxue2026",
                                           "_csrf_token": anonymous.cookies.get("csrftoken")})
        assert r.status_code == 400 and "text/html" in r.headers["content-type"], r.text
        assert "空字符" in r.text
    r = form_post(admin_browser, "/admin/villages", {"name": "空\u0000字符村"})
    assert r.status_code == 400 and "空字符" in r.text
    r = admin_browser.get("/students", params={"q": "\u0000"})
    assert r.status_code == 400 and "空字符" in r.text


def test_a_json_body_that_is_not_utf8_is_a_400(admin: Any) -> None:
    r = admin.post("/api/villages", content=b'{"name": "\xff\xfe\xfd"}', headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "UTF-8" in r.json()["detail"]


def test_a_form_body_that_is_not_utf8_is_a_chinese_400(app: Any, admin_browser: Any) -> None:
    from litestar.testing import TestClient

    from tests.platform.test_identity import session_csrf

    with TestClient(app, base_url="http://testserver.local") as anonymous:
        anonymous.get("/login")
        token = anonymous.cookies.get("csrftoken")
        r = anonymous.post("/login", content=b"username=\xff\xfe&password=x&_csrf_token=" + token.encode(),
                           headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 400, r.text
        assert "text/html" in r.headers["content-type"] and "UTF-8" in r.text
    r = admin_browser.post("/admin/villages", content=b"name=\xc0\xaf&_csrf_token=" + session_csrf(admin_browser).encode(),
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and "UTF-8" in r.text
