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
    assert body["errors"][0]["field"] == "password"  # the code, for programs
    assert "密码" in body["errors"][0]["message"]  # the label, for people (baoxue.platform.labels)


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


# --- outages ----------------------------------------------------------------------------------

def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def outage_client(demo: Any) -> Iterator[TestClient[Any]]:
    """The app with its database gone: a URL whose port nothing listens on."""
    from dataclasses import replace

    from baoxue.platform.app import create_app

    gone = replace(demo, database_url=f"postgresql+psycopg://x@127.0.0.1:{_closed_port()}/x?connect_timeout=2")
    with TestClient(create_app(gone), base_url="http://testserver.local") as c:
        yield c


def _is_outage(r: Any) -> None:
    assert r.status_code == 503, r.text
    assert int(r.headers["retry-after"]) > 0
    assert "Traceback" not in r.text


def test_database_down_is_a_503_problem_for_the_api(outage_client: TestClient[Any]) -> None:
    for r in (outage_client.get("/api/me", headers={"Authorization": "Bearer some-token"}),
              outage_client.post("/api/auth/token", json={"username": "bd_admin", "password": "baoxue2026"})):
        _is_outage(r)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["status"] == 503 and "数据库" in r.json()["detail"]


def test_database_down_is_a_chinese_503_page(outage_client: TestClient[Any]) -> None:
    outage_client.cookies.set("baoxue_session", "a-session-secret")
    try:
        r = outage_client.get("/students")
    finally:
        outage_client.cookies.clear()
    _is_outage(r)
    assert "text/html" in r.headers["content-type"] and "服务暂不可用" in r.text


@pytest.mark.postgres_only
def test_the_app_recovers_by_itself_when_the_database_returns(demo: Any) -> None:
    """A proxy in front of the shared PostgreSQL goes down and comes back; the app follows it."""
    from dataclasses import replace

    from sqlalchemy.engine import make_url

    from baoxue.platform.app import create_app
    from tests.platform.tcp_proxy import TcpProxy

    url = make_url(demo.effective_database_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        settings = replace(demo, database_url=url.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False))
        with TestClient(create_app(settings), base_url="http://testserver.local") as c:
            login = {"username": "bd_leader", "password": "baoxue2026"}
            assert c.post("/api/auth/token", json=login).status_code == 201
            proxy.stop()
            _is_outage(c.post("/api/auth/token", json=login))
            proxy.start()
            assert c.post("/api/auth/token", json=login).status_code == 201
