"""Errors: problem details for the API, a Chinese page for people, never a traceback."""

from collections.abc import Iterator
from typing import Any

import pytest
from litestar import get
from litestar.testing import TestClient

from baoxue.platform.auth import PUBLIC


@get("/api/test-boom", opt=PUBLIC, sync_to_thread=False)
def api_boom() -> None:
    raise RuntimeError("secret internals: password=hunter2")


@get("/test-boom", opt=PUBLIC, sync_to_thread=False)
def page_boom() -> None:
    raise RuntimeError("secret internals: password=hunter2")


@pytest.fixture(scope="module")
def boom_client(demo: Any) -> Iterator[TestClient[Any]]:
    from baoxue.platform.app import create_app

    with TestClient(create_app(demo, extra_routes=[api_boom, page_boom])) as c:
        yield c


def test_unexpected_api_error_is_a_problem_without_internals(boom_client: TestClient[Any]) -> None:
    r = boom_client.get("/api/test-boom")
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == 500 and body["request_id"] == r.headers["x-request-id"]
    assert "hunter2" not in r.text and "Traceback" not in r.text


def test_unexpected_page_error_is_a_chinese_page(boom_client: TestClient[Any]) -> None:
    r = boom_client.get("/test-boom")
    assert r.status_code == 500
    assert "text/html" in r.headers["content-type"]
    assert "系统内部错误" in r.text and "hunter2" not in r.text and "Traceback" not in r.text


def test_validation_error_names_the_field(client: Any) -> None:
    r = client.post("/api/auth/token", json={"username": "bd_leader"})
    assert r.status_code == 400
    body = r.json()
    assert body["errors"][0]["field"] == "password"
    assert "password" in body["errors"][0]["message"]


def test_malformed_json_is_a_400_not_a_500(client: Any) -> None:
    r = client.post("/api/auth/token", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")


def test_unknown_api_route_is_a_problem_and_unknown_page_is_chinese(client: Any) -> None:
    api = client.get("/api/nothing-here")
    assert api.status_code == 404 and api.json()["title"] == "未找到"
    page = client.get("/nothing-here")
    assert page.status_code == 404 and "未找到" in page.text


def test_anonymous_page_redirects_to_login_and_api_says_401(client: Any) -> None:
    page = client.get("/students", follow_redirects=False)
    assert page.status_code in (302, 303) and page.headers["location"].startswith("/login?next=/students")
    api = client.get("/api/students")
    assert api.status_code == 401 and api.json()["detail"] == "请先登录。"


def test_openapi_document_and_its_page(client: Any) -> None:
    doc = client.get("/schema/openapi.json")
    assert doc.status_code == 200 and "/api/students" in doc.json()["paths"]
    page = client.get("/schema")
    assert page.status_code == 200 and "/api/students" in page.text and "cdn" not in page.text.lower()
